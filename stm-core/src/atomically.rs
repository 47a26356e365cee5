//! Running a transaction: the retry loop around the body.

use crate::error::{Abort, ErrorKind, Failure, StmError, StmResult, TransactionError};
use crate::lease::{outside_transaction, Lease};
use crate::serial::{self, SerialToken};
use crate::stats::Event;
use crate::transaction::{drop_list, CommitError, QuickCommit, Transaction};
use std::convert::Infallible;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Runs hooks outside the transaction, so they may start transactions.
#[inline]
fn run_hooks(hooks: Vec<Box<dyn FnOnce()>>) {
    if hooks.is_empty() {
        drop_list(hooks);
    } else {
        run_some_hooks(hooks);
    }
}

#[cold]
#[inline(never)]
fn run_some_hooks(hooks: Vec<Box<dyn FnOnce()>>) {
    outside_transaction(|| {
        for hook in hooks {
            hook();
        }
    });
}

/// Runs `body` as one atomic transaction and returns its result.
///
/// The body may run several times: after a conflict it is re-run on a fresh
/// snapshot, invisibly to the caller. Its writes become visible all at once
/// when it commits. [`retry`](crate::retry) blocks until a variable the body
/// read changes.
///
/// # Panics
/// If an invariant fails at commit (the message names it), if `atomically` is
/// called inside a running transaction, if the body retries without having
/// read anything, or if the body panics (after rolling back). Use
/// [`atomically_or_failure`] to receive failures as values.
#[inline]
pub fn atomically<T, F>(body: F) -> T
where
    F: FnMut(&mut Transaction) -> StmResult<T>,
{
    match atomically_or_failure(body) {
        Ok(value) => value,
        Err(failure) => panic!("steadfast: {failure}"),
    }
}

/// Runs `body` as one atomic transaction, like [`atomically`], but returns a
/// failure (most often a violated invariant) instead of panicking with it.
///
/// The body is written as for `atomically`; [`try_atomically`] is the one
/// for bodies that end with an error of their own.
///
/// ```
/// use steadfast_core::{atomically, atomically_or_failure, CheckError, TVar};
/// let balance = TVar::new(10i64);
/// let b = balance.clone();
/// atomically(|tx| {
///     let b = b.clone();
///     tx.invariant("solvent", move |tx| match b.read(tx)? {
///         n if n >= 0 => Ok(()),
///         n => Err(CheckError::violated(format!("balance {n}"))),
///     })
/// });
/// let overdraw = atomically_or_failure(|tx| balance.modify(tx, |b| b - 15));
/// let violation = overdraw.unwrap_err();
/// assert_eq!(violation.invariant_violation().unwrap().invariant, "solvent");
/// assert_eq!(balance.load(), 10); // nothing was written
/// ```
#[inline]
pub fn atomically_or_failure<T, F>(mut body: F) -> Result<T, Failure>
where
    F: FnMut(&mut Transaction) -> StmResult<T>,
{
    match run(|tx| body(tx).map_err(Abort::<Infallible>::Stm)) {
        Ok(value) => Ok(value),
        Err(TransactionError::Failed(failure)) => Err(failure),
        Err(TransactionError::Aborted(never)) => match never {},
    }
}

/// Runs `body` as one atomic transaction; the body may end with an error of
/// its own, and failures come back as values.
///
/// The body returns `Err(Abort::User(e))` (see [`abort`]) to roll back every
/// write and return `e`; `?` on transactional operations works as in
/// [`atomically`]. A failed invariant returns [`TransactionError::Failed`]
/// naming it.
///
/// ```
/// use steadfast_core::{abort, try_atomically, TVar, TransactionError};
/// let stock = TVar::new(3u32);
/// let r = try_atomically(|tx| {
///     let n = stock.read(tx)?;
///     stock.write(tx, 0)?;
///     if n < 5 { return abort("not enough"); }
///     Ok(n)
/// });
/// assert_eq!(r, Err(TransactionError::Aborted("not enough")));
/// assert_eq!(stock.load(), 3); // the write was rolled back
/// ```
#[inline]
pub fn try_atomically<T, E, F>(body: F) -> Result<T, TransactionError<E>>
where
    F: FnMut(&mut Transaction) -> Result<T, Abort<E>>,
{
    run(body)
}

/// Ends a [`try_atomically`] body with the caller's error `e`.
pub fn abort<T, E>(e: E) -> Result<T, Abort<E>> {
    Err(Abort::User(e))
}

/// Blocks the transaction until a variable it has read changes, then re-runs
/// it. Inside [`Transaction::or_else`], switches to the other branch instead.
///
/// ```
/// use steadfast_core::{atomically, retry, TVar};
/// let ready = TVar::new(false);
/// let r2 = ready.clone();
/// let t = std::thread::spawn(move || atomically(|tx| r2.write(tx, true)));
/// atomically(|tx| if ready.read(tx)? { Ok(()) } else { retry() });
/// t.join().unwrap();
/// ```
pub fn retry<T>() -> StmResult<T> {
    Err(StmError::retry())
}

#[inline]
fn run<T, E, F>(mut body: F) -> Result<T, TransactionError<E>>
where
    F: FnMut(&mut Transaction) -> Result<T, Abort<E>>,
{
    let mut tx = Lease::take();
    let mut retries = Retries::new();
    loop {
        tx.begin();
        let serial = retries.token.is_some();
        let outcome = match catch_unwind(AssertUnwindSafe(|| body(&mut tx))) {
            Ok(Ok(value)) => {
                // Runs no user code, so it needs no catching.
                let quick = if serial {
                    QuickCommit::Untouched
                } else {
                    tx.commit_quick()
                };
                if let QuickCommit::Committed = quick {
                    leave_committed(tx, &mut retries.token, serial);
                    // Holds no token now: forgetting skips the drop's test.
                    std::mem::forget(retries);
                    return Ok(value);
                }
                // The rest of the commit runs invariant checks and eager
                // caches: user code that may panic like the body (it runs
                // before any lock is taken).
                catch_unwind(AssertUnwindSafe(|| {
                    match commit_through_gate(&mut tx, quick, serial) {
                        Ok(()) => Ok(value),
                        Err(e) => Err(Abort::Stm(e.into())),
                    }
                }))
            }
            other => other,
        };
        match outcome {
            Ok(Ok(value)) => {
                leave_committed(tx, &mut retries.token, serial);
                std::mem::forget(retries);
                return Ok(value);
            }
            Ok(Err(Abort::User(e))) => {
                tx.count(Event::UserAbort);
                let hooks = tx.abort_attempt();
                leave(tx, retries.token, hooks);
                return Err(TransactionError::Aborted(e));
            }
            Ok(Err(Abort::Stm(e))) => {
                // The body may have turned a conflict into something else.
                let kind = match tx.doomed() {
                    Some(doomed) => doomed.kind.clone(),
                    None => e.kind,
                };
                if let Err(failure) = retries.after_failed_attempt(&mut tx, kind) {
                    let hooks = tx.abort_attempt();
                    leave(tx, retries.token, hooks);
                    return Err(TransactionError::Failed(failure));
                }
            }
            Err(panic) => {
                tx.count(Event::UserAbort);
                let hooks = tx.abort_attempt();
                leave(tx, retries.token, hooks);
                resume_unwind(panic);
            }
        }
        // Only a failed attempt gets here: the first one needs no check.
        retries.before_attempt(&mut tx);
    }
}

/// Ends a committed transaction: releases the token (leaving `None`), runs
/// the hooks, hands the logs back to the thread.
#[inline(always)]
fn leave_committed(mut tx: Lease, token: &mut Option<SerialToken>, serial: bool) {
    if !serial && !tx.ends_the_long_way() {
        // No hooks to run (they are extras), no token to release, and a
        // transaction the thread keeps: the short way out.
        tx.clear_short();
        tx.hand_back();
    } else if serial || tx.has_extras() {
        let hooks = tx.finish_commit();
        leave(tx, token.take(), hooks);
    } else {
        // Boxed values or logs that grew, but still nothing to run or
        // release.
        tx.clear();
        drop(tx);
    }
}

/// What the retry loop keeps between attempts: how many failed in a row
/// and, after too many, the serial token (the back-off's random state stays
/// with the thread's transaction).
struct Retries {
    failures: u32,
    token: Option<SerialToken>,
}

impl Retries {
    #[inline]
    fn new() -> Self {
        Retries {
            failures: 0,
            token: None,
        }
    }

    /// Takes the serial token once the transaction has lost too often.
    #[inline]
    fn before_attempt(&mut self, tx: &mut Transaction) {
        if self.failures >= serial::SERIAL_AFTER && self.token.is_none() {
            self.token = Some(SerialToken::acquire());
            tx.count(Event::SerialRun);
        }
    }

    /// Ends a failed attempt: backs off after a conflict, blocks after a
    /// `retry`; a failure comes back as `Err` with the attempt still open.
    #[cold]
    #[inline(never)]
    fn after_failed_attempt(
        &mut self,
        tx: &mut Transaction,
        kind: ErrorKind,
    ) -> Result<(), Failure> {
        match kind {
            ErrorKind::Conflict => {
                self.failures += 1;
                run_hooks(tx.abort_attempt());
                tx.start_from_now();
                crate::backoff::after_conflict(self.failures, tx.backoff_seed());
                Ok(())
            }
            ErrorKind::Retry => {
                tx.count(Event::Retry);
                let waiter = tx.prepare_wait()?;
                run_hooks(tx.abort_attempt());
                // Never sleep holding the token: writers wait for it.
                self.token = None;
                self.failures = 0;
                waiter.park();
                Ok(())
            }
            ErrorKind::Failed(failure) => {
                tx.count(Event::UserAbort);
                Err(*failure)
            }
        }
    }
}

/// Ends the commit [`Transaction::commit_quick`] left (or, for a serial
/// transaction, did not start); when a transaction running alone holds the
/// gate, waits it out and tries the commit again instead of re-running the
/// body. The attempt's reads (its checks' included) are validated after the
/// wait like any other, so a change the lone transaction made to them still
/// fails the commit.
#[inline]
fn commit_through_gate(
    tx: &mut Transaction,
    quick: QuickCommit,
    serial: bool,
) -> Result<(), CommitError> {
    match quick {
        QuickCommit::Committed => Ok(()),
        QuickCommit::Ticked { published } => tx.finish_ticked(published),
        QuickCommit::Untouched => commit_slowly(tx, serial),
    }
}

/// `commit_through_gate` once the quick commit stood aside.
#[inline(never)]
fn commit_slowly(tx: &mut Transaction, serial: bool) -> Result<(), CommitError> {
    loop {
        match tx.commit(serial) {
            Err(CommitError::SerialGate) => serial::wait_gate(),
            other => return other,
        }
    }
}

/// Ends a transaction: releases the token, hands the logs back to the
/// thread (which leaves the transaction), then runs the hooks.
#[inline]
fn leave(tx: Lease, token: Option<SerialToken>, hooks: Vec<Box<dyn FnOnce()>>) {
    drop(token);
    drop(tx);
    run_hooks(hooks);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TVar;

    /// The capacities of this thread's spare logs.
    fn spare_capacity() -> (usize, usize) {
        Lease::take().log_capacity()
    }

    #[test]
    fn a_huge_transaction_leaves_no_huge_logs_behind() {
        let vars: Vec<TVar<u64>> = (0..5000).map(TVar::new).collect();
        let total = atomically(|tx| {
            let mut sum = 0;
            for v in &vars {
                sum += v.read(tx)?;
                v.write(tx, 1)?;
            }
            Ok(sum)
        });
        assert_eq!(total, 4999 * 5000 / 2);
        let (reads, writes) = spare_capacity();
        assert!(reads <= 1024 && writes <= 1024, "kept {reads} and {writes}");
        // Small transactions keep their (small) buffers.
        atomically(|tx| vars[0].modify(tx, |v| v + 1));
        assert!(spare_capacity().1 >= 1);
        // A read-only transaction that only reads, the plainest kind, too.
        let sum = atomically(|tx| {
            let mut sum = 0;
            for v in &vars {
                sum += v.read(tx)?;
            }
            Ok(sum)
        });
        assert_eq!(sum, 5000 + 1);
        let (reads, _) = spare_capacity();
        assert!(reads <= 1024, "kept {reads}");
    }
}
