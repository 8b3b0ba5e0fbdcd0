//! placeholder
use crate::{LabError, LabSpec, Progress};
pub struct IncidentReport;
pub async fn replay(_spec: &LabSpec, _service: &str, _envoy: &std::path::Path, _p: &(dyn Fn(&Progress) + Sync)) -> Result<IncidentReport, LabError> { Err(LabError::Incident("todo".into())) }
