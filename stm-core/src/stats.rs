//! Counters of what the engine did: commits, aborts by cause, retries,
//! invariant runs, cache hits and misses.
//!
//! Each thread counts into its own cache line (no contended writes on the hot
//! path); [`stats`] sums every thread's counters, including threads that ended.

use std::ops::Sub;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// A snapshot of the engine's counters. Subtract two snapshots to see
        /// what happened in between.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct Stats {
            $($(#[$doc])* pub $name: u64,)*
        }

        #[derive(Default)]
        #[repr(align(128))]
        struct Counters {
            $($name: AtomicU64,)*
        }

        impl Counters {
            fn snapshot(&self) -> Stats {
                Stats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }

        impl Sub for Stats {
            type Output = Stats;
            fn sub(self, rhs: Stats) -> Stats {
                Stats { $($name: self.$name.saturating_sub(rhs.$name),)* }
            }
        }

        impl std::ops::Add for Stats {
            type Output = Stats;
            fn add(self, rhs: Stats) -> Stats {
                Stats { $($name: self.$name + rhs.$name,)* }
            }
        }

        /// Names of the counters, for [`Stats`]'s `Display`.
        impl std::fmt::Display for Stats {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut first = true;
                $(
                    if !first { f.write_str(", ")?; }
                    first = false;
                    write!(f, "{} {}", stringify!($name).replace('_', " "), self.$name)?;
                )*
                let _ = first;
                Ok(())
            }
        }
    };
}

counters! {
    /// Transactions that committed.
    commits,
    /// Attempts abandoned because another transaction changed what they read.
    conflicts,
    /// Attempts abandoned because a variable to commit was locked by another committer.
    lock_conflicts,
    /// Attempts that blocked in `retry` until something they read changed.
    retries,
    /// Attempts rolled back by the caller's own error, by a failure or by a panic.
    user_aborts,
    /// Transactions that fell back to running alone after losing too often.
    serial_runs,
    /// Invariant checks run (at registration and at commit).
    invariant_runs,
    /// Invariant checks that failed and aborted their transaction.
    invariant_failures,
    /// Eager (`cache_now`) recomputations.
    eager_runs,
    /// Lazy cache reads answered from the cache.
    cache_hits,
    /// Lazy cache reads that had to compute.
    cache_misses,
}

/// Which counter an event bumps.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    Commit,
    Conflict,
    LockConflict,
    Retry,
    UserAbort,
    SerialRun,
    InvariantRun,
    InvariantFailure,
    EagerRun,
    CacheHit,
    CacheMiss,
}

static RETIRED: Mutex<Stats> = Mutex::new(Stats {
    commits: 0,
    conflicts: 0,
    lock_conflicts: 0,
    retries: 0,
    user_aborts: 0,
    serial_runs: 0,
    invariant_runs: 0,
    invariant_failures: 0,
    eager_runs: 0,
    cache_hits: 0,
    cache_misses: 0,
});
static LIVE: Mutex<Vec<Arc<Counters>>> = Mutex::new(Vec::new());

/// This thread's counters; folded into `RETIRED` when the thread ends.
struct Local(Arc<Counters>);

impl Local {
    fn new() -> Self {
        let counters = Arc::new(Counters::default());
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(counters.clone());
        Local(counters)
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|c| !Arc::ptr_eq(c, &self.0));
        let mut retired = RETIRED.lock().unwrap_or_else(|e| e.into_inner());
        *retired = *retired + self.0.snapshot();
    }
}

thread_local! {
    static LOCAL: Local = Local::new();
}

impl Counters {
    /// Bumps one counter. Only the owning thread writes its counters, so a
    /// plain load and store suffice (no read-modify-write).
    #[inline]
    fn bump(&self, event: Event) {
        let counter = match event {
            Event::Commit => &self.commits,
            Event::Conflict => &self.conflicts,
            Event::LockConflict => &self.lock_conflicts,
            Event::Retry => &self.retries,
            Event::UserAbort => &self.user_aborts,
            Event::SerialRun => &self.serial_runs,
            Event::InvariantRun => &self.invariant_runs,
            Event::InvariantFailure => &self.invariant_failures,
            Event::EagerRun => &self.eager_runs,
            Event::CacheHit => &self.cache_hits,
            Event::CacheMiss => &self.cache_misses,
        };
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

/// The calling thread's counters, for a holder that stays on this thread
/// (a transaction's logs) and so can count without a thread-local lookup.
pub(crate) struct ThreadCounters(Arc<Counters>);

impl ThreadCounters {
    /// The calling thread's counters (fresh, unregistered ones while the
    /// thread is being torn down).
    pub(crate) fn current() -> Self {
        ThreadCounters(LOCAL.try_with(|local| local.0.clone()).unwrap_or_default())
    }

    /// Counts `event` (the caller runs on the thread these belong to).
    #[inline]
    pub(crate) fn record(&self, event: Event) {
        self.0.bump(event);
    }
}

/// The counters summed over every thread, alive or ended.
pub fn stats() -> Stats {
    // Hold LIVE while reading RETIRED so an ending thread is counted exactly once.
    let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let mut total = *RETIRED.lock().unwrap_or_else(|e| e.into_inner());
    for c in live.iter() {
        total = total + c.snapshot();
    }
    total
}

/// The counters of the calling thread only: exact even while other threads run.
pub fn thread_stats() -> Stats {
    LOCAL
        .try_with(|local| local.0.snapshot())
        .unwrap_or_default()
}
