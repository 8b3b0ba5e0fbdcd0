//! Istio's JSON access log encoding (one object per line) -> an [`Entry`].
//!
//! Keys as Istio's default JSON format writes them: `method`, `path`, `protocol`,
//! `response_code`, `response_flags`, `response_code_details`,
//! `connection_termination_details`, `authority`, `upstream_host`, `upstream_cluster`,
//! `downstream_local_address`, `downstream_remote_address`, `requested_server_name`, and
//! `grpc_status` where a format adds it. Values may be strings, numbers or `null`.
//!
//! Added keys that meshsmith reads:
//! - the caller's identity: `downstream_peer_uri_san`, `downstream_peer_principal`,
//!   `source_principal`, or any other value that starts with `spiffe://` (except under
//!   `upstream_*` keys, which name the callee);
//! - dry-run results: a key ending in `shadow_engine_result` (as
//!   `%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_shadow_engine_result)%`
//!   is usually named) or `dry_run_result`, with the value `denied`; the policy from a key
//!   ending in `shadow_effective_policy_id`, or `dry_run_policy`.
//!
//! An object is an access log entry when it has `upstream_cluster`, or `response_code`
//! with `method`, `authority` or `start_time`; other objects (the proxy's own structured log)
//! are not.

use super::{present, Entry};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;

/// The entry a JSON line holds; `Ok(None)` for an object that is no access log entry.
pub(crate) fn parse(line: &str) -> Result<Option<Entry<'_>>, serde_json::Error> {
    let parsed: Parsed<'_> = serde_json::from_str(line)?;
    Ok(parsed.access_log.then_some(parsed.entry))
}

struct Parsed<'a> {
    entry: Entry<'a>,
    access_log: bool,
}

impl<'de> serde::Deserialize<'de> for Parsed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Parsed<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an access log object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<'de>, A::Error> {
        let mut e = Entry::default();
        let (mut cluster, mut code, mut request) = (false, false, false);
        let mut other_peer: Option<Cow<'de, str>> = None;
        while let Some(Scalar(key)) = map.next_key::<Scalar<'de>>()? {
            let Some(key) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let Scalar(value) = map.next_value::<Scalar<'de>>()?;
            let value = value.and_then(present);
            match key.as_ref() {
                "method" => (e.method, request) = (value, true),
                "path" => e.path = value,
                "protocol" => e.protocol = value,
                "start_time" => request = true,
                "response_code" => {
                    code = true;
                    e.response_code = value.and_then(|v| v.parse::<u16>().ok());
                }
                "response_code_details" => e.details = value,
                "connection_termination_details" => e.termination_details = value,
                "authority" => (e.authority, request) = (value, true),
                "upstream_host" => e.upstream_host = value,
                "upstream_cluster" => (e.upstream_cluster, cluster) = (value, true),
                "downstream_local_address" => e.downstream_local = value,
                "requested_server_name" => e.sni = value,
                "grpc_status" => e.grpc_status = value,
                "downstream_peer_uri_san" | "downstream_peer_principal" | "source_principal"
                    if value.is_some() =>
                {
                    e.peer = value;
                }
                k if k.ends_with("shadow_engine_result") || k == "dry_run_result" => {
                    e.dry_run_denied |= value.is_some_and(|v| v.eq_ignore_ascii_case("denied"));
                }
                k if k.ends_with("shadow_effective_policy_id") || k == "dry_run_policy" => {
                    e.dry_run_policy = value;
                }
                k if !k.starts_with("upstream") => {
                    if let Some(v) = value.filter(|v| v.starts_with("spiffe://")) {
                        other_peer.get_or_insert(v);
                    }
                }
                _ => {}
            }
        }
        if e.peer.is_none() {
            e.peer = other_peer;
        }
        Ok(Parsed {
            entry: e,
            access_log: cluster || (code && request),
        })
    }
}

/// Any JSON value, kept as text when it is a string or a number (borrowed when the string
/// has no escapes); `None` for null, booleans, arrays and objects.
struct Scalar<'a>(Option<Cow<'a, str>>);

impl<'de> serde::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Some(Cow::Owned(v))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar(None))
    }
    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar(None))
    }
    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_with_lab_keys() {
        let line = r#"{"start_time":"2024-05-01T10:00:00.000Z","method":"GET","path":"/pay?card=4111","protocol":"HTTP/1.1","response_code":200,"response_flags":"-","upstream_cluster":"inbound|8080||","requested_server_name":"outbound_.8080_._.payment.shop.svc.cluster.local","downstream_peer_uri_san":"spiffe://cluster.local/ns/shop/sa/order","dry_run_result":"denied","dry_run_policy":"ns[shop]-policy[payment]-rule[0]","authority":null}"#;
        let e = parse(line).expect("parses").expect("an entry");
        assert_eq!(e.response_code, Some(200));
        assert_eq!(
            e.peer.as_deref(),
            Some("spiffe://cluster.local/ns/shop/sa/order")
        );
        assert!(e.dry_run_denied);
        assert_eq!(
            e.dry_run_policy.as_deref(),
            Some("ns[shop]-policy[payment]-rule[0]")
        );
        assert_eq!(e.authority, None);
    }

    #[test]
    fn other_objects_are_not_entries() {
        let line = r#"{"level":"info","time":"2024-05-01T10:00:00Z","msg":"Envoy proxy is ready"}"#;
        assert!(parse(line).expect("parses").is_none());
        assert!(parse(r#"{"method":"GET""#).is_err());
    }

    #[test]
    fn shadow_keys_and_spiffe_values() {
        let line = r#"{"upstream_cluster":"inbound|80||","istio_dry_run_allow_shadow_engine_result":"denied","istio_dry_run_allow_shadow_effective_policy_id":"ns[foo]-policy[x]-rule[0]","caller":"spiffe://cluster.local/ns/foo/sa/sleep","upstream_peer":"spiffe://cluster.local/ns/foo/sa/httpbin"}"#;
        let e = parse(line).expect("parses").expect("an entry");
        assert!(e.dry_run_denied);
        assert_eq!(
            e.peer.as_deref(),
            Some("spiffe://cluster.local/ns/foo/sa/sleep")
        );
    }
}
