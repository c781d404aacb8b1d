//! What the agent asks of glibc's allocator to keep its resident memory small
//! (docs/PERFORMANCE.md, "Issue 10, fourth pass"). Elsewhere (musl, other systems) these do
//! nothing.

/// Limits malloc to one arena per core, `cores`, instead of glibc's eight per core. Every
/// thread that allocates otherwise gets an arena of its own, and the agent's threads are
/// many and short of work: the runtime's workers, the hub's, the history writer's and the
/// blocking pool's, one per source sampling at the same moment. Threads share the arenas,
/// so at most `cores` of them allocate at once anyway. Call it before any thread starts.
pub(crate) fn one_arena_per_core(cores: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let arenas = i32::try_from(cores.max(1)).unwrap_or(i32::MAX);
        // SAFETY: sets one of malloc's parameters; called on the only thread there is.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = cores;
}

/// Gives back to the system the whole pages malloc holds free in every arena (glibc keeps
/// them for later, and the memory of a burst of requests or a large table's parse stays
/// resident until it does). The hub calls it once per tick, on its own thread, after
/// publishing the snapshot: 0.08 to 1.4 ms with the agent's small heaps, measured
/// (docs/PERFORMANCE.md, "Issue 10, fourth pass").
pub(crate) fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes each arena's lock as malloc itself does.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// The process's resident anonymous memory, KiB.
    fn resident_anonymous() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("RssAnon")
    }

    /// 8 MiB freed below a block still in use (so that malloc cannot simply shrink its
    /// heap from the top) stays resident after `free`, and goes back with
    /// `release_free_pages`.
    #[test]
    fn free_pages_below_a_live_block_go_back_to_the_system() {
        let (held, released) = std::thread::spawn(|| {
            let blocks: Vec<Vec<u8>> = (0..8 * 1024).map(|_| vec![1u8; 1000]).collect();
            let last = vec![1u8; 1000];
            drop(blocks);
            let held = resident_anonymous();
            super::release_free_pages();
            let released = resident_anonymous();
            drop(last);
            (held, released)
        })
        .join()
        .expect("the thread ends");
        assert!(
            held >= released + 4 * 1024,
            "{held} KiB before, {released} KiB after"
        );
    }
}
