//! Shared by the `xtask` binary and the benches: the synthetic organisation generator and
//! the pipeline runner used for measurements.
#![forbid(unsafe_code)]

pub mod pipeline;
pub mod synth;
pub mod traffic;

/// The allocator the `meshsmith` binary uses, so benchmarks measure what it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// This process's peak resident memory so far (or since the last reset), in bytes; 0 where
/// `/proc` is not there.
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
