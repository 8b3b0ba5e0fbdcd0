//! Container `args` and `command` -> candidates: URLs and `host:port` tokens, flags that name
//! a host (`--db-host db`, `--upstream=api`), and init containers waiting for a callee
//! (`nc -z host port`, `nslookup host`, `pg_isready -h host`...).

use super::super::address::{bare_host, find_addresses, Address};
use super::{bare, names_a_host, one_line, Candidate, Cx};
use crate::model::*;

pub(super) fn candidates(_cx: &Cx, wi: usize, w: &Workload) -> Vec<Candidate> {
    let mut out = Vec::new();
    for c in &w.containers {
        let words: Vec<&Located> = c.command.iter().chain(&c.args).collect();
        let (kind, what) = if c.init {
            (HintKind::InitWait, "init container")
        } else {
            (HintKind::Args, "args")
        };
        for (i, word) in words.iter().enumerate() {
            let mut found = find_addresses(&word.text);
            found.extend(wait_targets(&word.text));
            if let Some(next) = words.get(i + 1) {
                if flag_names_a_host(&word.text) && !next.text.starts_with('-') {
                    found.extend(bare_host(&next.text).map(bare));
                }
            }
            if let Some((flag, value)) = word.text.split_once('=') {
                if flag.starts_with('-')
                    && flag_names_a_host(flag)
                    && find_addresses(value).is_empty()
                {
                    found.extend(bare_host(value).map(bare));
                }
            }
            dedup_addresses(&mut found);
            let previous = i.checked_sub(1).map(|p| words[p].text.as_str());
            let shown = one_line(&crate::redact::argument(previous, &word.text));
            for address in found {
                let evidence = Evidence {
                    origin: word.origin.clone(),
                    kind,
                    detail: format!("{what} {} `{shown}`", c.name),
                };
                out.push(Candidate::address(wi, address, evidence, Confidence::High));
            }
        }
    }
    out
}

fn flag_names_a_host(flag: &str) -> bool {
    flag.starts_with('-') && names_a_host(flag.trim_start_matches('-'))
}

/// Hosts waited for by `nc -z host port`, `nslookup host`, `pg_isready -h host -p port`...
fn wait_targets(text: &str) -> Vec<Address> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let args: Vec<&str> = words[i + 1..]
            .iter()
            .copied()
            .filter(|a| !a.starts_with('-'))
            .collect();
        let (host, port) = match *w {
            "nc" | "ncat" | "netcat" | "telnet" => (args.first(), args.get(1)),
            "nslookup" | "host" | "dig" => (args.first(), None),
            "getent" if args.first() == Some(&"hosts") => (args.get(1), None),
            "pg_isready" | "mysqladmin" | "redis-cli" => {
                let h = words[i + 1..]
                    .windows(2)
                    .find(|p| p[0] == "-h" || p[0] == "--host")
                    .map(|p| &p[1]);
                let p = words[i + 1..]
                    .windows(2)
                    .find(|p| p[0] == "-p" || p[0] == "-P" || p[0] == "--port")
                    .map(|p| &p[1]);
                (h, p)
            }
            _ => continue,
        };
        if let Some(host) = host.and_then(|h| bare_host(h)) {
            out.push(Address {
                host,
                port: port.and_then(|p| p.parse().ok()),
                scheme: None,
                line_offset: 0,
            });
        }
    }
    out
}

fn dedup_addresses(found: &mut Vec<Address>) {
    // A `host:port` found both as a token and by a wait pattern: keep the one with a port.
    found.sort_by(|a, b| (&a.host, b.port.is_some()).cmp(&(&b.host, a.port.is_some())));
    found.dedup_by(|later, first| {
        later.host == first.host && (later.port == first.port || later.port.is_none())
    });
}
