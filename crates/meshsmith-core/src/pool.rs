//! The threads a command runs on.
//!
//! A whole command runs on the worker threads of one pool rather than on the process's main
//! thread with the workers beside it. The allocator keeps one heap per thread, and a block one
//! thread frees but another allocated stays resident until its owner allocates again: with
//! the main thread out of the work, two heaps hold what three did, and what the parallel
//! stages build is more often let go by a thread that goes on allocating. On the synthetic
//! organisations (`cargo xtask bench-memory`) it lowers the peak by about 3% at every size
//! and costs no time.
//!
//! The workers get the main thread's 8 MiB stack, so no input is too deep for them that the
//! main thread could have handled.

/// Runs `work` on a pool of as many threads as `RAYON_NUM_THREADS` or the processors say,
/// which its parallel iterators then use, and returns what it returns (a panic in it goes on
/// in the caller). Where no thread can be started, `work` runs on the calling thread.
pub fn run<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new()
        .stack_size(8 << 20)
        .thread_name(|i| format!("meshsmith-{i}"))
        .build()
    {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}
