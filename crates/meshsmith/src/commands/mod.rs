//! One file per command: its arguments and its `run`.

pub mod check;
pub mod explain;
pub mod gate;
pub mod generate;
pub mod init;
pub mod lab;
pub mod map;
pub mod onboard;
pub mod plan;
pub mod report;
