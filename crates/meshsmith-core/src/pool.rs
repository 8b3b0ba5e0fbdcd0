//! The threads a command runs on.
//!
//! A whole command runs on the worker threads of one pool rather than on the process's main
//! thread with the workers beside it. The allocator gives each thread its own cache of freed
//! blocks (and jemalloc its own arena): with the main thread out of the work, two hold what
//! three would, and what the parallel stages build is more often let go by a thread that goes
//! on allocating. It costs no time.
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
