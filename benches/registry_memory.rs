//! The client registry's own memory, counted exactly by a global allocator: a lease file of
//! 2.7 M clients seen on two ticks (as the DHCP source reports it every tick) against several
//! `[agent] max_clients`, then the flood expired. Prints heap bytes held at the cap, per
//! client, the peak, and what is left after expiry. RSS under the same flood, with the DHCP
//! source's own memory, is measured by `benches/memory_flood.sh`.
//!
//!   cargo bench --bench registry_memory

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant as Clock};

use tokio::time::Instant;
use venuemon::hub::registry::Registry;
use venuemon::privacy::ClientKey;
use venuemon::sources::Sighting;

/// `System`, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const FLOOD: u32 = 2_700_000;
/// Sightings handed over at once: the bench's own buffer, kept small beside the registry.
const CHUNK: u32 = 100_000;
const WINDOW: Duration = Duration::from_secs(300);

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

fn main() {
    let key = ClientKey::from_bytes([7; 16]);
    println!(
        "| max_clients | held | heap at the cap | bytes/client | peak | after expiry | evicted | time |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for cap in [100_000, 250_000, 1_000_000, 3_000_000] {
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let started = Clock::now();
        let mut registry = Registry::new(WINDOW, cap);
        let mut now = Instant::now();
        for _tick in 0..2 {
            for first in (0..FLOOD).step_by(CHUNK as usize) {
                let sightings: Vec<Sighting> = (first..(first + CHUNK).min(FLOOD))
                    .map(|i| {
                        let [a, b, c, d] = i.to_be_bytes();
                        Sighting {
                            client: key.client(&[0x02 * u8::from(i % 3 == 0), a, b, c, d, 0x42]),
                            zone: 0,
                            age: Duration::ZERO,
                        }
                    })
                    .collect();
                registry.observe("dhcp", &sightings, now);
            }
            now += Duration::from_secs(2);
        }
        let held = registry.counts(1, now)[0].clients;
        let heap = LIVE.load(Ordering::Relaxed) - before;
        // The peak includes one chunk of sightings, the bench's, not the registry's.
        let chunk = CHUNK as usize * size_of::<Sighting>();
        let peak = PEAK.load(Ordering::Relaxed) - before - chunk;
        let elapsed = started.elapsed();
        registry.expire(now + WINDOW + Duration::from_secs(1));
        let after = LIVE.load(Ordering::Relaxed) - before;
        println!(
            "| {cap} | {held} | {:.1} MiB | {:.0} | {:.1} MiB | {:.2} MiB | {} | {:.1} s |",
            mib(heap),
            heap as f64 / held as f64,
            mib(peak),
            mib(after),
            registry.evicted(),
            elapsed.as_secs_f64()
        );
    }
}
