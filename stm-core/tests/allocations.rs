//! The common transaction allocates nothing on the heap: logs are reused,
//! word-sized values live inline, and nothing is retired.
//!
//! A counting global allocator counts this thread's allocations (and the
//! blocks it still holds) only, so other tests running in parallel do not
//! disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use steadfast_core::{atomically, TVar};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Blocks allocated minus blocks freed by this thread.
    static LIVE_BLOCKS: Cell<i64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialised thread local, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        let _ = LIVE_BLOCKS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE_BLOCKS.try_with(|c| c.set(c.get() - 1));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(|c| c.get())
}

fn live_blocks() -> i64 {
    LIVE_BLOCKS.with(|c| c.get())
}

fn transfer(accounts: &[TVar<i64>], from: usize, to: usize) {
    atomically(|tx| {
        accounts[from].modify(tx, |b| b - 1)?;
        accounts[to].modify(tx, |b| b + 1)
    });
}

#[test]
fn transfers_and_sums_allocate_nothing_once_warm() {
    let accounts: Vec<TVar<i64>> = (0..64).map(|_| TVar::new(100)).collect();
    let sum = |accounts: &[TVar<i64>]| {
        atomically(|tx| {
            let mut total = 0;
            for a in accounts {
                total += a.read(tx)?;
            }
            Ok(total)
        })
    };
    // Warm up: the first transactions size this thread's reusable logs.
    for i in 0..64 {
        transfer(&accounts, i, (i + 1) % 64);
    }
    assert_eq!(sum(&accounts), 6400);

    let before = allocations();
    for i in 0..10_000usize {
        transfer(&accounts, i % 64, (i * 7 + 3) % 64);
        if i % 100 == 0 {
            assert_eq!(sum(&accounts), 6400);
        }
    }
    let allocated = allocations() - before;
    assert_eq!(
        allocated, 0,
        "{allocated} heap allocations in 10_000 transfers"
    );
}

#[test]
fn boxed_values_allocate_one_box_per_written_variable() {
    // Values that do not fit in a word are published behind a pointer: one
    // allocation per written variable and commit, and nothing else.
    let names: Vec<TVar<(u64, u64)>> = (0..8).map(|i| TVar::new((i, i))).collect();
    for _ in 0..16 {
        atomically(|tx| names[0].modify(tx, |(a, b)| (b, a)));
    }
    let before = allocations();
    for i in 0..1000usize {
        atomically(|tx| {
            names[i % 8].modify(tx, |(a, b)| (b, a))?;
            names[(i + 1) % 8].modify(tx, |(a, b)| (a + 1, b))
        });
    }
    let allocated = allocations() - before;
    assert!(
        allocated <= 2 * 1000 + 64,
        "{allocated} allocations for 2000 boxed writes"
    );
}

/// Running an invariant at commit allocates nothing either: its node, what
/// it read and the lists of nodes to run all live in reused buffers.
#[test]
fn a_checked_commit_allocates_nothing() {
    use std::sync::Arc;
    use steadfast_core::CheckError;
    struct Account {
        balance: TVar<i64>,
    }
    let accounts: Vec<Arc<Account>> = (0..8)
        .map(|_| {
            Arc::new(Account {
                balance: TVar::new(100),
            })
        })
        .collect();
    for account in &accounts {
        atomically(|tx| {
            tx.invariant_owned(String::from("solvent"), account, |a: &Account, tx| {
                if a.balance.read(tx)? >= 0 {
                    Ok(())
                } else {
                    Err(CheckError::violated("overdrawn"))
                }
            })
        });
    }
    for i in 0..64 {
        atomically(|tx| accounts[i % 8].balance.modify(tx, |b| b + 1));
    }
    let before = allocations();
    for i in 0..1000usize {
        atomically(|tx| accounts[i % 8].balance.modify(tx, |b| b + 1));
    }
    let allocated = allocations() - before;
    println!("{allocated} allocations for 1000 checked commits");
    assert!(
        allocated <= 1000,
        "{allocated} allocations for 1000 checked commits"
    );
}

/// An abort hook runs outside the transaction, even between two attempts of
/// it, so it may run transactions of its own; their logs are freed when the
/// hook returns instead of piling up behind the running transaction's.
#[test]
fn transactions_run_by_abort_hooks_between_attempts_leak_nothing() {
    use std::sync::{Arc, Barrier};
    let contended = TVar::new(0i64);
    let counted = TVar::new(0i64);
    // A helper commits to `contended` whenever the body asks, so every
    // round's first attempt fails once.
    let (go, done) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let rounds = 300;
    let helper = {
        let (contended, go, done) = (contended.clone(), go.clone(), done.clone());
        std::thread::spawn(move || {
            for _ in 0..rounds {
                go.wait();
                atomically(|tx| contended.modify(tx, |v| v + 1));
                done.wait();
            }
        })
    };
    let round = || {
        let mut first = true;
        atomically(|tx| {
            let counted = counted.clone();
            tx.on_abort(move || atomically(|tx| counted.modify(tx, |v| v + 1)));
            let v = contended.read(tx)?;
            if std::mem::take(&mut first) {
                go.wait();
                done.wait();
            }
            contended.write(tx, v + 1)
        });
    };
    for _ in 0..20 {
        round();
    }
    let before = live_blocks();
    for _ in 20..rounds {
        round();
    }
    let grown = live_blocks() - before;
    helper.join().unwrap();
    assert_eq!(
        counted.load(),
        rounds as i64,
        "one failed attempt per round"
    );
    assert_eq!(contended.load(), 2 * rounds as i64);
    assert!(
        grown < 20,
        "{grown} more blocks held after {} rounds",
        rounds - 20
    );
}
