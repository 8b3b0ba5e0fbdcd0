//! Shared by the `xtask` binary and the benches: the synthetic organisation generator and
//! the pipeline runner used for measurements.
#![forbid(unsafe_code)]

pub mod pipeline;
pub mod synth;
#[global_allocator]
pub static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
