//! The tray's heap, kept small on glibc: fewer malloc arenas for its threads, and memory freed after the start-up round handed back to the system.
//!
//! glibc gives threads that contend for `malloc` arenas of their own (up to
//! eight per core), each with its own free lists and its own high-water mark;
//! a tray that is idle nearly all the time gains nothing from them. And the
//! start-up round — every service answering at once, the menu built — frees
//! more than it keeps, which glibc holds on to unless asked to return it.
//! Elsewhere (macOS, Windows, musl) both are no-ops.

/// One arena for every thread: the tray's threads rarely allocate at the
/// same moment, and a second arena kept ≈ 4.8 MB of its own at 200 services.
/// Call before any other thread exists.
pub(crate) fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called while this
    // is the only thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Returns the free memory of every arena to the system (glibc's
/// `malloc_trim`). A few milliseconds; call after a burst, not per poll.
pub(crate) fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
