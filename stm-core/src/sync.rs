//! The atomics and blocking primitives the commit and wake-up protocols use.
//!
//! Under `--cfg loom` they come from `loom`, so the model tests in `tests/loom_*.rs`
//! explore every interleaving of the same code the engine runs.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning: every structure guarded this way is left
/// consistent before any code that can panic runs.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    rmw::count();
    #[cfg(loom)]
    {
        m.lock().unwrap()
    }
    #[cfg(not(loom))]
    {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts the engine's atomic read-modify-writes (and epoch pins) on this
/// thread, in the crate's own tests only: they show which paths do none.
#[cfg(all(test, not(loom)))]
pub(crate) mod rmw {
    use std::cell::Cell;

    thread_local! {
        static COUNT: Cell<u64> = const { Cell::new(0) };
    }

    /// Records one read-modify-write.
    pub(crate) fn count() {
        COUNT.with(|c| c.set(c.get() + 1));
    }

    /// Read-modify-writes recorded on this thread so far.
    pub(crate) fn so_far() -> u64 {
        COUNT.with(|c| c.get())
    }
}

/// Outside the crate's tests, counting compiles to nothing.
#[cfg(not(all(test, not(loom))))]
pub(crate) mod rmw {
    #[inline(always)]
    pub(crate) fn count() {}
}
