//! A bakery as a producer/consumer pipeline built from the transactional
//! data structures.
//!
//! Two clerks take orders and put them on a short counter (a `TBQueue`: a
//! clerk waits while it is full). Three bakers take an order *and* an oven
//! in one transaction (a `TSem` with two permits), so no baker ever holds an
//! oven without an order or an order without an oven. Baked goods go onto a
//! shelf (an unbounded `TQueue`). The manager counts them and hands the day's
//! summary to the owner through a `TMVar`.
//!
//! ```text
//! cargo run --example pipeline
//! ```

use std::thread;
use std::time::Duration;
use steadfast::{atomically, retry, thread_stats, TBQueue, TMVar, TQueue, TSem, TVar};

const CLERKS: usize = 2;
const ORDERS_PER_CLERK: usize = 8;
const BAKERS: usize = 3;
const OVENS: usize = 2;
const COUNTER_SPACE: usize = 3;

// ANCHOR: types
#[derive(Clone, Debug)]
struct Order {
    clerk: usize,
    number: usize,
}

#[derive(Clone, Debug)]
struct Loaf {
    order: Order,
    baker: usize,
}

/// What a baker does next.
enum Next {
    Bake(Order),
    GoHome,
}

/// Everything the threads share.
struct Bakery {
    counter: TBQueue<Order>,
    ovens: TSem,
    shelf: TQueue<Loaf>,
    clerks_done: TVar<usize>,
    ovens_busy_peak: TVar<usize>,
    summary: TMVar<String>,
}
// ANCHOR_END: types

// ANCHOR: clerk
/// Puts orders on the counter; `push` blocks while the counter is full.
/// Returns how many times the clerk had to wait.
fn clerk(bakery: &Bakery, clerk: usize) -> u64 {
    let before = thread_stats();
    for number in 1..=ORDERS_PER_CLERK {
        let order = Order { clerk, number };
        atomically(|tx| bakery.counter.push(tx, order.clone()));
    }
    atomically(|tx| bakery.clerks_done.modify(tx, |done| done + 1));
    (thread_stats() - before).retries
}
// ANCHOR_END: clerk

// ANCHOR: baker
/// Takes an order and an oven together, or goes home when the clerks are
/// done and the counter is empty; otherwise waits for either to change.
fn next_job(bakery: &Bakery) -> Next {
    atomically(|tx| {
        tx.or_else(
            |tx| {
                let order = bakery.counter.pop(tx)?; // retries if the counter is empty
                bakery.ovens.acquire(tx)?; // retries if both ovens are busy
                let busy = OVENS - bakery.ovens.available(tx)?;
                bakery.ovens_busy_peak.modify(tx, |peak| peak.max(busy))?;
                Ok(Next::Bake(order))
            },
            |tx| {
                let closed = bakery.clerks_done.read(tx)? == CLERKS;
                if closed && bakery.counter.is_empty(tx)? {
                    Ok(Next::GoHome)
                } else {
                    retry() // both branches wait: sleep until something they read changes
                }
            },
        )
    })
}

fn baker(bakery: &Bakery, baker: usize) {
    while let Next::Bake(order) = next_job(bakery) {
        thread::sleep(Duration::from_millis(3)); // baking, outside any transaction
        let loaf = Loaf { order, baker };
        // Free the oven and shelve the loaf in one step.
        atomically(|tx| {
            bakery.ovens.release(tx)?;
            bakery.shelf.push(tx, loaf.clone())
        });
    }
}
// ANCHOR_END: baker

// ANCHOR: manager
/// Counts loaves as they reach the shelf, then hands over the summary.
fn manager(bakery: &Bakery) {
    let total = CLERKS * ORDERS_PER_CLERK;
    let mut per_baker = [0usize; BAKERS];
    for _ in 0..total {
        let loaf = atomically(|tx| bakery.shelf.pop(tx)); // blocks while the shelf is empty
        println!(
            "  shelf: order {}-{} baked by baker {}",
            loaf.order.clerk, loaf.order.number, loaf.baker
        );
        per_baker[loaf.baker - 1] += 1;
    }
    let peak = bakery.ovens_busy_peak.load();
    let summary = format!(
        "{total} loaves baked; per baker {per_baker:?}; at most {peak} of {OVENS} ovens busy at once"
    );
    atomically(|tx| bakery.summary.put(tx, summary.clone()));
}
// ANCHOR_END: manager

fn main() {
    // ANCHOR: main
    let bakery = Bakery {
        counter: TBQueue::new(COUNTER_SPACE),
        ovens: TSem::new(OVENS),
        shelf: TQueue::new(),
        clerks_done: TVar::new(0),
        ovens_busy_peak: TVar::new(0),
        summary: TMVar::new_empty(),
    };
    println!(
        "{CLERKS} clerks, {ORDERS_PER_CLERK} orders each, room for {COUNTER_SPACE} on the counter; \
         {BAKERS} bakers sharing {OVENS} ovens.\n"
    );
    let waits = thread::scope(|s| {
        let bakery = &bakery;
        let clerks: Vec<_> = (0..CLERKS)
            .map(|c| s.spawn(move || clerk(bakery, c + 1)))
            .collect();
        for b in 0..BAKERS {
            s.spawn(move || baker(bakery, b + 1));
        }
        s.spawn(|| manager(bakery));
        clerks.into_iter().map(|c| c.join().unwrap()).sum::<u64>()
    });
    // The owner waits for the manager's summary: `take` blocks until it is put.
    let summary = atomically(|tx| bakery.summary.take(tx));
    // ANCHOR_END: main

    assert!(atomically(|tx| bakery.counter.is_empty(tx)));
    assert!(atomically(|tx| bakery.shelf.is_empty(tx)));
    assert_eq!(atomically(|tx| bakery.ovens.available(tx)), OVENS);
    println!("\n{summary}; the clerks waited {waits} times for room on the counter.");
}
