//! One call's timeouts, today and as generated: what the caller's own configuration waits
//! (the timeout setting whose key names the callee, else its longest, as check's MS203 reads
//! it) and the callee's route for the call's port.

use super::facts::{Route, ServiceFacts};
use meshsmith_core::model::*;

/// A caller's setting for one call, and whether its key names the callee.
pub struct Today<'a> {
    pub setting: &'a ResilienceSetting,
    pub named: bool,
}

/// The caller's timeout (`timeouts`) or retry setting for calls to `callee`.
pub fn today<'a>(
    caller: &'a MeshService,
    callee: &MeshService,
    timeouts: bool,
) -> Option<Today<'a>> {
    let token = callee.id.name.to_ascii_uppercase().replace('-', "_");
    let short = token.split('_').next().unwrap_or(&token).to_string();
    let candidates = caller.settings.iter().filter(|s| s.is_timeout == timeouts);
    let longest = |a: &&ResilienceSetting, b: &&ResilienceSetting| a.value.total_cmp(&b.value);
    let named = candidates
        .clone()
        .filter(|s| {
            let key = s.key.to_ascii_uppercase();
            key.contains(&token) || (!short.is_empty() && key.contains(&short))
        })
        .max_by(longest);
    match named {
        Some(setting) => Some(Today {
            setting,
            named: true,
        }),
        None => candidates.max_by(longest).map(|setting| Today {
            setting,
            named: false,
        }),
    }
}

/// `none`, `too long` or `reasonable`, as `map`'s audit classes a timeout.
pub fn audit(today: Option<&Today>) -> TimeoutAudit {
    match today {
        None => TimeoutAudit::None,
        Some(t) if t.setting.value >= TOO_LONG_TIMEOUT_SECONDS => TimeoutAudit::TooLong,
        Some(t) if t.setting.value <= 0.0 => TimeoutAudit::None,
        Some(_) => TimeoutAudit::Reasonable,
    }
}

pub fn audit_text(a: TimeoutAudit) -> &'static str {
    match a {
        TimeoutAudit::None => "none",
        TimeoutAudit::TooLong => "too long",
        TimeoutAudit::Reasonable => "reasonable",
    }
}

/// The callee's route a call on `port` takes: the route of that port (for the host the
/// caller named, when several), else the route of every port.
pub fn route<'f>(facts: &'f ServiceFacts, edge: &Edge) -> Option<&'f Route> {
    let host_first = |r: &&Route| {
        let named = edge
            .via
            .first()
            .is_some_and(|v| r.host.starts_with(&format!("{v}.")));
        let own = r.host.starts_with(&format!("{}.", edge.to.name));
        (!named, !own)
    };
    let on_port = facts
        .routes
        .iter()
        .filter(|r| r.port.is_some() && r.port == edge.port)
        .min_by_key(host_first);
    on_port.or_else(|| {
        facts
            .routes
            .iter()
            .filter(|r| r.port.is_none())
            .min_by_key(host_first)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(key: &str, value: f64, is_timeout: bool) -> ResilienceSetting {
        ResilienceSetting {
            key: key.into(),
            raw: value.to_string(),
            value,
            is_timeout,
            origin: Origin::new(&std::sync::Arc::from("a.yaml"), 1),
        }
    }

    fn service(name: &str, settings: Vec<ResilienceSetting>) -> MeshService {
        let origin = Origin::new(&std::sync::Arc::from("a.yaml"), 1);
        MeshService {
            id: QualifiedName::new("shop", name),
            service: Some(name.into()),
            aliases: vec![],
            external_name: None,
            workloads: vec![],
            ports: vec![],
            protocol: Protocol::Http,
            declared_protocol: Protocol::Http,
            declared_reason: String::new(),
            protocol_reason: String::new(),
            role: Role::SyncApi,
            role_reason: String::new(),
            exposure: Exposure::default(),
            settings,
            timeout_audit: TimeoutAudit::None,
            origin,
            callers: CallerKnowledge::known("test"),
            hidden_calls: vec![],
        }
    }

    #[test]
    fn the_setting_naming_the_callee_wins_over_a_longer_one() {
        let caller = service(
            "orders",
            vec![
                setting("PAYMENT_TIMEOUT", 30.0, true),
                setting("DB_TIMEOUT", 60.0, true),
                setting("PAYMENT_RETRIES", 3.0, false),
            ],
        );
        let payment = service("payment-service", vec![]);
        let t = today(&caller, &payment, true).expect("found");
        assert!(t.named);
        assert_eq!(t.setting.key, "PAYMENT_TIMEOUT");
        assert_eq!(audit(Some(&t)), TimeoutAudit::TooLong);
        let other = service("ledger", vec![]);
        let t = today(&caller, &other, true).expect("the longest");
        assert!(!t.named);
        assert_eq!(t.setting.key, "DB_TIMEOUT");
        assert!(today(&payment, &caller, true).is_none());
        assert_eq!(audit(None), TimeoutAudit::None);
        assert_eq!(
            today(&caller, &payment, false).map(|t| t.setting.key.as_str()),
            Some("PAYMENT_RETRIES")
        );
    }
}
