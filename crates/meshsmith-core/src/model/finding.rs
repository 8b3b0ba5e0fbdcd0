//! What `check` reports: one [`Finding`] per problem, with a stable code, a severity and the
//! file and line it points at. Renderers (text, JSON, SARIF) read these and nothing else.

use super::Origin;

/// How bad a finding is. Ordered, so `--fail-on warning` means "warning or worse".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "info" => Some(Self::Info),
            "warning" | "warn" => Some(Self::Warning),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found by a check rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code, e.g. `MS303`.
    pub code: &'static str,
    /// Kebab-case rule name that reads as the problem, e.g. `unknown-destination-host`.
    pub name: &'static str,
    pub severity: Severity,
    /// The `istioctl analyze` code this corresponds to, if any.
    pub istio_code: Option<&'static str>,
    /// The resource the finding is about, e.g. `VirtualService shop/orders`.
    pub resource: String,
    /// Where to look; `None` for problems that have no single place (a missing file).
    pub origin: Option<Origin>,
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl Finding {
    /// The order findings are reported in: grouped by resource, then by place and code.
    pub fn sort_key(&self) -> (&str, Option<&Origin>, &str, &str) {
        (
            &self.resource,
            self.origin.as_ref(),
            self.code,
            &self.message,
        )
    }
}

/// Sorts findings into report order and drops exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
}
