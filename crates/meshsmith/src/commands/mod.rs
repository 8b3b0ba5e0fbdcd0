//! One file per command: its arguments and its `run`.

pub mod lab;
pub mod map;
