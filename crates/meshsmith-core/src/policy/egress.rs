//! The `egress:` section: cloud metadata endpoints and link-local addresses callers may
//! reach, each with the reason a person gave.
//!
//! ```yaml
//! egress:
//!   allow:
//!     - host: metadata.google.internal
//!       reason: "the collector reads the instance's zone"
//! ```
//! In: the section's node. Out: [`Policy::egress_allow`], sorted by host, each entry's line
//! kept (also under `egress.allow.<host>` in [`Policy::lines`], for `set_at`). A host written twice, a
//! host with a scheme, port or wildcard, or an entry without a reason is an error.

use super::parse::Reader;
use super::*;
use crate::model::Node;

const EGRESS: &[&str] = &["allow"];
const ALLOW: &[&str] = &["host", "reason"];

/// A host as the graph records it: lower-case, without brackets or a trailing dot.
pub(super) fn normalized(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// A host name (letters, digits, `-`, `.`, `_`) or an IP address; nothing else.
fn is_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

impl Reader<'_> {
    pub(super) fn egress(&mut self, node: &Node) -> Result<(), PolicyError> {
        for (_, list) in self.entries(node, "egress", "egress", EGRESS)? {
            for (i, item) in self.seq(list, "allow")?.iter().enumerate() {
                if let Err(e) = self.allowance(item, &format!("egress.allow[{i}]")) {
                    self.errors.push(e);
                }
            }
        }
        self.policy.egress_allow.sort_by(|a, b| a.host.cmp(&b.host));
        Ok(())
    }

    fn allowance(&mut self, item: &Node, path: &str) -> Result<(), PolicyError> {
        let mut host = None;
        let mut reason = None;
        for (k, v) in self.entries(item, "egress.allow", path, ALLOW)? {
            match k {
                "host" => {
                    let text = self.text(v, k)?;
                    let name = normalized(&text);
                    if !is_host(&name) {
                        return Err(self.bad(
                            v,
                            k,
                            format!(
                                "`{text}` is not a host: write the name or address alone, \
                                 without scheme, port, path or wildcard"
                            ),
                        ));
                    }
                    host = Some(name);
                }
                _ => reason = Some(self.text(v, k)?.trim().to_string()),
            }
        }
        let host =
            host.ok_or_else(|| self.missing(item.line, "an `egress.allow` entry needs a `host`"))?;
        let reason = reason.filter(|r| !r.is_empty()).ok_or_else(|| {
            self.missing(
                item.line,
                &format!(
                    "`egress.allow` of `{host}` needs a `reason` saying why it may be reached"
                ),
            )
        })?;
        if let Some(first) = self.policy.egress_allow.iter().find(|a| a.host == host) {
            return Err(self.missing(
                item.line,
                &format!(
                    "`{host}` is allowed twice in `egress.allow` (first on line {})",
                    first.line
                ),
            ));
        }
        self.policy
            .lines
            .insert(format!("egress.allow.{host}"), item.line);
        self.policy.egress_allow.push(EgressAllowance {
            host,
            reason,
            line: item.line,
        });
        Ok(())
    }
}
