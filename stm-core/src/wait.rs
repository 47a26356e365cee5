//! Blocking for `retry`: waiters park until a variable they read changes.
//!
//! The protocol that rules out lost wake-ups: a waiter registers in the list
//! of every variable it read, then sets the waiter flag of each lock word at
//! the version it read (see `lock.rs`), and parks only if every flag was set.
//! A committer learns from locking a word whether the flag was set, and then,
//! after publishing, wakes everyone in that variable's list.

use crate::sync::{lock, Condvar, Mutex};
use std::sync::Arc;

/// One parked (or about to park) transaction.
#[derive(Debug, Default)]
pub struct Waiter {
    woken: Mutex<bool>,
    ready: Condvar,
}

impl Waiter {
    /// A waiter nobody has woken yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Waiter::default())
    }

    /// Wakes the waiter (idempotent).
    pub fn wake(&self) {
        let mut woken = lock(&self.woken);
        *woken = true;
        self.ready.notify_one();
    }

    /// Whether [`Waiter::wake`] has been called.
    pub fn is_woken(&self) -> bool {
        *lock(&self.woken)
    }

    /// Blocks until [`Waiter::wake`] has been called.
    pub fn park(&self) {
        let mut woken = lock(&self.woken);
        while !*woken {
            #[cfg(loom)]
            {
                woken = self.ready.wait(woken).unwrap();
            }
            #[cfg(not(loom))]
            {
                woken = self.ready.wait(woken).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

/// The waiters registered on one variable.
#[derive(Debug, Default)]
pub struct WaitList {
    waiters: Mutex<Vec<Arc<Waiter>>>,
}

impl WaitList {
    /// An empty list.
    pub fn new() -> Self {
        WaitList::default()
    }

    /// Registers `waiter`, pruning waiters that were already woken (a waiter
    /// that gave up is marked woken rather than removed from every list).
    /// The caller must fence (SeqCst) and re-validate afterwards.
    pub fn register(&self, waiter: &Arc<Waiter>) {
        let mut list = lock(&self.waiters);
        list.retain(|w| !w.is_woken());
        list.push(waiter.clone());
    }

    /// Removes `waiter` if it is still registered.
    pub fn deregister(&self, waiter: &Arc<Waiter>) {
        let mut list = lock(&self.waiters);
        list.retain(|w| !Arc::ptr_eq(w, waiter));
    }

    /// Wakes and removes every registered waiter. The caller has published
    /// the change the waiters wait for.
    pub fn wake_all(&self) {
        let drained: Vec<Arc<Waiter>> = {
            let mut list = lock(&self.waiters);
            std::mem::take(&mut *list)
        };
        for waiter in drained {
            waiter.wake();
        }
    }
}
