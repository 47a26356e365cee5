//! Contention: conservation laws under many concurrent transactions, readers
//! that check them inside their bodies, blocking transfers, invariants that
//! must refuse every bad commit, and progress for everyone.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use steadfast_core::*;

mod common;
use common::{next, within};

fn bank(n: usize, each: i64) -> Arc<Vec<TVar<i64>>> {
    Arc::new((0..n).map(|_| TVar::new(each)).collect())
}

fn total(accounts: &[TVar<i64>]) -> i64 {
    accounts.iter().map(|a| a.load()).sum()
}

/// Sums every account inside a transaction and asserts the total there,
/// before the transaction commits.
fn audit(accounts: &[TVar<i64>], expected: i64) {
    atomically(|tx| {
        let mut sum = 0;
        for a in accounts {
            sum += a.read(tx)?;
        }
        assert_eq!(sum, expected, "a reader saw money appear or vanish");
        Ok(())
    });
}

/// One million random transfers between 64 accounts from two threads, while
/// two readers audit the total inside their transactions.
#[test]
fn a_million_transfers_conserve_money() {
    const ACCOUNTS: usize = 64;
    const WRITERS: u64 = 2;
    const TRANSFERS: u64 = 1_000_000;
    const TOTAL: i64 = 1_000 * ACCOUNTS as i64;
    let accounts = bank(ACCOUNTS, 1_000);
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let accounts = accounts.clone();
            thread::spawn(move || {
                let before = thread_stats();
                let mut seed = 0x9E3779B97F4A7C15 ^ (t + 1);
                for _ in 0..TRANSFERS / WRITERS {
                    let r = next(&mut seed);
                    let from = (r % ACCOUNTS as u64) as usize;
                    let to = ((r >> 8) % ACCOUNTS as u64) as usize;
                    let amount = ((r >> 16) % 50) as i64;
                    atomically(|tx| {
                        accounts[from].modify(tx, |b| b - amount)?;
                        accounts[to].modify(tx, |b| b + amount)
                    });
                }
                thread_stats() - before
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (accounts, done) = (accounts.clone(), done.clone());
            thread::spawn(move || {
                let mut audits = 0u64;
                while !done.load(Ordering::Relaxed) || audits < 10 {
                    audit(&accounts, TOTAL);
                    audits += 1;
                    // Audits are long; leave the cores mostly to the writers.
                    thread::sleep(Duration::from_micros(200));
                }
                audits
            })
        })
        .collect();
    let mut commits = 0;
    for w in writers {
        commits += w.join().unwrap().commits;
    }
    done.store(true, Ordering::Relaxed);
    let audits: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(commits, TRANSFERS);
    assert_eq!(total(&accounts), TOTAL);
    eprintln!(
        "{TRANSFERS} transfers and {audits} audits in {:?}",
        started.elapsed()
    );
}

/// Four accounts, four threads: the highest conflict rate. Money is
/// conserved in every round, audited inside transactions during the round,
/// and every thread finishes its share.
#[test]
fn hot_accounts_conserve_money_in_every_round() {
    const ACCOUNTS: usize = 4;
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 10_000;
    for round in 0..5u64 {
        let accounts = bank(ACCOUNTS, 100);
        let barrier = Arc::new(Barrier::new(THREADS as usize));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (accounts, barrier) = (accounts.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    let mut seed = 0xC0FFEE ^ (t * 7919 + round + 1);
                    for i in 0..PER_THREAD {
                        let r = next(&mut seed);
                        let from = (r % ACCOUNTS as u64) as usize;
                        let to = ((r >> 8) % ACCOUNTS as u64) as usize;
                        atomically(|tx| {
                            let amount = accounts[from].read(tx)? / 2;
                            accounts[from].modify(tx, |b| b - amount)?;
                            accounts[to].modify(tx, |b| b + amount)
                        });
                        if i % 64 == t {
                            audit(&accounts, 400);
                        }
                    }
                })
            })
            .collect();
        within(120, "a hot round", move || {
            for w in workers {
                w.join().unwrap();
            }
        });
        assert_eq!(total(&accounts), 400, "round {round}");
        assert!(accounts.iter().all(|a| a.load() >= 0), "round {round}");
    }
}

/// Transfers that block with `retry` until the source can pay: two threads
/// push money in opposite directions, so each regularly waits for the other.
/// Nobody deadlocks, nobody overdraws, nothing is lost.
#[test]
fn blocking_transfers_conserve_money_and_finish() {
    const MOVES: u64 = 20_000;
    let x = TVar::new(3i64);
    let y = TVar::new(0i64);
    let retries = Arc::new(AtomicU64::new(0));
    let mover = |from: TVar<i64>, to: TVar<i64>, retries: Arc<AtomicU64>| {
        thread::spawn(move || {
            let before = thread_stats();
            for _ in 0..MOVES {
                atomically(|tx| {
                    let balance = from.read(tx)?;
                    if balance < 1 {
                        return retry();
                    }
                    assert!(balance + to.read(tx)? == 3, "torn snapshot");
                    from.write(tx, balance - 1)?;
                    to.modify(tx, |b| b + 1)
                });
            }
            retries.fetch_add((thread_stats() - before).retries, Ordering::Relaxed);
        })
    };
    let a = mover(x.clone(), y.clone(), retries.clone());
    let b = mover(y.clone(), x.clone(), retries.clone());
    within(120, "blocking transfers", move || {
        a.join().unwrap();
        b.join().unwrap();
    });
    assert_eq!((x.load(), y.load()), (3, 0));
    assert!(
        retries.load(Ordering::Relaxed) > 0,
        "no transfer ever had to wait"
    );
}

/// Under contention an invariant refuses every bad commit: honest transfers
/// and dishonest mints race on four accounts guarded by "money is
/// conserved", and not a single mint gets through.
#[test]
fn an_invariant_refuses_every_bad_commit_under_contention() {
    const ACCOUNTS: usize = 4;
    let accounts = bank(ACCOUNTS, 100);
    {
        let acc = accounts.clone();
        atomically(|tx| {
            let acc = acc.clone();
            tx.invariant("money is conserved", move |tx| {
                let mut sum = 0;
                for a in acc.iter() {
                    sum += a.read(tx)?;
                }
                if sum == 400 {
                    Ok(())
                } else {
                    Err(CheckError::violated(format!("total is {sum}")))
                }
            })
        });
    }
    let honest: Vec<_> = (0..2u64)
        .map(|t| {
            let accounts = accounts.clone();
            thread::spawn(move || {
                let mut seed = 0xBADC0DE ^ (t + 1);
                for _ in 0..10_000 {
                    let r = next(&mut seed);
                    let (from, to) = ((r % 4) as usize, ((r >> 8) % 4) as usize);
                    atomically(|tx| {
                        accounts[from].modify(tx, |b| b - 3)?;
                        accounts[to].modify(tx, |b| b + 3)
                    });
                }
            })
        })
        .collect();
    let minter = {
        let accounts = accounts.clone();
        thread::spawn(move || {
            let mut refused = 0u64;
            for i in 0..5_000usize {
                let r: Result<(), TransactionError<()>> =
                    try_atomically(|tx| Ok(accounts[i % 4].modify(tx, |b| b + 1)?));
                let e = r.expect_err("a mint was committed");
                assert_eq!(
                    e.invariant_violation().unwrap().invariant,
                    "money is conserved"
                );
                refused += 1;
            }
            refused
        })
    };
    for h in honest {
        h.join().unwrap();
    }
    assert_eq!(minter.join().unwrap(), 5_000);
    assert_eq!(total(&accounts), 400);
}

/// Every thread makes progress under maximum contention on one variable,
/// with a mix of short writers and long readers of many variables: all
/// finish, the counter is exact, and the readers see consistent states.
#[test]
fn everyone_finishes_under_contention() {
    const N: usize = 128;
    let counter = TVar::new(0u64);
    let mirror: Arc<Vec<TVar<u64>>> = Arc::new((0..N).map(|_| TVar::new(0)).collect());
    let incrementers: Vec<_> = (0..3)
        .map(|_| {
            let (counter, mirror) = (counter.clone(), mirror.clone());
            thread::spawn(move || {
                for i in 0..5_000usize {
                    atomically(|tx| {
                        let c = counter.read(tx)?;
                        counter.write(tx, c + 1)?;
                        // Keeps `sum(mirror) == counter`.
                        mirror[i % N].modify(tx, |m| m + 1)
                    });
                }
            })
        })
        .collect();
    let reader = {
        let (counter, mirror) = (counter.clone(), mirror.clone());
        thread::spawn(move || {
            for _ in 0..200 {
                atomically(|tx| {
                    let mut sum = 0;
                    for m in mirror.iter() {
                        sum += m.read(tx)?;
                    }
                    assert_eq!(sum, counter.read(tx)?, "torn snapshot");
                    Ok(())
                });
            }
        })
    };
    within(120, "contended increments", move || {
        for h in incrementers {
            h.join().unwrap();
        }
        reader.join().unwrap();
    });
    assert_eq!(counter.load(), 15_000);
    assert_eq!(mirror.iter().map(|m| m.load()).sum::<u64>(), 15_000);
}
