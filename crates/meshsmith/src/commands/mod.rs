//! One file per command: its arguments and its `run`.

pub mod explain;
pub mod generate;
pub mod init;
pub mod map;
pub mod plan;
