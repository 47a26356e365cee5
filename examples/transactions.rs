//! A tour of transactions: variables, `atomically`, typed errors, `retry`,
//! `or_else` and hooks, on two bank accounts.
//!
//! ```text
//! cargo run --example transactions
//! ```

use std::thread;
use std::time::Duration;
use steadfast::{
    abort, atomically, atomically_or_failure, retry, try_atomically, CheckError, StmResult, TVar,
    Transaction, TransactionError,
};

// ANCHOR: transfer
/// Moves `amount` from one account to another. It takes the caller's
/// transaction, so it composes: two calls in one transaction are one step.
fn transfer(tx: &mut Transaction, from: &TVar<i64>, to: &TVar<i64>, amount: i64) -> StmResult<()> {
    from.modify(tx, |balance| balance - amount)?;
    to.modify(tx, |balance| balance + amount)
}
// ANCHOR_END: transfer

// ANCHOR: checked
/// Why a transfer was refused.
#[derive(Debug, PartialEq)]
struct Insufficient {
    balance: i64,
    wanted: i64,
}

/// Like `transfer`, but refuses to overdraw, with a typed error.
fn checked_transfer(
    from: &TVar<i64>,
    to: &TVar<i64>,
    amount: i64,
) -> Result<(), TransactionError<Insufficient>> {
    try_atomically(|tx| {
        transfer(tx, from, to, amount)?;
        // Write first, check after: `abort` undoes the writes.
        let balance = from.read(tx)?;
        if balance < 0 {
            return abort(Insufficient {
                balance: balance + amount,
                wanted: amount,
            });
        }
        Ok(())
    })
}
// ANCHOR_END: checked

// ANCHOR: retry
/// Withdraws `amount`, waiting until the balance covers it. `retry` abandons
/// the attempt and blocks the thread until a variable it read changes.
fn withdraw_when_covered(tx: &mut Transaction, account: &TVar<i64>, amount: i64) -> StmResult<()> {
    let balance = account.read(tx)?;
    if balance < amount {
        return retry();
    }
    account.write(tx, balance - amount)
}
// ANCHOR_END: retry

fn main() {
    // ANCHOR: basics
    let checking = TVar::new(100i64);
    let savings = TVar::new(500i64);

    // Reads and writes happen inside a transaction. Its writes become visible
    // to other threads all at once, when the body returns and it commits.
    atomically(|tx| {
        checking.modify(tx, |b| b - 30)?;
        savings.modify(tx, |b| b + 30)
    });
    // `load` reads one variable outside any transaction.
    assert_eq!((checking.load(), savings.load()), (70, 530));

    // A transaction returns whatever its body returns.
    let total = atomically(|tx| Ok(checking.read(tx)? + savings.read(tx)?));
    println!("basics: checking 70, savings 530, total {total}");
    // ANCHOR_END: basics

    // ANCHOR: compose
    // Two transfers, one transaction: nobody sees the money in between.
    atomically(|tx| {
        transfer(tx, &savings, &checking, 100)?;
        transfer(tx, &checking, &savings, 50)
    });
    assert_eq!((checking.load(), savings.load()), (120, 480));
    println!("compose: two transfers in one transaction, checking 120, savings 480");
    // ANCHOR_END: compose

    // ANCHOR: abort
    let refused = checked_transfer(&checking, &savings, 1_000);
    assert_eq!(
        refused,
        Err(TransactionError::Aborted(Insufficient {
            balance: 120,
            wanted: 1_000
        }))
    );
    assert_eq!(checking.load(), 120); // nothing was written
    println!("abort: {refused:?}");
    // ANCHOR_END: abort

    // ANCHOR: retry_use
    thread::scope(|s| {
        let waiter = s.spawn(|| atomically(|tx| withdraw_when_covered(tx, &checking, 300)));
        thread::sleep(Duration::from_millis(20)); // give the waiter time to block
        atomically(|tx| checking.modify(tx, |b| b + 200));
        waiter.join().unwrap();
    });
    println!("retry: a withdrawal of 300 waited until a deposit of 200 covered it");
    assert_eq!(checking.load(), 20);
    // ANCHOR_END: retry_use

    // ANCHOR: or_else
    // Pay 100 from checking if it is covered, or else from savings.
    let paid_from = atomically(|tx| {
        tx.or_else(
            |tx| withdraw_when_covered(tx, &checking, 100).map(|()| "checking"),
            |tx| withdraw_when_covered(tx, &savings, 100).map(|()| "savings"),
        )
    });
    assert_eq!(paid_from, "savings");
    println!("or_else: checking holds 20, so 100 was paid from {paid_from}");
    // ANCHOR_END: or_else

    // ANCHOR: hooks
    // The body may run more than once, so effects belong in hooks:
    // `on_commit` runs once, after the writes are visible; `on_abort` runs
    // after each attempt that fails.
    atomically(|tx| {
        let balance = savings.read(tx)?;
        tx.on_commit(move || println!("hooks: committed, savings now {}", balance + 1));
        savings.write(tx, balance + 1)
    });
    let refused: Result<(), TransactionError<&str>> = try_atomically(|tx| {
        tx.on_abort(|| println!("hooks: rolled back"));
        savings.write(tx, -1)?;
        abort("never mind")
    });
    assert_eq!(refused, Err(TransactionError::Aborted("never mind")));
    // ANCHOR_END: hooks

    let report_panics = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the output tidy

    // ANCHOR: panic
    // A panic in the body rolls the transaction back and reaches the caller;
    // the variables stay usable.
    let before = savings.load();
    let result = std::panic::catch_unwind(|| {
        atomically(|tx| -> StmResult<()> {
            savings.write(tx, 0)?;
            panic!("the body panics after a write");
        })
    });
    assert!(result.is_err());
    assert_eq!(savings.load(), before);
    // ANCHOR_END: panic
    std::panic::set_hook(report_panics);
    println!("panic: rolled back, savings still {before}");

    // ANCHOR: or_failure
    // An invariant (see the Invariants chapter): savings never go negative.
    let guarded = savings.clone();
    atomically(|tx| {
        let savings = guarded.clone();
        tx.invariant("savings never negative", move |tx| {
            match savings.read(tx)? {
                b if b >= 0 => Ok(()),
                b => Err(CheckError::violated(format!("savings would be {b}"))),
            }
        })
    });
    // The body is written as for `atomically`; the failure comes back.
    let overdraw = atomically_or_failure(|tx| savings.modify(tx, |b| b - 10_000));
    let failure = overdraw.unwrap_err();
    let violation = failure.invariant_violation().unwrap();
    assert_eq!(violation.invariant, "savings never negative");
    assert_eq!(savings.load(), before); // nothing was written
    println!("or_failure: {failure}");
    // ANCHOR_END: or_failure
}
