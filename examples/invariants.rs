//! When an invariant runs, what it costs, and how long it lives.
//!
//! A range has `low` and `high` bounds, a `strict` flag and a `label`. Its
//! invariant says `low <= high`, but only while `strict` is set. The program
//! writes different variables and prints how many checks each commit ran:
//! only the checks that read what the transaction wrote, on their last run.
//!
//! ```text
//! cargo run --example invariants
//! ```

use std::sync::{Arc, Weak};
use steadfast::{atomically, atomically_or_failure, thread_stats, CheckError, TVar};
use steadfast::{StmResult, Transaction};

// ANCHOR: range
struct Range {
    strict: TVar<bool>,
    low: TVar<i32>,
    high: TVar<i32>,
    label: TVar<String>,
}

/// Registers the range's invariant. The check receives the range from the
/// engine, which holds it weakly.
fn guard(range: &Arc<Range>) {
    atomically(|tx| {
        tx.invariant_owned("ordered when strict", range, |range: &Range, tx| {
            if !range.strict.read(tx)? {
                return Ok(()); // this run read `strict` and nothing else
            }
            let (low, high) = (range.low.read(tx)?, range.high.read(tx)?);
            match low <= high {
                true => Ok(()),
                false => Err(CheckError::violated(format!("low {low} > high {high}"))),
            }
        })
    });
}
// ANCHOR_END: range

fn new_range() -> Arc<Range> {
    Arc::new(Range {
        strict: TVar::new(true),
        low: TVar::new(1),
        high: TVar::new(5),
        label: TVar::new("a range".to_string()),
    })
}

// ANCHOR: step
/// Commits `body` and prints how many invariant checks the commit ran.
fn step(wrote: &str, body: impl FnMut(&mut Transaction) -> StmResult<()>) {
    let before = thread_stats();
    atomically(body);
    let checks = (thread_stats() - before).invariant_runs;
    println!("  {wrote:<44} {checks}");
}
// ANCHOR_END: step

fn main() {
    let range = new_range();
    guard(&range);

    // ANCHOR: runs
    println!("  {:<44} checks run", "the transaction wrote");
    step("label", |tx| range.label.write(tx, "renamed".into()));
    step("low", |tx| range.low.write(tx, 2));
    step("low and high (one check per transaction)", |tx| {
        range.low.write(tx, 3)?;
        range.high.write(tx, 6)
    });
    step("strict := false", |tx| range.strict.write(tx, false));
    step("low (the last run read only strict)", |tx| {
        range.low.write(tx, 9)
    });
    step("high", |tx| range.high.write(tx, 10));
    step("strict := true", |tx| range.strict.write(tx, true));
    step("low (read again)", |tx| range.low.write(tx, 4));
    // ANCHOR_END: runs

    // ANCHOR: failure
    let broken = atomically_or_failure(|tx| range.low.write(tx, 99));
    let error = broken.unwrap_err();
    let violation = error.invariant_violation().unwrap();
    println!(
        "\nlow := 99 refused by `{}`: {}",
        violation.invariant, violation.message
    );
    assert_eq!(range.low.load(), 4);
    // ANCHOR_END: failure

    // ANCHOR: lifetime
    // The range's variables hold the check; the check holds the range
    // weakly. Dropping the last handle frees the range and retires the check.
    let weak: Weak<Range> = Arc::downgrade(&range);
    drop(range);
    assert!(weak.upgrade().is_none());
    println!("\nthe guarded range was freed with its handle");

    // A check that captures a strong handle closes a cycle: the range's
    // variables hold the check, the check holds the range. Never freed.
    let leaky = new_range();
    let captured = leaky.clone();
    atomically(|tx| {
        let range = captured.clone();
        tx.invariant("leaks", move |tx| {
            match range.low.read(tx)? <= range.high.read(tx)? {
                true => Ok(()),
                false => Err(CheckError::violated("low > high")),
            }
        })
    });
    drop(captured);
    let weak: Weak<Range> = Arc::downgrade(&leaky);
    drop(leaky);
    assert!(weak.upgrade().is_some());
    println!("a range whose check captured it strongly is still alive: leaked");
    // ANCHOR_END: lifetime
}
