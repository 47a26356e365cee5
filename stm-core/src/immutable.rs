//! Caches on immutable values, which need no transactions at all.
//!
//! A value computed from data that never changes can be cached once and for
//! all. [`LazyValue`] fills on first use; [`EagerValue`] starts computing on a
//! background thread as soon as it is created. Neither ever blocks a reader
//! on someone else's computation: a field only goes from incomplete to
//! complete, and if two threads race to fill it, both compute the same value
//! and one result is kept.

use std::fmt;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, OnceLock};

/// A lazily computed value of immutable data: computed on first use, then
/// shared by every thread.
///
/// Racing first uses may each run the computation; exactly one result is
/// kept and every caller sees that one. The computation must be
/// deterministic (callers cannot tell which result was kept).
///
/// ```
/// use steadfast_core::LazyValue;
/// let words = vec!["stay", "steadfast"];
/// let longest = LazyValue::new();
/// let l = longest.get_or_compute(|| words.iter().map(|w| w.len()).max());
/// assert_eq!(*l, Some(9));
/// assert!(longest.get().is_some());
/// ```
pub struct LazyValue<T> {
    cell: OnceLock<T>,
}

impl<T> LazyValue<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        LazyValue {
            cell: OnceLock::new(),
        }
    }

    /// The value if it has been computed.
    pub fn get(&self) -> Option<&T> {
        self.cell.get()
    }

    /// The value, computing it with `compute` if no one has yet. Never waits
    /// for another thread's computation: at worst it computes too.
    pub fn get_or_compute(&self, compute: impl FnOnce() -> T) -> &T {
        if let Some(value) = self.cell.get() {
            return value;
        }
        let value = compute();
        // Losing the race drops our value: the kept one is equal.
        let _ = self.cell.set(value);
        self.cell.get().expect("just filled")
    }

    /// Like [`LazyValue::get_or_compute`], but a failed computation stores
    /// nothing, so a later call tries again.
    pub fn get_or_try_compute<E>(&self, compute: impl FnOnce() -> Result<T, E>) -> Result<&T, E> {
        if let Some(value) = self.cell.get() {
            return Ok(value);
        }
        let value = compute()?;
        let _ = self.cell.set(value);
        Ok(self.cell.get().expect("just filled"))
    }
}

impl<T> Default for LazyValue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone> Clone for LazyValue<T> {
    fn clone(&self) -> Self {
        let cell = OnceLock::new();
        if let Some(v) = self.cell.get() {
            let _ = cell.set(v.clone());
        }
        LazyValue { cell }
    }
}

impl<T: fmt::Debug> fmt::Debug for LazyValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cell.get() {
            Some(v) => f.debug_tuple("LazyValue").field(v).finish(),
            None => f.write_str("LazyValue(<not computed>)"),
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The one background thread that computes eager values, in creation order.
fn background() -> &'static Mutex<Sender<Job>> {
    static WORKER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let (send, receive) = channel::<Job>();
        std::thread::Builder::new()
            .name("steadfast-eager".into())
            .spawn(move || {
                for job in receive {
                    // A panicking computation must not end the worker: the
                    // value stays empty and a reader computes it (and sees
                    // the panic itself).
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .expect("spawn the background computation thread");
        Mutex::new(send)
    })
}

struct EagerInner<T> {
    cell: OnceLock<T>,
    compute: Box<dyn Fn() -> T + Send + Sync>,
}

/// A value of immutable data computed eagerly in the background (L42's
/// `Cache.Eager`): creating it queues the computation on a background
/// thread; a reader that comes first computes it itself rather than wait, so
/// no read ever sees a missing value.
///
/// ```
/// use steadfast_core::EagerValue;
/// let data: Vec<u64> = (1..=1000).collect();
/// let sum = EagerValue::new(move || data.iter().sum::<u64>());
/// assert_eq!(*sum.get(), 500500);
/// ```
pub struct EagerValue<T> {
    inner: Arc<EagerInner<T>>,
}

impl<T: Send + Sync + 'static> EagerValue<T> {
    /// Queues `compute` on the background thread and returns at once.
    pub fn new(compute: impl Fn() -> T + Send + Sync + 'static) -> Self {
        let inner = Arc::new(EagerInner {
            cell: OnceLock::new(),
            compute: Box::new(compute),
        });
        // The job holds the value weakly: dropping it early cancels the work.
        let weak = Arc::downgrade(&inner);
        let job: Job = Box::new(move || {
            if let Some(inner) = weak.upgrade() {
                if inner.cell.get().is_none() {
                    let _ = inner.cell.set((inner.compute)());
                }
            }
        });
        // If the job cannot be queued, readers compute on first use.
        if let Ok(sender) = background().lock() {
            let _ = sender.send(job);
        }
        EagerValue { inner }
    }

    /// The value: the background result if ready, otherwise computed here.
    pub fn get(&self) -> &T {
        if let Some(value) = self.inner.cell.get() {
            return value;
        }
        let value = (self.inner.compute)();
        let _ = self.inner.cell.set(value);
        self.inner.cell.get().expect("just filled")
    }

    /// Whether the value has been computed (by anyone).
    pub fn is_ready(&self) -> bool {
        self.inner.cell.get().is_some()
    }
}

impl<T> Clone for EagerValue<T> {
    fn clone(&self) -> Self {
        EagerValue {
            inner: self.inner.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for EagerValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.cell.get() {
            Some(v) => f.debug_tuple("EagerValue").field(v).finish(),
            None => f.write_str("EagerValue(<computing>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;

    #[test]
    fn racing_fillers_see_one_value() {
        for _ in 0..200 {
            let cell = Arc::new(LazyValue::<Box<u64>>::new());
            let barrier = Arc::new(Barrier::new(2));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (cell, barrier) = (cell.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        // Equal values, distinct allocations: the address
                        // tells which result each thread got back.
                        let v = cell.get_or_compute(|| Box::new(42));
                        (**v, &**v as *const u64 as usize)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(results[0], results[1], "both threads see the kept value");
        }
    }

    #[test]
    fn failed_computation_is_not_stored() {
        let cell = LazyValue::<u32>::new();
        assert_eq!(cell.get_or_try_compute(|| Err::<u32, _>("no")), Err("no"));
        assert!(cell.get().is_none());
        assert_eq!(cell.get_or_try_compute(|| Ok::<_, ()>(7)), Ok(&7));
    }

    #[test]
    fn eager_value_is_computed_once_in_the_background() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let v = EagerValue::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
            6 * 7
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !v.is_ready() && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(v.is_ready(), "the background thread computed it");
        assert_eq!(*v.get(), 42);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn eager_value_read_first_computes_it() {
        // Hold the worker busy so the reader comes first.
        let gate = Arc::new(Barrier::new(2));
        let g = gate.clone();
        let _blocker = EagerValue::new(move || {
            g.wait();
        });
        let v = EagerValue::new(|| String::from("ready"));
        assert_eq!(v.get(), "ready");
        gate.wait();
    }
}
