//! Shared by the `xtask` binary and the benches: the synthetic organisation generator and
//! the pipeline runner used for measurements; and, for the HTML report's browser test and
//! bench, headless Chromium over the DevTools protocol.
#![forbid(unsafe_code)]

pub mod applied;
pub mod chromium;
pub mod conformance;
pub mod istio_tools;
pub mod pipeline;
pub mod synth;
pub mod traffic;

/// The allocator the `meshsmith` binary uses, configured as it is (the same build-time
/// options: freed pages given back at once), so benchmarks measure what it does.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// This process's peak resident memory so far (or since the last reset), in bytes; 0 where
/// `/proc` is not there.
pub fn peak_rss() -> u64 {
    status_bytes("VmHWM:")
}

/// Resident pages of the program's code and libraries (file-backed, never the heap), in bytes.
pub fn code_rss() -> u64 {
    status_bytes("RssFile:")
}

/// A `/proc/self/status` figure given in kB, in bytes (0 where there is none).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The corpora of `shared/corpora` (`MESHSMITH_SHARED`, or `../shared` beside the workspace),
/// sorted; `None`, said loudly, when they are not there, and a panic when
/// `MESHSMITH_REQUIRE_SHARED=1` says they must be.
pub fn shared_corpora(test: &str) -> Option<Vec<std::path::PathBuf>> {
    let root = match std::env::var("MESHSMITH_SHARED") {
        Ok(dir) => std::path::PathBuf::from(dir),
        Err(_) => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
    .join("corpora");
    let mut all: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("expected-graph.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    all.sort();
    if all.is_empty() {
        if std::env::var("MESHSMITH_REQUIRE_SHARED").as_deref() == Ok("1") {
            panic!(
                "{test}: no corpora in {} and MESHSMITH_REQUIRE_SHARED=1",
                root.display()
            );
        }
        eprintln!(
            "\n*** SKIPPED: {test}: no corpora in {} (set MESHSMITH_SHARED) ***\n",
            root.display()
        );
        return None;
    }
    Some(all)
}

#[cfg(test)]
mod tests {
    /// The options `.cargo/config.toml` gives the allocator's build are in the allocator the
    /// benchmarks (and the `meshsmith` binary) run with; without them freed pages would stay
    /// resident for ten seconds and every memory figure would be wrong.
    #[test]
    fn the_allocator_gives_freed_pages_back_at_once() {
        let conf = tikv_jemalloc_ctl::config::malloc_conf::read().expect("jemalloc's options");
        let conf = conf.trim_end_matches('\0');
        for option in ["dirty_decay_ms:0", "muzzy_decay_ms:0"] {
            assert!(conf.split(',').any(|o| o == option), "{option} in {conf:?}");
        }
    }
}
