//! What a transactional variable and a transactional object cost in memory,
//! next to the lock-based equivalents. Prints a markdown table.
//!
//! A counting global allocator measures the heap: each row builds many
//! objects, keeps them alive, lets the epoch collector free what the building
//! retired, and divides the bytes and blocks still allocated (requested sizes,
//! before the allocator's own rounding and headers) by their number. The
//! handle column is `size_of` of what the program holds per object.

use parking_lot::RwLock;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::mem::size_of;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, OnceLock};
use steadfast::{atomically, methods, Transactional};

/// The system allocator, counting live bytes and allocations.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters only
// observe the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract for `realloc` is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Clone, Transactional)]
struct Account {
    owner: String,
    balance: i64,
}

#[methods]
impl Account {
    #[invariant]
    fn solvent(balance: &i64) -> bool {
        *balance >= 0
    }

    #[cache_lazy]
    fn label(owner: &str, balance: &i64) -> String {
        format!("{owner}: {balance}")
    }
}

/// The hand-written equivalent of the cache: a field every setter must clear.
struct CachedAccount {
    account: Account,
    label: Option<String>,
}

fn account() -> Account {
    Account {
        owner: "ann".to_string(),
        balance: 10,
    }
}

/// One table row.
struct Row {
    what: &'static str,
    handle: usize,
    heap: f64,
    blocks: f64,
}

/// Lets the epoch collector free what was retired so far: values replaced by
/// commits and dropped handles wait in its queue until enough threads pin.
/// Every `load` pins; the collector runs every so many pins and frees a few
/// batches each time. Stops once the live bytes hold still.
fn settle() {
    // One variable for every call: a new one would itself be retired.
    static PROBE: OnceLock<steadfast::TVar<i64>> = OnceLock::new();
    let var = PROBE.get_or_init(|| steadfast::TVar::new(0));
    let mut last = LIVE_BYTES.load(Ordering::Relaxed);
    let mut still = 0;
    // Bounded, in case something else keeps allocating.
    for _ in 0..1_000 {
        if still == 3 {
            break;
        }
        for _ in 0..10_000 {
            black_box(var.load());
        }
        let now = LIVE_BYTES.load(Ordering::Relaxed);
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
}

/// Builds `n` objects with `make` into a vector reserved beforehand (so its
/// growth is not counted), then runs `touch` on each; divides what stays
/// allocated once the epoch collector has caught up by `n`.
fn measure<T>(what: &'static str, n: usize, make: impl Fn(usize) -> T, touch: impl Fn(&T)) -> Row {
    // The first object pays for one-time set-up (thread-local state, the
    // epoch collector's registration): build one before counting.
    touch(&black_box(make(0)));
    let mut objects = Vec::with_capacity(n);
    settle();
    let bytes = LIVE_BYTES.load(Ordering::Relaxed);
    let blocks = LIVE_BLOCKS.load(Ordering::Relaxed);
    for i in 0..n {
        objects.push(make(i));
    }
    objects.iter().for_each(&touch);
    settle();
    let heap = (LIVE_BYTES.load(Ordering::Relaxed) - bytes) as f64 / n as f64;
    let blocks = (LIVE_BLOCKS.load(Ordering::Relaxed) - blocks) as f64 / n as f64;
    black_box(&objects);
    Row {
        what,
        handle: size_of::<T>(),
        heap,
        blocks,
    }
}

fn main() {
    const VARS: usize = 100_000;
    const OBJECTS: usize = 10_000;
    let rows = [
        measure(
            "`steadfast::TVar<i64>`",
            VARS,
            |i| steadfast::TVar::new(i as i64),
            |_| {},
        ),
        measure(
            "`stm::TVar<i64>` (stm 0.4)",
            VARS,
            |i| stm::TVar::new(i as i64),
            |_| {},
        ),
        measure(
            "`Arc<RwLock<i64>>`",
            VARS,
            |i| Arc::new(RwLock::new(i as i64)),
            |_| {},
        ),
        measure(
            "`steadfast::TVar<String>` (empty)",
            VARS,
            |_| steadfast::TVar::new(String::new()),
            |_| {},
        ),
        measure(
            "`Arc<RwLock<String>>` (empty)",
            VARS,
            |_| Arc::new(RwLock::new(String::new())),
            |_| {},
        ),
        measure(
            "`TAccount`, cache not filled",
            OBJECTS,
            |_| TAccount::new(account()).expect("the account is solvent"),
            |_| {},
        ),
        measure(
            "`TAccount`, cache filled",
            OBJECTS,
            |_| TAccount::new(account()).expect("the account is solvent"),
            |acc| {
                black_box(atomically(|tx| acc.label(tx)));
            },
        ),
        measure(
            "`Arc<RwLock<Account>>`",
            OBJECTS,
            |_| Arc::new(RwLock::new(account())),
            |_| {},
        ),
        measure(
            "`Arc<RwLock<..>>` of `Account` + `Option<String>` cache, filled",
            OBJECTS,
            |_| {
                Arc::new(RwLock::new(CachedAccount {
                    account: account(),
                    label: None,
                }))
            },
            |lock| {
                let mut guard = lock.write();
                let label = Account::label(&guard.account.owner, &guard.account.balance);
                guard.label = Some(label);
            },
        ),
    ];

    println!("Memory per object: `Account {{ owner: String, balance: i64 }}` with one");
    println!("`#[invariant]` and one `#[cache_lazy]` (owner \"ann\", label \"ann: 10\");");
    println!("{VARS} variables or {OBJECTS} objects per row. Heap bytes are requested");
    println!("sizes, before the allocator's rounding and headers.");
    println!();
    println!("| object | handle (bytes) | heap bytes per object | heap blocks per object |");
    println!("|---|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {:.1} | {:.2} |",
            row.what, row.handle, row.heap, row.blocks
        );
    }
}
