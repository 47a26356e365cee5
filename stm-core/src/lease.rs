//! The thread's transaction: kept between transactions so the next one
//! allocates nothing, lent out while one runs.
//!
//! One plain thread-local word says everything the hot path needs: whether a
//! transaction is running (nesting is refused) and where the spare logs are.
//! A word without a destructor is read with one instruction; the destructor
//! that frees the spare at thread exit lives in a second thread-local that
//! only a thread's first transaction touches. The word holds a raw pointer
//! (hence the `unsafe` below): compared with a `Cell<Option<Box<_>>>` and a
//! nesting flag, it saves about 15 of the 370 instructions of a two-variable
//! transfer (callgrind).

use crate::transaction::Transaction;
use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// No spare: the thread has not run a transaction yet, or a hook runs
/// between two attempts of one (see `outside_transaction`).
const EMPTY: usize = 0;
/// A transaction is running on this thread.
const RUNNING: usize = 1;
/// The thread is exiting and its spare was freed: transactions run from
/// other thread-locals' destructors use logs of their own.
const GONE: usize = 2;

thread_local! {
    /// `EMPTY`, `RUNNING`, `GONE`, or the spare transaction (a `Box` pointer).
    static CURRENT: Cell<usize> = const { Cell::new(EMPTY) };
    /// Frees the spare when the thread exits.
    static OWNER: Owner = const { Owner };
}

struct Owner;

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|current| free_logs(current.replace(GONE)));
    }
}

/// Frees the logs a word taken out of `CURRENT` (or out of a lease) points
/// to, if it is a pointer at all: a value above `GONE`.
fn free_logs(word: usize) {
    if word > GONE {
        // SAFETY: a value above `GONE` is the pointer of a leaked `Box`.
        // Whoever passes it here took it out of `CURRENT` or out of an
        // ending lease, the only two places that hold it.
        drop(unsafe { Box::from_raw(word as *mut Transaction) });
    }
}

/// Whether the calling thread is running a transaction body.
pub fn in_transaction() -> bool {
    CURRENT.with(|c| c.get() == RUNNING)
}

/// The thread's transaction, lent to a running `atomically`; handed back
/// (or freed, while the thread exits) when dropped, on every path out,
/// unwinding included.
pub(crate) struct Lease {
    tx: NonNull<Transaction>,
}

impl Lease {
    /// Marks the thread as running a transaction and lends it its logs.
    ///
    /// # Panics
    /// If the thread is already running one: transactions do not nest.
    #[inline]
    pub(crate) fn take() -> Lease {
        let current = CURRENT.with(|c| c.replace(RUNNING));
        if current > GONE {
            // SAFETY: a value above `GONE` is a non-null `Box` pointer.
            let tx = unsafe { NonNull::new_unchecked(current as *mut Transaction) };
            Lease { tx }
        } else {
            Lease::take_slow(current)
        }
    }

    #[cold]
    #[inline(never)]
    fn take_slow(current: usize) -> Lease {
        if current == RUNNING {
            nested();
        }
        // Registering the owner arms the destructor that frees the spare;
        // it fails only once the thread's destructors have begun.
        let mut logs = Box::new(Transaction::new());
        logs.set_kept_by_thread(current == EMPTY && OWNER.try_with(|_| ()).is_ok());
        Lease {
            tx: NonNull::from(Box::leak(logs)),
        }
    }
}

impl Drop for Lease {
    #[inline]
    fn drop(&mut self) {
        if self.kept_by_thread() {
            CURRENT.with(|c| c.set(self.tx.as_ptr() as usize));
        } else {
            Lease::end_on_exit(self.tx);
        }
    }
}

impl Lease {
    /// Ends a lease known to be kept by the thread, without asking: one that
    /// ended the short way (a transaction the thread does not keep never
    /// does).
    #[inline]
    pub(crate) fn hand_back(self) {
        debug_assert!(self.kept_by_thread());
        CURRENT.with(|c| c.set(self.tx.as_ptr() as usize));
        std::mem::forget(self);
    }

    /// Ends a lease taken while the thread exits: nothing will keep the
    /// logs, so they are freed.
    #[cold]
    #[inline(never)]
    fn end_on_exit(tx: NonNull<Transaction>) {
        free_logs(tx.as_ptr() as usize);
        let _ = CURRENT.try_with(|c| c.set(GONE));
    }
}

impl Deref for Lease {
    type Target = Transaction;
    #[inline]
    fn deref(&self) -> &Transaction {
        // SAFETY: the lease is the transaction's only user until it ends.
        unsafe { self.tx.as_ref() }
    }
}

impl DerefMut for Lease {
    #[inline]
    fn deref_mut(&mut self) -> &mut Transaction {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { self.tx.as_mut() }
    }
}

/// Reports `atomically` inside a running transaction.
#[cold]
#[inline(never)]
fn nested() -> ! {
    panic!(
        "steadfast: `atomically` called inside a running transaction. \
         Transactions do not nest: pass the `&mut Transaction` you already \
         have down to the code that needs it, and use `tx.or_else` to \
         compose alternatives"
    );
}

/// Runs `f` as if no transaction were running on this thread, so hooks may
/// start transactions even between two attempts of a running one.
pub(crate) fn outside_transaction(f: impl FnOnce()) {
    /// Restores the running mark, unwinding included, and frees the logs
    /// a transaction inside `f` left behind.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            if self.0 {
                free_logs(CURRENT.with(|c| c.replace(RUNNING)));
            }
        }
    }
    let running = CURRENT.with(|c| c.get() == RUNNING);
    let _restore = Restore(running);
    if running {
        CURRENT.with(|c| c.set(EMPTY));
    }
    f();
}
