//! Running a transaction: the retry loop around the body.

use crate::error::{Abort, ErrorKind, StmError, StmResult, TransactionError};
use crate::serial::{self, SerialToken};
use crate::stats::{record, Event};
use crate::transaction::{CommitError, Transaction};
use std::cell::Cell;
use std::convert::Infallible;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

thread_local! {
    static IN_TRANSACTION: Cell<bool> = const { Cell::new(false) };
    /// The logs of this thread's last transaction, kept so the next one
    /// allocates nothing (transactions never nest, so one per thread suffices).
    static SPARE: Cell<Option<Box<Transaction>>> = const { Cell::new(None) };
}

/// This thread's spare transaction (or a new one).
fn take_spare() -> Box<Transaction> {
    let spare = SPARE.try_with(|s| s.take()).ok().flatten();
    spare.unwrap_or_else(|| Box::new(Transaction::new()))
}

/// Keeps a cleared transaction for the thread's next one.
fn give_back(mut tx: Box<Transaction>) {
    tx.trim();
    let _ = SPARE.try_with(|s| s.set(Some(tx)));
}

/// Whether the calling thread is running a transaction body.
pub fn in_transaction() -> bool {
    IN_TRANSACTION.with(|c| c.get())
}

/// Marks the thread as inside a transaction for its lifetime.
struct Nesting;

impl Nesting {
    fn enter() -> Nesting {
        if IN_TRANSACTION.with(|c| c.replace(true)) {
            panic!(
                "steadfast: `atomically` called inside a running transaction. \
                 Transactions do not nest: pass the `&mut Transaction` you already \
                 have down to the code that needs it, and use `tx.or_else` to \
                 compose alternatives"
            );
        }
        Nesting
    }
}

impl Drop for Nesting {
    fn drop(&mut self) {
        IN_TRANSACTION.with(|c| c.set(false));
    }
}

/// Runs hooks outside the transaction, so they may start transactions.
#[inline]
fn run_hooks(hooks: Vec<Box<dyn FnOnce()>>) {
    if hooks.is_empty() {
        return;
    }
    let was = IN_TRANSACTION.with(|c| c.replace(false));
    for hook in hooks {
        hook();
    }
    IN_TRANSACTION.with(|c| c.set(was));
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
/// [`try_atomically`] to receive failures as values.
pub fn atomically<T, F>(mut body: F) -> T
where
    F: FnMut(&mut Transaction) -> StmResult<T>,
{
    match run(|tx| body(tx).map_err(Abort::<Infallible>::Stm)) {
        Ok(value) => value,
        Err(TransactionError::Failed(failure)) => panic!("steadfast: {failure}"),
        Err(TransactionError::Aborted(never)) => match never {},
    }
}

/// Runs `body` as one atomic transaction; failures come back as values.
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

fn run<T, E, F>(mut body: F) -> Result<T, TransactionError<E>>
where
    F: FnMut(&mut Transaction) -> Result<T, Abort<E>>,
{
    let nesting = Nesting::enter();
    let mut tx = take_spare();
    tx.serial = false;
    let mut failures = 0u32;
    let mut seed = (&*tx as *const Transaction as u64) | 1;
    let mut token: Option<SerialToken> = None;
    loop {
        if failures >= serial::SERIAL_AFTER && token.is_none() {
            token = Some(SerialToken::acquire());
            tx.serial = true;
            record(Event::SerialRun);
        }
        tx.begin();
        // The commit runs invariant checks and eager caches: user code that
        // may panic like the body (it runs before any lock is taken).
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            body(&mut tx).map(|value| (value, commit_through_gate(&mut tx)))
        }));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(panic) => {
                record(Event::UserAbort);
                let hooks = tx.abort_attempt();
                leave(tx, token, nesting, hooks);
                resume_unwind(panic);
            }
        };
        let signal = match outcome {
            Ok((value, committed)) => match committed {
                Ok(()) => {
                    let hooks = tx.finish_commit();
                    leave(tx, token, nesting, hooks);
                    return Ok(value);
                }
                Err(CommitError::Conflict | CommitError::SerialGate) => ErrorKind::Conflict,
                Err(CommitError::Failed(failure)) => ErrorKind::Failed(Box::new(failure)),
            },
            Err(Abort::User(e)) => {
                record(Event::UserAbort);
                let hooks = tx.abort_attempt();
                leave(tx, token, nesting, hooks);
                return Err(TransactionError::Aborted(e));
            }
            Err(Abort::Stm(e)) => match tx.doomed() {
                // The body may have turned a conflict into something else.
                Some(doomed) => doomed.kind.clone(),
                None => e.kind,
            },
        };
        match signal {
            ErrorKind::Conflict => {
                failures += 1;
                run_hooks(tx.abort_attempt());
                crate::backoff::after_conflict(failures, &mut seed);
            }
            ErrorKind::Retry => {
                record(Event::Retry);
                let waiter = tx.prepare_wait();
                run_hooks(tx.abort_attempt());
                match waiter {
                    Ok(waiter) => {
                        // Never sleep holding the token: writers wait for it.
                        if token.take().is_some() {
                            tx.serial = false;
                        }
                        failures = 0;
                        waiter.park();
                    }
                    Err(failure) => {
                        leave(tx, token, nesting, Vec::new());
                        return Err(TransactionError::Failed(failure));
                    }
                }
            }
            ErrorKind::Failed(failure) => {
                record(Event::UserAbort);
                let hooks = tx.abort_attempt();
                leave(tx, token, nesting, hooks);
                return Err(TransactionError::Failed(*failure));
            }
        }
    }
}

/// Commits; when a transaction running alone holds the gate, waits it out and
/// tries the commit again instead of re-running the body. The attempt's reads
/// (its checks' included) are validated after the wait like any other, so a
/// change the lone transaction made to them still fails the commit.
fn commit_through_gate(tx: &mut Transaction) -> Result<(), CommitError> {
    loop {
        match tx.commit() {
            Err(CommitError::SerialGate) => serial::wait_gate(),
            other => return other,
        }
    }
}

/// Ends a transaction: releases the token, keeps the logs for the thread's
/// next transaction, leaves the transaction, then runs the hooks.
fn leave(
    tx: Box<Transaction>,
    token: Option<SerialToken>,
    nesting: Nesting,
    hooks: Vec<Box<dyn FnOnce()>>,
) {
    drop(token);
    give_back(tx);
    drop(nesting);
    run_hooks(hooks);
}
