//! Small value types of the policy: durations, Istio versions and mTLS modes, each with a
//! strict parser (text in, value or a message out) and the text form written back to YAML.

use std::fmt;

/// A duration in whole milliseconds, written as Istio durations are (`3s`, `1500ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    pub const fn secs(s: u64) -> Self {
        Millis(s * 1000)
    }

    /// Reads `3s`, `1.5s`, `250ms`, `2m`, `1h`. Istio wants a unit, so a bare number is refused.
    pub fn parse(text: &str) -> Result<Millis, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` has no unit; write e.g. `3s` or `500ms`"))?;
        let (number, unit) = text.split_at(split);
        let scale: f64 = match unit {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return Err(format!("`{text}`: unit must be ms, s, m or h")),
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration; write e.g. `3s` or `500ms`"))?;
        let ms = value * scale;
        if ms.fract() != 0.0 || !(1.0..=86_400_000.0).contains(&ms) {
            return Err(format!(
                "`{text}` must be a whole number of milliseconds between 1ms and 24h"
            ));
        }
        Ok(Millis(ms as u64))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if (self.0 / 1000) * 1000 == self.0 {
            write!(f, "{}s", self.0 / 1000)
        } else {
            write!(f, "{}ms", self.0)
        }
    }
}

/// An Istio minor version such as 1.30; fields newer than the target are not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IstioVersion {
    pub major: u32,
    pub minor: u32,
}

impl IstioVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        IstioVersion { major, minor }
    }

    /// Reads `1.30` or `1.30.3` (the patch level never gates a field).
    pub fn parse(text: &str) -> Result<IstioVersion, String> {
        let mut parts = text.trim().trim_start_matches('v').split('.');
        let major = parts.next().and_then(|p| p.parse().ok());
        let minor = parts.next().and_then(|p| p.parse().ok());
        let patch_ok = parts.next().is_none_or(|p| {
            !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        match (major, minor) {
            (Some(major), Some(minor)) if patch_ok && parts.next().is_none() => {
                Ok(IstioVersion { major, minor })
            }
            _ => Err(format!(
                "`{text}` is not an Istio version; write e.g. `1.30`"
            )),
        }
    }

    /// `retries.backoff` in VirtualService (Istio 1.26).
    pub fn has_retry_backoff(self) -> bool {
        self >= IstioVersion::new(1, 26)
    }

    /// The `v1` API of the networking and security groups (Istio 1.22).
    pub fn has_v1_api(self) -> bool {
        self >= IstioVersion::new(1, 22)
    }

    /// `trafficPolicy.retryBudget` in DestinationRule (Istio 1.27).
    pub fn has_retry_budget(self) -> bool {
        self >= IstioVersion::new(1, 27)
    }
}

impl fmt::Display for IstioVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// PeerAuthentication modes a policy may ask for (`UNSET` would silently inherit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MtlsMode {
    Strict,
    Permissive,
    Disable,
}

impl MtlsMode {
    pub fn parse(text: &str) -> Result<MtlsMode, String> {
        match text {
            "STRICT" => Ok(Self::Strict),
            "PERMISSIVE" => Ok(Self::Permissive),
            "DISABLE" => Ok(Self::Disable),
            _ => Err(format!(
                "`{text}` is not an mTLS mode; expected STRICT, PERMISSIVE or DISABLE"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "STRICT",
            Self::Permissive => "PERMISSIVE",
            Self::Disable => "DISABLE",
        }
    }
}

/// Retry conditions Envoy understands, HTTP and gRPC (bare status codes are checked apart).
pub const RETRY_ON: [&str; 16] = [
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/// A status code Go's `net/http` names, which istiod takes as a retriable status (and
/// refuses any other number).
pub fn is_http_status(text: &str) -> bool {
    let Ok(code) = text.parse::<u16>() else {
        return false;
    };
    text.len() == 3
        && matches!(code,
            100..=103 | 200..=208 | 226 | 300..=305 | 307 | 308 | 400..=418 | 421..=426 | 428
            | 429 | 431 | 451 | 500..=508 | 510 | 511)
}

/// Splits and checks a `retryOn` list: what istiod accepts, so what meshsmith writes from it
/// is applied.
pub fn parse_retry_on(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim) {
        if !(RETRY_ON.contains(&item) || is_http_status(item)) {
            return Err(format!(
                "`{item}` is not a retry condition; expected HTTP status codes or one of: {}",
                RETRY_ON.join(", ")
            ));
        }
        out.push(item.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit_and_print_back_the_same() {
        assert_eq!(Millis::parse("3s"), Ok(Millis(3000)));
        assert_eq!(Millis::parse("1.5s"), Ok(Millis(1500)));
        assert_eq!(
            Millis::parse("250ms").map(|m| m.to_string()),
            Ok("250ms".into())
        );
        assert!(Millis::parse("3").is_err());
        assert!(Millis::parse("0s").is_err());
        assert!(Millis::parse("0.5ms").is_err());
        assert!(Millis::parse("3 s").is_err());
    }

    #[test]
    fn versions_gate_fields() {
        let v = IstioVersion::parse("1.25.2").unwrap_or(IstioVersion::new(0, 0));
        assert_eq!(v, IstioVersion::new(1, 25));
        assert!(!v.has_retry_backoff());
        assert!(IstioVersion::new(1, 27).has_retry_budget());
        assert!(IstioVersion::parse("1").is_err());
        assert!(IstioVersion::parse("1.x").is_err());
    }

    #[test]
    fn retry_conditions_are_checked() {
        assert_eq!(
            parse_retry_on("connect-failure, 503"),
            Ok(vec!["connect-failure".to_string(), "503".to_string()])
        );
        assert!(parse_retry_on("connect-failures").is_err());
        assert!(parse_retry_on("999").is_err());
        // A number in range that no status is named by: istiod refuses it.
        assert!(parse_retry_on("599").is_err());
        assert!(parse_retry_on("connect-failure,429,503").is_ok());
    }
}
