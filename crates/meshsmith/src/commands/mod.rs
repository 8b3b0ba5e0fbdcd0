//! One file per command: its arguments and its `run`.

pub mod check;
pub mod explain;
pub mod map;
