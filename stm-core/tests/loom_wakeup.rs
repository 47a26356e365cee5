//! Model of the `retry` wake-up protocol on the engine's lock word, wait
//! list and waiter, explored by loom:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p steadfast-core --release --test loom_wakeup
//! ```
//!
//! As in `transaction.rs` (`prepare_wait`) and `atomically.rs`: a waiter that
//! read a variable at some version registers in its wait list, then asks the
//! lock word for a wake-up at that version, and parks only if that succeeded.
//! A committer locks the word (learning whether a waiter asked), publishes,
//! unlocks at a new version, and wakes the list if a waiter had asked. A lost
//! wake-up leaves the waiter parked for ever, which loom reports as a
//! deadlock.

#![cfg(loom)]

use loom::sync::atomic::{AtomicU64, Ordering};
use loom::sync::Arc;
use loom::thread;
use steadfast_core::clock::VersionClock;
use steadfast_core::lock::VersionedLock;
use steadfast_core::wait::{WaitList, Waiter};

struct Var {
    clock: VersionClock,
    lock: VersionedLock,
    value: AtomicU64,
    waiters: WaitList,
}

impl Var {
    fn new() -> Arc<Var> {
        Arc::new(Var {
            clock: VersionClock::new(),
            lock: VersionedLock::new(0),
            value: AtomicU64::new(0),
            waiters: WaitList::new(),
        })
    }

    /// A consistent read: `(value, version)`, or `None` while a committer
    /// holds the word.
    fn read(&self) -> Option<(u64, u64)> {
        let before = self.lock.load();
        if before.is_locked() {
            return None;
        }
        let value = self.value.load(Ordering::Acquire);
        if self.lock.load() != before {
            return None;
        }
        Some((value, before.version()))
    }

    /// Blocks until the value is at least `target` (a transaction that
    /// retries while it is smaller). Re-runs after finding the word locked
    /// are bounded to keep the model finite: `None` means it gave up while a
    /// committer held the word, never that it slept through a commit (that
    /// leaves it parked for ever: a deadlock).
    fn wait_for(&self, target: u64) -> Option<u64> {
        let mut spins = 0;
        loop {
            let Some((value, version)) = self.read() else {
                spins += 1;
                if spins > 2 {
                    return None;
                }
                thread::yield_now();
                continue;
            };
            if value >= target {
                return Some(value);
            }
            // retry(): register, then flag the word at the version read.
            let waiter = Waiter::new();
            self.waiters.register(&waiter);
            if self.lock.request_wakeup(version) {
                waiter.park();
            } else {
                // Changed (or being changed) already: do not sleep.
                waiter.wake();
            }
        }
    }

    /// Commits `value + 1` (giving up after a few tries on a locked word,
    /// which only the failing committer below holds, briefly). Returns
    /// whether it committed.
    fn increment(&self) -> bool {
        let mut tries = 0;
        let locked = loop {
            if let Some(l) = self.lock.try_lock() {
                break l;
            }
            tries += 1;
            if tries > 2 {
                return false;
            }
            thread::yield_now();
        };
        let version = self.clock.tick();
        let value = self.value.load(Ordering::Acquire);
        self.value.store(value + 1, Ordering::Release);
        self.lock.unlock(version);
        if locked.had_waiters() {
            self.waiters.wake_all();
        }
        true
    }

    /// Locks and gives up, as a commit that fails validation does: the word
    /// must come back exactly as it was, waiter flag included.
    fn lock_and_give_up(&self) {
        if let Some(l) = self.lock.try_lock() {
            self.lock.unlock_unchanged(l);
        }
    }

    /// Locks at the current version and unlocks unchanged, as filling a lazy
    /// cache does.
    fn fill_like_a_cache(&self) {
        let version = self.lock.load().version();
        if let Some(l) = self.lock.try_lock_at(version) {
            self.lock.unlock_unchanged(l);
        }
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn a_waiter_is_woken_by_the_commit_it_waits_for() {
    model(|| {
        let var = Var::new();
        let v = var.clone();
        let committer = thread::spawn(move || assert!(v.increment()));
        assert_eq!(var.wait_for(1), Some(1));
        committer.join().unwrap();
    });
}

/// Two commits in a row, the waiter needs both: it may be woken by the
/// first, sleep again, and must be woken by the second.
#[test]
fn a_waiter_sleeps_again_and_is_woken_again() {
    model(|| {
        let var = Var::new();
        let v = var.clone();
        let committer = thread::spawn(move || {
            assert!(v.increment());
            assert!(v.increment());
        });
        assert_eq!(var.wait_for(2), Some(2));
        committer.join().unwrap();
    });
}

/// Locking a word and giving up (a commit that failed validation, a cache
/// fill) must not erase a waiter's request, or the real commit afterwards
/// would not wake it.
#[test]
fn a_failed_commit_or_a_cache_fill_keeps_the_waiter_flag() {
    model(|| {
        let var = Var::new();
        let v = var.clone();
        let committer = thread::spawn(move || {
            v.lock_and_give_up();
            v.fill_like_a_cache();
            assert!(v.increment());
        });
        assert!(matches!(var.wait_for(1), Some(1) | None));
        committer.join().unwrap();
    });
}

/// A cache fill that finds the version it expects, then races a commit that
/// moves the word to a newer one, must either lock at the version it expected
/// or not lock at all: a lock taken at the wrong version and not reported
/// would stay held for ever, and every later reader would conflict.
#[test]
fn a_cache_fill_racing_a_commit_never_leaves_the_word_locked() {
    model(|| {
        let var = Var::new();
        let v = var.clone();
        let filler = thread::spawn(move || v.fill_like_a_cache());
        var.increment();
        filler.join().unwrap();
        assert!(!var.lock.load().is_locked(), "a lock was left held");
    });
}

/// Two waiters on one variable, one commit: both wake.
#[test]
fn every_waiter_is_woken() {
    model(|| {
        let var = Var::new();
        let v1 = var.clone();
        let other = thread::spawn(move || v1.wait_for(1));
        let v2 = var.clone();
        let committer = thread::spawn(move || assert!(v2.increment()));
        assert!(matches!(var.wait_for(1), Some(1) | None));
        assert!(matches!(other.join().unwrap(), Some(1) | None));
        committer.join().unwrap();
    });
}
