//! Prometheus series as `gate` reads them: each with its name (when the answer kept it), its
//! labels, its amount and the file and line it came from. The gate decides what each series
//! measures; `load::traffic::read_metrics` only reads them.

use super::Origin;

/// One series of a Prometheus answer (or one sample of exposition text).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// `__name__`, when the answer kept it (a selector does; `sum`, `increase` drop it).
    pub name: Option<String>,
    /// The labels other than `__name__`, as written.
    pub labels: Vec<(String, String)>,
    /// The value: an instant answer's value; over a range, a counter's increase (resets
    /// included) or a function's largest sample.
    pub amount: f64,
    pub origin: Origin,
}

impl MetricSample {
    /// A label's value; `None` when absent or empty.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Every series of a set of files (the baseline's, or the window's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSet {
    pub samples: Vec<MetricSample>,
    /// The files read, sorted.
    pub files: Vec<String>,
}
