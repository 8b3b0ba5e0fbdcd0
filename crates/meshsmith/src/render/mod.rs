//! Renderers: one per output format.

pub mod check_json;
pub mod check_text;
pub mod sarif;
