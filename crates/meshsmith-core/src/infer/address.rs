//! Text -> the network addresses it names: URLs of any scheme (incl. `jdbc:`, `dns:///` and
//! multi-host `mongodb://a:1,b:2`), `host:port` tokens, and bare host names where the context
//! (a variable called `*_HOST`, a wait loop) says the word is a host.

/// One address found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub host: String,
    pub port: Option<u16>,
    /// URL scheme, lower-case, when the address came from a URL (`http`, `grpc`, `redis`...).
    pub scheme: Option<String>,
    /// Line offset inside a multi-line text (0 for the first line).
    pub line_offset: u32,
}

/// Finds URLs and `host:port` tokens. Bare words are not addresses here.
pub fn find_addresses(text: &str) -> Vec<Address> {
    let mut out = Vec::new();
    for (offset, line) in text.lines().enumerate() {
        let line_offset = offset as u32;
        let mut rest = line;
        let mut consumed_until = 0usize;
        // URLs first, so their host:port parts are not found twice.
        while let Some(pos) = rest.find("://") {
            let abs = line.len() - rest.len() + pos;
            let scheme = scheme_before(line, abs);
            let after = &line[abs + 3..];
            // An IPv6 literal (`[fd00:ec2::254]:80`) ends at its closing bracket, not before.
            let literal = match after.strip_prefix('[').and_then(|a| a.find(']')) {
                Some(close) if !after[..close + 1].contains(char::is_whitespace) => close + 2,
                _ => 0,
            };
            let end = literal
                + after[literal..]
                    .find(|c: char| c.is_whitespace() || "/?#\"'`,;)]}>".contains(c) && c != ',')
                    .unwrap_or(after.len() - literal);
            // Multi-host authorities (`a:1,b:2`) run until a separator other than a comma.
            let end = multi_host_end(after, end);
            let authority = &after[..end];
            let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if authority.is_empty() && scheme.as_deref() == Some("dns") {
                // gRPC's `dns:///host:port`: the target is in the path.
                let path = after.trim_start_matches('/');
                let target_end = path
                    .find(|c: char| c.is_whitespace() || "/?#\"'`,;".contains(c))
                    .unwrap_or(path.len());
                push_host_port(
                    &mut out,
                    &path[..target_end],
                    Some("grpc".into()),
                    line_offset,
                );
            } else {
                for part in authority.split(',') {
                    push_host_port(&mut out, part, scheme.clone(), line_offset);
                }
            }
            let next = abs + 3 + end;
            consumed_until = next;
            rest = &line[next.min(line.len())..];
        }
        let plain = blank_urls(line, consumed_until);
        for token in plain.split(|c: char| c.is_whitespace() || "\"'`,;=()[]{}<>|&".contains(c)) {
            if let Some(a) = host_port_token(token.trim_end_matches(['.', '/']), line_offset) {
                out.push(a);
            }
        }
    }
    out
}

/// A bare host name (no port), for contexts that say the value is a host.
pub fn bare_host(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches('.');
    is_hostname(t).then(|| t.to_ascii_lowercase())
}

fn scheme_before(line: &str, at: usize) -> Option<String> {
    let start = line[..at]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-:".contains(c)))
        .map_or(0, |i| i + 1);
    let scheme = &line[start..at];
    // `jdbc:mysql://` -> `mysql`; `grpc+tls://` -> `grpc`.
    let scheme = scheme.rsplit(':').next().unwrap_or(scheme);
    let scheme = scheme.split('+').next().unwrap_or(scheme);
    (!scheme.is_empty()).then(|| scheme.to_ascii_lowercase())
}

fn multi_host_end(after: &str, end: usize) -> usize {
    let mut end = end;
    while after[end..].starts_with(',') {
        let next = &after[end + 1..];
        let seg_end = next
            .find(|c: char| c.is_whitespace() || "/?#\"'`,;)]}>".contains(c))
            .unwrap_or(next.len());
        if host_port_token(&next[..seg_end], 0).is_none() {
            break;
        }
        end += 1 + seg_end;
    }
    end
}

/// Blanks out the part of the line already read as URLs (everything up to the end of the
/// last one), so their `host:port` is not found a second time.
fn blank_urls(line: &str, until: usize) -> String {
    if until == 0 {
        return line.to_string();
    }
    let cut = until.min(line.len());
    let mut s = " ".repeat(cut);
    s.push_str(&line[cut..]);
    s
}

fn push_host_port(out: &mut Vec<Address>, text: &str, scheme: Option<String>, line_offset: u32) {
    let text = text.trim();
    let (host, port) = match text.rsplit_once(':') {
        // `[fd00:ec2::254]`: an IPv6 literal without a port.
        _ if text.starts_with('[') && text.ends_with(']') => (text, None),
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => match p.parse::<u16>() {
            Ok(p) => (h, Some(p)),
            Err(_) => return,
        },
        _ => (text, None),
    };
    let host = host.trim_matches(['[', ']']).trim_end_matches('.');
    if is_hostname(host) || is_ip(host) {
        out.push(Address {
            host: host.to_ascii_lowercase(),
            port,
            scheme,
            line_offset,
        });
    }
}

fn host_port_token(token: &str, line_offset: u32) -> Option<Address> {
    let (host, port) = token.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let host = host.trim_end_matches('.');
    (is_hostname(host) || is_ip(host)).then(|| Address {
        host: host.to_ascii_lowercase(),
        port: Some(port),
        scheme: None,
        line_offset,
    })
}

/// A DNS name as Kubernetes allows: labels of letters, digits and `-`, starting with a letter
/// or digit, and at least one letter somewhere (so `10:30` or `1.2` are not hosts).
pub fn is_hostname(s: &str) -> bool {
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let labels_ok = s.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    labels_ok && s.chars().any(|c| c.is_ascii_alphabetic()) && !is_ip(s)
}

pub fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<(String, Option<u16>, Option<String>)> {
        find_addresses(text)
            .into_iter()
            .map(|a| (a.host, a.port, a.scheme))
            .collect()
    }

    #[test]
    fn ipv6_literals_in_urls() {
        assert_eq!(
            hosts("http://[fd00:ec2::254]/latest/api/token"),
            vec![("fd00:ec2::254".into(), None, Some("http".into()))]
        );
        assert_eq!(
            hosts("AWS_EC2_METADATA_SERVICE_ENDPOINT=http://[FD00:EC2::254]:80"),
            vec![("fd00:ec2::254".into(), Some(80), Some("http".into()))]
        );
    }

    #[test]
    fn urls_of_every_scheme() {
        assert_eq!(
            hosts("http://user:pw@Pay.shop.svc.cluster.local:8080/v1?x=1"),
            vec![(
                "pay.shop.svc.cluster.local".into(),
                Some(8080),
                Some("http".into())
            )]
        );
        assert_eq!(
            hosts("jdbc:mysql://customers-db-mysql:3306/petclinic?useSSL=false"),
            vec![(
                "customers-db-mysql".into(),
                Some(3306),
                Some("mysql".into())
            )]
        );
        assert_eq!(
            hosts("mongodb://a:27017,b:27018/db?replicaSet=rs0"),
            vec![
                ("a".into(), Some(27017), Some("mongodb".into())),
                ("b".into(), Some(27018), Some("mongodb".into()))
            ]
        );
        assert_eq!(
            hosts("dns:///catalog.internal:50051"),
            vec![("catalog.internal".into(), Some(50051), Some("grpc".into()))]
        );
        assert_eq!(
            hosts("https://api.stripe.com"),
            vec![("api.stripe.com".into(), None, Some("https".into()))]
        );
    }

    #[test]
    fn host_port_tokens_and_non_addresses() {
        assert_eq!(
            hosts("redis-cart:6379"),
            vec![("redis-cart".into(), Some(6379), None)]
        );
        assert_eq!(
            hosts("until nc -z db:5432; do sleep 1; done --addr=ledger.internal:8080"),
            vec![
                ("db".into(), Some(5432), None),
                ("ledger.internal".into(), Some(8080), None)
            ]
        );
        assert!(hosts("10:30").is_empty());
        assert!(hosts(":8080").is_empty());
        assert!(hosts("-Xms64m -Dspring.zipkin.enabled=false").is_empty());
        assert!(hosts("").is_empty());
    }

    #[test]
    fn multi_line_texts_report_line_offsets() {
        let found = find_addresses("a: 1\nurl: http://x:1\n");
        assert_eq!(found[0].line_offset, 1);
    }
}
