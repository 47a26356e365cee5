//! The serial token: a transaction that keeps losing runs alone.
//!
//! A transaction that has aborted many times in a row takes the token. While
//! it is held, every other committer finds the gate closed after locking its
//! write set, releases its locks and waits. Commits already past the gate are
//! finitely many (one per thread), so the token holder commits after at most
//! a few more attempts: a long reader cannot starve under busy writers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

static TOKEN: Mutex<()> = Mutex::new(());
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Consecutive failed attempts after which a transaction runs alone.
pub(crate) const SERIAL_AFTER: u32 = 64;

/// Whether some transaction holds the token (SeqCst: ordered after the
/// caller's lock acquisitions).
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Proof of holding the token; releases it when dropped (also on panic).
pub(crate) struct SerialToken {
    _held: MutexGuard<'static, ()>,
}

impl SerialToken {
    pub(crate) fn acquire() -> Self {
        let held = TOKEN.lock().unwrap_or_else(|e| e.into_inner());
        ACTIVE.store(true, Ordering::SeqCst);
        SerialToken { _held: held }
    }
}

impl Drop for SerialToken {
    fn drop(&mut self) {
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

/// Waits until no transaction holds the token.
pub(crate) fn wait_gate() {
    let mut step = 0;
    while active() {
        crate::backoff::spin(&mut step);
    }
}
