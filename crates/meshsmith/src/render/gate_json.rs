//! [`GateReport`] -> JSON for pipelines (`gate --format json`), the contract
//! `tests/fixtures/gate-report.schema.json` describes.

use meshsmith_core::model::GateReport;

pub fn render(report: &GateReport) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}
