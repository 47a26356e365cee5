//! Which paths perform atomic read-modify-writes, counted by `sync::rmw`
//! (lock-word and waiter compare-and-swaps, clock ticks, dependents
//! additions, mutex acquisitions and epoch pins): reads perform none.

use crate::sync::rmw;
use crate::{atomically, TVar};

fn bank() -> Vec<TVar<i64>> {
    (0..64).map(|_| TVar::new(100)).collect()
}

fn sum(accounts: &[TVar<i64>]) -> i64 {
    atomically(|tx| {
        let mut total = 0;
        for a in accounts {
            total += a.read(tx)?;
        }
        Ok(total)
    })
}

fn transfer(accounts: &[TVar<i64>], from: usize, to: usize) {
    atomically(|tx| {
        accounts[from].modify(tx, |b| b - 1)?;
        accounts[to].modify(tx, |b| b + 1)
    });
}

#[test]
fn a_read_only_transaction_performs_no_read_modify_write_and_changes_no_lock_word() {
    let accounts = bank();
    assert_eq!(sum(&accounts), 6400); // registers the thread
    let words: Vec<_> = accounts.iter().map(|a| a.core().lock.load()).collect();
    let before = rmw::so_far();
    // Fewer than the 64 attempts between two collections of retired handles:
    // a collection may adopt what exited threads left behind, under a lock.
    for _ in 0..60 {
        assert_eq!(sum(&accounts), 6400);
    }
    assert_eq!(
        rmw::so_far() - before,
        0,
        "read-modify-writes while reading"
    );
    let after: Vec<_> = accounts.iter().map(|a| a.core().lock.load()).collect();
    assert_eq!(words, after, "reading changed a lock word");
}

#[test]
fn a_transfer_performs_exactly_its_two_locks_and_one_clock_tick() {
    let accounts = bank();
    transfer(&accounts, 0, 1);
    let before = rmw::so_far();
    // (Fewer than the 64 attempts between two collections, as above.)
    for i in 0..50 {
        transfer(&accounts, i % 64, (i * 7 + 3) % 64);
    }
    for i in 0..10 {
        transfer(&accounts, i, i);
    }
    let (distinct, same) = (50, 10);
    // Two distinct accounts: two lock words and a tick; the same account
    // twice: one lock word and a tick.
    assert_eq!(rmw::so_far() - before, distinct * 3 + same * 2);
    assert_eq!(sum(&accounts), 6400);
}

#[test]
fn only_boxed_values_pin_the_epoch() {
    let name = TVar::new(String::from("a"));
    let count = TVar::new(0u32);
    atomically(|tx| count.read(tx));
    let before = rmw::so_far();
    atomically(|tx| count.read(tx));
    assert_eq!(rmw::so_far() - before, 0);
    let before = rmw::so_far();
    assert_eq!(atomically(|tx| name.read(tx)), "a");
    assert_eq!(rmw::so_far() - before, 1, "one pin for a boxed read");
}
