//! Istio's default text access log format -> an [`Entry`]. The format (Istio 1.9 on):
//!
//! ```text
//! [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
//! %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
//! "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
//! %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//! "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
//! %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
//! %REQUESTED_SERVER_NAME% %ROUTE_NAME%
//! ```
//!
//! The fields after the request line are found relative to the upstream cluster, so the older
//! format (without the two details fields) and extra tokens appended at the end (a peer
//! identity `spiffe://...`, as a customised format may add) read as well.

use super::{present, Entry};
use crate::load::traffic::names::{is_inbound_passthrough, is_passthrough, parse_cluster};
use std::borrow::Cow;

/// The most tokens looked at in one line.
const MAX_TOKENS: usize = 40;

/// One token and whether it was written in quotes.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    quoted: bool,
}

/// The entry a line holds, or `None` when the line is not an access log entry.
pub(crate) fn parse(line: &str) -> Option<Entry<'_>> {
    let rest = line.strip_prefix('[')?;
    let end = rest.find(']')?;
    let (time, rest) = (&rest[..end], rest[end + 1..].strip_prefix(" \"")?);
    if !time.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    // `rest` starts inside the quoted request line.
    let mut tokens = [Token {
        text: "",
        quoted: false,
    }; MAX_TOKENS];
    let count = tokenize(&line[line.len() - rest.len() - 1..], &mut tokens);
    let tokens = &tokens[..count];
    if count < 8 || !tokens[0].quoted {
        return None;
    }
    let code = tokens[1].text.parse::<u16>().ok()?;
    let mut entry = Entry {
        response_code: Some(code),
        ..Entry::default()
    };
    request_line(tokens[0].text, &mut entry);
    // Istio 1.9 on: details and termination details, then the quoted failure reason.
    if tokens.len() > 5 && !tokens[3].quoted && !tokens[4].quoted && tokens[5].quoted {
        entry.details = field(tokens[3].text);
        entry.termination_details = field(tokens[4].text);
    }
    let cluster = find_cluster(tokens)?;
    let at = |i: isize| -> Option<Token<'_>> {
        let j = cluster as isize + i;
        (j >= 0).then(|| tokens.get(j as usize).copied()).flatten()
    };
    entry.authority = at(-2).filter(|t| t.quoted).and_then(|t| field(t.text));
    entry.upstream_host = at(-1).filter(|t| t.quoted).and_then(|t| field(t.text));
    entry.upstream_cluster = field(tokens[cluster].text);
    entry.downstream_local = at(2).and_then(|t| field(t.text));
    entry.sni = at(4).and_then(|t| field(t.text));
    entry.peer = tokens[cluster + 1..]
        .iter()
        .find(|t| t.text.starts_with("spiffe://"))
        .map(|t| Cow::Borrowed(t.text));
    Some(entry)
}

/// `"GET /path HTTP/1.1"`, or `"- - -"` for a TCP connection.
fn request_line<'a>(text: &'a str, entry: &mut Entry<'a>) {
    let mut parts = text.splitn(3, ' ');
    entry.method = parts.next().and_then(field);
    entry.path = parts.next().and_then(field);
    entry.protocol = parts.next().and_then(field);
}

fn field(text: &str) -> Option<Cow<'_, str>> {
    present(Cow::Borrowed(text))
}

/// The index of the upstream cluster: the first unquoted token (after the quoted ones that
/// precede it) that is an Istio cluster; else the token after the last of the leading
/// quoted fields, for entries whose cluster is `-` or unfamiliar.
fn find_cluster(tokens: &[Token<'_>]) -> Option<usize> {
    let is_cluster = |t: &Token<'_>| {
        !t.quoted
            && (parse_cluster(t.text).is_some()
                || is_passthrough(t.text)
                || is_inbound_passthrough(t.text))
    };
    if let Some(i) = tokens.iter().skip(6).position(is_cluster) {
        return Some(i + 6);
    }
    // "authority" "upstream host" CLUSTER: the token after two quoted ones in a row,
    // followed by an unquoted one.
    (7..tokens.len()).find(|&i| !tokens[i].quoted && tokens[i - 1].quoted && tokens[i - 2].quoted)
}

/// Splits `"a b" c "d"` into tokens; a quoted token ends at a quote followed by a space or
/// the end of the line. Returns how many tokens were written. One pass over the bytes: the
/// separators are ASCII, so every cut is on a character boundary.
fn tokenize<'a>(s: &'a str, out: &mut [Token<'a>; MAX_TOKENS]) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    let mut count = 0;
    while count < MAX_TOKENS {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'"' {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && !(b[end] == b'"' && (end + 1 == b.len() || b[end + 1] == b' ')) {
                end += 1;
            }
            out[count] = Token {
                text: &s[start..end],
                quoted: true,
            };
            i = end + 1;
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            out[count] = Token {
                text: &s[start..i],
                quoted: false,
            };
        }
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTBOUND: &str = r#"[2024-05-01T10:00:00.123Z] "GET /reviews/0?secret=1 HTTP/1.1" 200 - via_upstream - "-" 0 295 24 23 "-" "python-requests/2.31" "5e1f6c4b-1b7e-9c5d-a5a6-3f0e6c7d8e9f" "reviews:9080" "10.244.0.12:9080" outbound|9080||reviews.default.svc.cluster.local 10.244.0.11:41234 10.96.12.34:9080 10.244.0.11:52014 - default"#;

    #[test]
    fn outbound_entry() {
        let e = parse(OUTBOUND).expect("an entry");
        assert_eq!(e.method.as_deref(), Some("GET"));
        assert_eq!(e.response_code, Some(200));
        assert_eq!(e.details.as_deref(), Some("via_upstream"));
        assert_eq!(e.authority.as_deref(), Some("reviews:9080"));
        assert_eq!(
            e.upstream_cluster.as_deref(),
            Some("outbound|9080||reviews.default.svc.cluster.local")
        );
        assert_eq!(e.downstream_local.as_deref(), Some("10.96.12.34:9080"));
        assert_eq!(e.sni, None);
    }

    #[test]
    fn tcp_inbound_entry_with_peer() {
        let line = r#"[2024-05-01T10:00:01.000Z] "- - -" 0 - - - "-" 1203 4312 5023 - "-" "-" "-" "-" "127.0.0.6:27017" inbound|27017|| 127.0.0.6:41021 10.244.1.7:27017 10.244.0.11:40112 outbound_.27017_._.mongodb-rate.default.svc.cluster.local - spiffe://cluster.local/ns/default/sa/rate"#;
        let e = parse(line).expect("an entry");
        assert_eq!(e.method, None);
        assert_eq!(e.response_code, Some(0));
        assert_eq!(e.upstream_cluster.as_deref(), Some("inbound|27017||"));
        assert_eq!(
            e.sni.as_deref(),
            Some("outbound_.27017_._.mongodb-rate.default.svc.cluster.local")
        );
        assert_eq!(
            e.peer.as_deref(),
            Some("spiffe://cluster.local/ns/default/sa/rate")
        );
    }

    #[test]
    fn not_an_entry() {
        assert!(
            parse("[2024-05-01 10:00:00.123][14][warning][config] gRPC config stream closed")
                .is_none()
        );
        assert!(parse("[2024-05-01T10:00:00.123Z] \"GET").is_none());
    }

    #[test]
    fn quotes_inside_a_user_agent() {
        let line = r#"[2024-05-01T10:00:00.123Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 1 2 1 "-" "odd"agent" "id" "details:9080" "10.0.0.1:9080" outbound|9080||details.default.svc.cluster.local 10.0.0.2:1 10.0.0.3:9080 10.0.0.2:2 - default"#;
        let e = parse(line).expect("an entry");
        assert_eq!(e.authority.as_deref(), Some("details:9080"));
    }
}
