//! Shared by the `xtask` binary and the benches: the synthetic organisation generator and
//! the pipeline runner used for measurements.
#![forbid(unsafe_code)]

pub mod pipeline;
pub mod synth;

/// The allocator the `meshsmith` binary uses, so benchmarks measure what it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
