//! Today's resilience settings: timeouts and retry counts a workload's environment hard-codes
//! (`*_TIMEOUT`, `*_TIMEOUT_MS`, `*_TIMEOUT_SECONDS`, `*_RETRIES`...), and the audit of them.

use super::env::EnvEntry;
use crate::model::{ResilienceSetting, TimeoutAudit};

pub use crate::model::TOO_LONG_TIMEOUT_SECONDS as TOO_LONG_SECONDS;

pub fn settings(env: &[EnvEntry]) -> Vec<ResilienceSetting> {
    let mut out: Vec<ResilienceSetting> = env
        .iter()
        .filter_map(|e| {
            let value = e.value.as_deref()?.trim();
            let key = e.name.to_ascii_uppercase();
            let (is_timeout, parsed) = if let Some(unit) = timeout_unit(&key) {
                (true, parse_duration(value, unit)?)
            } else if is_retry_key(&key) {
                (false, value.parse::<f64>().ok().filter(|n| *n >= 0.0)?)
            } else {
                return None;
            };
            Some(ResilienceSetting {
                key: e.name.clone(),
                raw: value.to_string(),
                value: parsed,
                is_timeout,
                origin: e.origin.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out.dedup_by(|a, b| a.key == b.key);
    out
}

/// Unit of a bare number under this key: `Some(0.001)` for milliseconds, `Some(1.0)` for
/// seconds, `Some(0.0)` when the key names no unit.
fn timeout_unit(key: &str) -> Option<f64> {
    let (_, suffix) = key
        .rsplit_once("TIMEOUT")
        .or_else(|| (key == "TIMEOUT").then_some(("", "")))?;
    match suffix {
        "" => Some(0.0),
        "_MS" | "_MILLIS" | "_MILLISECONDS" => Some(0.001),
        "_S" | "_SEC" | "_SECS" | "_SECONDS" => Some(1.0),
        _ => None,
    }
}

fn is_retry_key(key: &str) -> bool {
    [
        "RETRIES",
        "_RETRY_COUNT",
        "_RETRY_ATTEMPTS",
        "_MAX_ATTEMPTS",
    ]
    .iter()
    .any(|s| key.ends_with(s))
}

/// `30s`, `2500ms`, `1m30s`, `0.5s`, or a bare number in the key's unit. A bare number under
/// a key without a unit is seconds below 1000 and milliseconds from 1000 on.
pub fn parse_duration(text: &str, unit: f64) -> Option<f64> {
    if let Ok(n) = text.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        let unit = if unit > 0.0 {
            unit
        } else if n >= 1000.0 {
            0.001
        } else {
            1.0
        };
        return Some(n * unit);
    }
    let mut total = 0.0;
    let mut rest = text;
    let mut any = false;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_end..];
        any = true;
    }
    any.then_some(total)
}

/// none: no timeout anywhere; too long: any timeout of 30 s or more, or 0 (which usually
/// means "wait forever"); reasonable: every timeout below 30 s.
pub fn audit(settings: &[ResilienceSetting]) -> TimeoutAudit {
    let timeouts: Vec<f64> = settings
        .iter()
        .filter(|s| s.is_timeout)
        .map(|s| s.value)
        .collect();
    if timeouts.is_empty() {
        TimeoutAudit::None
    } else if timeouts.iter().any(|&t| t >= TOO_LONG_SECONDS || t == 0.0) {
        TimeoutAudit::TooLong
    } else {
        TimeoutAudit::Reasonable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("30s", 0.0), Some(30.0));
        assert_eq!(parse_duration("2500ms", 0.0), Some(2.5));
        assert_eq!(parse_duration("1m30s", 0.0), Some(90.0));
        assert_eq!(parse_duration("30000", 0.001), Some(30.0));
        assert_eq!(parse_duration("30000", 0.0), Some(30.0));
        assert_eq!(parse_duration("30", 0.0), Some(30.0));
        assert_eq!(parse_duration("5", 1.0), Some(5.0));
        assert_eq!(parse_duration("soon", 0.0), None);
        assert_eq!(parse_duration("-1", 0.0), None);
    }

    #[test]
    fn key_units() {
        assert_eq!(timeout_unit("PAYMENT_TIMEOUT"), Some(0.0));
        assert_eq!(timeout_unit("PAYMENT_TIMEOUT_MS"), Some(0.001));
        assert_eq!(timeout_unit("LEDGER_TIMEOUT_SECONDS"), Some(1.0));
        assert_eq!(timeout_unit("TIMEOUT_POLICY"), None);
        assert!(is_retry_key("PAYMENT_RETRIES") && is_retry_key("X_MAX_RETRIES"));
    }
}
