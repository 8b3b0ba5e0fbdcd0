//! Traffic files -> [`Traffic`]. Reading them is not available yet: any traffic input is
//! refused with an error rather than ignored.

use crate::load::{Input, Limits};
use crate::model::Traffic;

/// Reads every traffic input.
pub fn read(inputs: &[Input], limits: &Limits) -> Result<Traffic, TrafficFailure> {
    let _ = limits;
    if inputs.is_empty() {
        return Ok(Traffic::default());
    }
    Err(TrafficFailure {
        errors: vec!["--traffic: reading traffic files is not available in this build".into()],
    })
}

/// All problems found in the traffic inputs, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficFailure {
    pub errors: Vec<String>,
}

impl std::fmt::Display for TrafficFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TrafficFailure {}
