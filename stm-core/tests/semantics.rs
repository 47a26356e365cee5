//! What a transaction promises: opacity, rollback on errors and panics,
//! blocking `retry` without busy waiting or lost wake-ups, `or_else`, nesting
//! errors, hooks, unbounded read/write sets, progress, and error values.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;
use steadfast_core::*;

mod common;
use common::{next, panic_message, within};

/// Commits a change to `var` from another thread while the caller's
/// transaction is running, so the caller's attempt is bound to conflict.
fn interfere(var: &TVar<i64>) {
    let var = var.clone();
    thread::spawn(move || atomically(|tx| var.modify(tx, |v| v + 1)))
        .join()
        .unwrap();
}

// ---- opacity ------------------------------------------------------------------

/// Writers keep `sum(vars) == 0`; readers assert it inside the body, before
/// commit, so a single torn snapshot fails the test.
#[test]
fn opacity_readers_never_see_a_broken_sum() {
    const N: usize = 8;
    let vars: Arc<Vec<TVar<i64>>> = Arc::new((0..N).map(|_| TVar::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let vars = vars.clone();
            thread::spawn(move || {
                let mut seed = 0x2545F4914F6CDD1D ^ (t + 1);
                for _ in 0..20_000 {
                    let r = next(&mut seed);
                    let i = (r % N as u64) as usize;
                    let j = ((r >> 16) % N as u64) as usize;
                    let x = (r >> 32) as i64 % 1000;
                    // Moves x from j to i: the sum stays zero.
                    atomically(|tx| {
                        vars[i].modify(tx, |v| v + x)?;
                        vars[j].modify(tx, |v| v - x)
                    });
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (vars, done) = (vars.clone(), done.clone());
            thread::spawn(move || {
                let mut checks = 0u64;
                while !done.load(Ordering::Relaxed) || checks < 1000 {
                    atomically(|tx| {
                        let mut sum = 0;
                        for v in vars.iter() {
                            sum += v.read(tx)?;
                            std::hint::spin_loop();
                        }
                        assert_eq!(sum, 0, "a running transaction saw a torn snapshot");
                        Ok(())
                    });
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() >= 1000);
    }
    assert_eq!(vars.iter().map(|v| v.load()).sum::<i64>(), 0);
}

/// Writers write `a = x, b = -x`; readers assert `a + b == 0` in the body.
/// Boxed (non word-sized) values take the other publication path.
#[test]
fn opacity_holds_for_boxed_values() {
    let a = TVar::new((0i64, String::from("0")));
    let b = TVar::new((0i64, String::from("0")));
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                let mut seed = 0x9E3779B97F4A7C15 ^ (t + 7);
                for _ in 0..10_000 {
                    let x = (next(&mut seed) % 1_000_000) as i64;
                    atomically(|tx| {
                        a.write(tx, (x, x.to_string()))?;
                        b.write(tx, (-x, (-x).to_string()))
                    });
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (a, b, done) = (a.clone(), b.clone(), done.clone());
            thread::spawn(move || {
                let mut checks = 0u64;
                while !done.load(Ordering::Relaxed) || checks < 500 {
                    atomically(|tx| {
                        let ((x, xs), (y, ys)) = if checks.is_multiple_of(2) {
                            (a.read(tx)?, b.read(tx)?)
                        } else {
                            // Borrowed, not cloned: the same snapshot.
                            (
                                a.read_with(tx, Clone::clone)?,
                                b.read_with(tx, Clone::clone)?,
                            )
                        };
                        assert_eq!(x + y, 0, "torn snapshot");
                        assert_eq!(xs.parse::<i64>().unwrap(), x);
                        assert_eq!(ys.parse::<i64>().unwrap(), y);
                        Ok(())
                    });
                    checks += 1;
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
}

/// Writers keep `a == b`; a reader divides by `a - b + 1` in the body, which
/// only a torn snapshot could make zero.
#[test]
fn opacity_reader_never_divides_by_zero() {
    let a = TVar::new(0i64);
    let b = TVar::new(0i64);
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                for _ in 0..20_000 {
                    atomically(|tx| {
                        a.modify(tx, |v| v + 1)?;
                        b.modify(tx, |v| v + 1)
                    });
                }
            })
        })
        .collect();
    let reader = {
        let (a, b, done) = (a.clone(), b.clone(), done.clone());
        thread::spawn(move || {
            let mut checks = 0u64;
            while !done.load(Ordering::Relaxed) || checks < 1000 {
                let q = atomically(|tx| {
                    let x = a.read(tx)?;
                    std::hint::spin_loop();
                    let y = b.read(tx)?;
                    // Panics on a torn snapshot (x == y + 1 gives zero).
                    Ok(100 / std::hint::black_box(x - y + 1))
                });
                assert_eq!(q, 100);
                checks += 1;
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    assert_eq!(a.load(), 40_000);
    assert_eq!(b.load(), 40_000);
}

/// A transaction reading one variable, then another that a concurrent
/// commit changed together with the first, is re-run: it never returns a
/// mix of old and new values.
#[test]
fn a_conflicting_attempt_is_rerun_invisibly() {
    let a = TVar::new(0i64);
    let b = TVar::new(0i64);
    let runs = Cell::new(0);
    let (x, y) = atomically(|tx| {
        runs.set(runs.get() + 1);
        let x = a.read(tx)?;
        if runs.get() == 1 {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                atomically(|tx| {
                    a.write(tx, 1)?;
                    b.write(tx, 1)
                })
            })
            .join()
            .unwrap();
        }
        let y = b.read(tx)?;
        Ok((x, y))
    });
    assert_eq!((x, y), (1, 1));
    assert_eq!(runs.get(), 2);
}

// ---- rollback -------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq, Clone)]
enum ShopError {
    OutOfStock { wanted: u32, left: u32 },
}

#[test]
fn user_error_rolls_back_every_write_and_reaches_the_caller_typed() {
    let stock = TVar::new(3u32);
    let sold = TVar::new(0u32);
    let log = TVar::new(Vec::<String>::new());
    let fresh = TVar::new(String::from("untouched"));
    let aborts = Rc::new(Cell::new(0));
    let commits = Rc::new(Cell::new(0));
    let before = thread_stats();
    let r: Result<(), TransactionError<ShopError>> = try_atomically(|tx| {
        let (a, c) = (aborts.clone(), commits.clone());
        tx.on_abort(move || a.set(a.get() + 1));
        tx.on_commit(move || c.set(c.get() + 1));
        let left = stock.read(tx)?;
        stock.write(tx, 0)?;
        sold.modify(tx, |s| s + left)?;
        log.modify(tx, |mut l| {
            l.push("sold out".into());
            l
        })?;
        fresh.write(tx, "changed".into())?;
        if left < 5 {
            return abort(ShopError::OutOfStock { wanted: 5, left });
        }
        Ok(())
    });
    assert_eq!(
        r,
        Err(TransactionError::Aborted(ShopError::OutOfStock {
            wanted: 5,
            left: 3
        }))
    );
    assert_eq!(stock.load(), 3);
    assert_eq!(sold.load(), 0);
    assert!(log.load().is_empty());
    assert_eq!(fresh.load(), "untouched");
    assert_eq!((aborts.get(), commits.get()), (1, 0));
    let d = thread_stats() - before;
    assert_eq!((d.user_aborts, d.commits), (1, 0));
    // Nothing was left locked: the variables are usable at once.
    atomically(|tx| stock.modify(tx, |s| s + 1));
    assert_eq!(stock.load(), 4);
}

#[test]
fn panic_rolls_back_releases_locks_and_propagates() {
    let a = TVar::new(1i64);
    let b = TVar::new(vec![1, 2, 3]);
    let aborts = Rc::new(Cell::new(0));
    let result = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            let n = aborts.clone();
            tx.on_abort(move || n.set(n.get() + 1));
            a.write(tx, 100)?;
            b.write(tx, vec![])?;
            if a.read(tx)? == 100 {
                panic!("boom in the body");
            }
            Ok(())
        })
    }));
    let panic = result.expect_err("the panic propagates");
    assert_eq!(panic_message(&*panic), "boom in the body");
    assert_eq!(aborts.get(), 1);
    assert_eq!(a.load(), 1);
    assert_eq!(b.load(), vec![1, 2, 3]);
    assert!(!in_transaction());
    // Usable from another thread (a leaked lock would make it spin forever).
    let (a2, b2) = (a.clone(), b.clone());
    within(30, "writing after a panic", move || {
        atomically(|tx| {
            a2.modify(tx, |v| v + 1)?;
            b2.modify(tx, |mut v| {
                v.push(4);
                v
            })
        })
    });
    assert_eq!(a.load(), 2);
    assert_eq!(b.load(), vec![1, 2, 3, 4]);
    // And this thread's next transaction starts clean: it publishes only its
    // own write.
    let c = TVar::new(0i64);
    atomically(|tx| c.write(tx, 7));
    assert_eq!((a.load(), c.load()), (2, 7));
}

/// A panic while a lazy cache is computing inside the body leaves the cache
/// empty and every variable unlocked.
#[test]
fn panic_inside_a_cache_computation_rolls_back() {
    let x = TVar::new(5i64);
    let cache: LazyCache<i64> = LazyCache::new();
    let r = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            x.write(tx, 6)?;
            cache.get(tx, |_tx| -> StmResult<i64> { panic!("compute failed") })
        })
    }));
    assert!(r.is_err());
    assert!(!cache.is_filled());
    assert_eq!(x.load(), 5);
    assert_eq!(atomically(|tx| cache.get(tx, |tx| x.read(tx))), 5);
}

// ---- retry ----------------------------------------------------------------------

#[test]
fn retry_blocks_without_busy_waiting_and_wakes_on_change() {
    let flag = TVar::new(false);
    let runs = Arc::new(AtomicUsize::new(0));
    let waiter = {
        let (flag, runs) = (flag.clone(), runs.clone());
        thread::spawn(move || {
            let before = thread_stats();
            atomically(|tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                if flag.read(tx)? {
                    Ok(())
                } else {
                    retry()
                }
            });
            thread_stats() - before
        })
    };
    thread::sleep(Duration::from_millis(200));
    let runs_while_blocked = runs.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&runs_while_blocked),
        "a blocked transaction ran {runs_while_blocked} times in 200ms"
    );
    atomically(|tx| flag.write(tx, true));
    let stats = within(30, "waking the retrying transaction", move || {
        waiter.join().unwrap()
    });
    let total = runs.load(Ordering::SeqCst);
    assert!((2..=3).contains(&total), "ran {total} times");
    assert_eq!(stats.commits, 1);
    assert!(stats.retries >= 1);
}

/// `modify` logs its read inside its write entry: a retry after it still
/// waits on the variable, and a change to it still fails the commit.
#[test]
fn retry_after_modify_waits_on_the_modified_variable() {
    let stock = TVar::new(0u32);
    let waiter = {
        let stock = stock.clone();
        thread::spawn(move || {
            atomically(|tx| {
                stock.modify(tx, |s| s)?;
                if stock.read(tx)? < 5 {
                    retry()
                } else {
                    stock.modify(tx, |s| s - 5)
                }
            })
        })
    };
    thread::sleep(Duration::from_millis(100));
    atomically(|tx| stock.write(tx, 7));
    within(30, "waking a retry that only modified", move || {
        waiter.join().unwrap()
    });
    assert_eq!(stock.load(), 2);
}

/// Two threads that only `modify` the same counter lose no increment: the
/// read folded into each write entry is validated at commit.
#[test]
fn concurrent_modifies_lose_no_update() {
    let counter = Arc::new(TVar::new(0u64));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let counter = counter.clone();
            thread::spawn(move || {
                for _ in 0..50_000 {
                    atomically(|tx| counter.modify(tx, |c| c + 1));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(counter.load(), 100_000);
}

/// A commit that publishes plain values and then meets one it cannot
/// publish the quick way (a boxed value, or a variable someone waits on)
/// hands the rest over without publishing anything twice or skipping
/// anything: another writer's increments of the first variable all survive,
/// and every boxed value arrives.
#[test]
fn commits_handing_over_midway_lose_no_update() {
    const ROUNDS: i64 = 100_000;
    let counter = Arc::new(TVar::new(0i64));
    let label = Arc::new(TVar::new(String::new()));
    let start = Arc::new(Barrier::new(2));
    let mixed = {
        let (counter, label, start) = (counter.clone(), label.clone(), start.clone());
        thread::spawn(move || {
            start.wait();
            for i in 0..ROUNDS {
                atomically(|tx| {
                    counter.modify(tx, |c| c + 1)?;
                    label.write(tx, format!("round {i}"))
                });
            }
        })
    };
    start.wait();
    for _ in 0..ROUNDS {
        atomically(|tx| counter.modify(tx, |c| c + 1));
    }
    mixed.join().unwrap();
    assert_eq!(counter.load(), 2 * ROUNDS);
    assert_eq!(label.load(), format!("round {}", ROUNDS - 1));
}

/// A waiter on the second variable a commit writes is woken, and both
/// values are published, though the first went out before the waiter was
/// noticed.
#[test]
fn a_waiter_on_a_later_write_of_a_commit_is_woken() {
    let first = TVar::new(0i64);
    let second = TVar::new(0i64);
    for round in 1..=20 {
        let waiter = {
            let (first, second) = (first.clone(), second.clone());
            thread::spawn(move || {
                atomically(|tx| {
                    let seen = second.read(tx)?;
                    if seen < round {
                        return retry();
                    }
                    Ok((first.read(tx)?, seen))
                })
            })
        };
        thread::sleep(Duration::from_millis(10));
        atomically(|tx| {
            first.write(tx, round * 10)?;
            second.write(tx, round)
        });
        let seen = within(
            30,
            "waking a waiter on a commit's second write",
            move || waiter.join().unwrap(),
        );
        assert_eq!(seen, (round * 10, round));
    }
}

/// Writing a variable the waiter did not read does not wake it; writing the
/// second of two variables it read does.
#[test]
fn retry_wakes_only_for_variables_it_read() {
    let a = TVar::new(0i64);
    let b = TVar::new(0i64);
    let unrelated = TVar::new(0i64);
    let runs = Arc::new(AtomicUsize::new(0));
    let waiter = {
        let (a, b, runs) = (a.clone(), b.clone(), runs.clone());
        thread::spawn(move || {
            atomically(|tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                let sum = a.read(tx)? + b.read(tx)?;
                if sum > 0 {
                    Ok(sum)
                } else {
                    retry()
                }
            })
        })
    };
    thread::sleep(Duration::from_millis(50));
    for i in 0..20 {
        atomically(|tx| unrelated.write(tx, i));
    }
    thread::sleep(Duration::from_millis(50));
    let runs_before = runs.load(Ordering::SeqCst);
    assert!(
        runs_before <= 2,
        "woken by unrelated writes: {runs_before} runs"
    );
    atomically(|tx| b.write(tx, 5));
    assert_eq!(within(30, "wake on b", move || waiter.join().unwrap()), 5);
}

/// Two threads hand a token back and forth through `retry`; a single lost
/// wake-up would hang both.
#[test]
fn ping_pong_through_retry_loses_no_wake_up() {
    const ROUNDS: u64 = 2_000;
    let turn = TVar::new(0u64);
    within(120, "ping-pong", move || {
        let players: Vec<_> = (0..2u64)
            .map(|me| {
                let turn = turn.clone();
                thread::spawn(move || {
                    for round in 0..ROUNDS {
                        atomically(|tx| {
                            let t = turn.read(tx)?;
                            if t % 2 != me {
                                return retry();
                            }
                            assert_eq!(t, 2 * round + me);
                            turn.write(tx, t + 1)
                        });
                    }
                })
            })
            .collect();
        for p in players {
            p.join().unwrap();
        }
        assert_eq!(turn.load(), 2 * ROUNDS);
    });
}

/// Several waiters on one variable, woken by one commit each round.
#[test]
fn many_waiters_are_all_woken() {
    let gate = TVar::new(0u64);
    let passed = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let (gate, passed) = (gate.clone(), passed.clone());
            thread::spawn(move || {
                for round in 1..=50u64 {
                    atomically(|tx| {
                        if gate.read(tx)? >= round {
                            Ok(())
                        } else {
                            retry()
                        }
                    });
                    passed.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    within(60, "opening the gate 50 times", move || {
        for round in 1..=50u64 {
            atomically(|tx| gate.write(tx, round));
            // Wait until everyone went through before the next round.
            while passed.load(Ordering::SeqCst) < 4 * round as usize {
                thread::yield_now();
            }
        }
        for w in waiters {
            w.join().unwrap();
        }
    });
}

/// `atomically_or_failure` returns what `atomically` would panic with, and
/// nothing else: its value, every kind of failure as `Err`, a panic of the
/// body as a panic, nesting refused like `atomically`.
#[test]
fn atomically_or_failure_returns_failures_and_nothing_else() {
    let a = TVar::new(1i64);
    assert_eq!(atomically_or_failure(|tx| a.read(tx)), Ok(1));

    let r = atomically_or_failure(|tx| {
        a.write(tx, 2)?;
        retry::<()>()
    });
    assert_eq!(r, Err(Failure::RetryWithoutReads));
    assert_eq!(a.load(), 1);

    let panic = catch_unwind(AssertUnwindSafe(|| {
        atomically_or_failure(|tx| -> StmResult<()> {
            a.write(tx, 3)?;
            panic!("the body panics");
        })
    }))
    .unwrap_err();
    assert_eq!(panic_message(&*panic), "the body panics");
    assert_eq!(a.load(), 1);

    let panic = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            a.write(tx, 4)?;
            let _ = atomically_or_failure(|tx2| a.read(tx2));
            Ok(())
        })
    }))
    .unwrap_err();
    assert!(panic_message(&*panic).contains("&mut Transaction"));
    assert_eq!(a.load(), 1);
    assert!(!in_transaction());
}

#[test]
fn retry_without_reads_fails_with_a_clear_message() {
    let r = try_atomically::<(), (), _>(|_tx| Ok(retry()?));
    assert_eq!(r, Err(TransactionError::Failed(Failure::RetryWithoutReads)));

    // Reading only what the transaction wrote itself cannot wake it either.
    let a = TVar::new(0);
    let r = try_atomically::<(), (), _>(|tx| {
        a.write(tx, 1)?;
        if a.read(tx)? == 1 {
            retry()?;
        }
        Ok(())
    });
    assert_eq!(r, Err(TransactionError::Failed(Failure::RetryWithoutReads)));
    assert_eq!(a.load(), 0);

    let panic = catch_unwind(|| atomically(|_tx| retry::<()>())).unwrap_err();
    let msg = panic_message(&*panic);
    assert!(msg.contains("retry()"), "{msg}");
    assert!(msg.contains("read no transactional variable"), "{msg}");
    assert!(!in_transaction());
}

// ---- or_else --------------------------------------------------------------------

#[test]
fn or_else_undoes_the_first_branch_and_runs_the_second() {
    let a = TVar::new(1i64);
    let b = TVar::new(2i64);
    let c = TVar::new(String::from("c"));
    let commits = Rc::new(Cell::new(Vec::new()));
    let aborts = Rc::new(Cell::new(0));
    let r = atomically(|tx| {
        a.write(tx, 10)?; // before the branch: kept
        tx.or_else(
            |tx| {
                let log = commits.clone();
                tx.on_commit(move || {
                    let mut v = log.take();
                    v.push("first");
                    log.set(v)
                });
                let n = aborts.clone();
                tx.on_abort(move || n.set(n.get() + 1));
                a.write(tx, 100)?;
                b.write(tx, 200)?;
                c.write(tx, "first".into())?;
                retry()
            },
            |tx| {
                let log = commits.clone();
                tx.on_commit(move || {
                    let mut v = log.take();
                    v.push("second");
                    log.set(v)
                });
                // The first branch's writes are gone; earlier writes remain.
                assert_eq!(a.read(tx)?, 10);
                assert_eq!(b.read(tx)?, 2);
                assert_eq!(c.read(tx)?, "c");
                b.write(tx, 20)?;
                Ok("second")
            },
        )
    });
    assert_eq!(r, "second");
    assert_eq!((a.load(), b.load(), c.load()), (10, 20, "c".to_string()));
    assert_eq!(commits.take(), vec!["second"]);
    // The rolled-back branch's abort hook ran at the rollback.
    assert_eq!(aborts.get(), 1);
}

/// The second branch sees the same snapshot as the first: under concurrent
/// writers that keep `a + b == 0`, a value read in the first branch and one
/// read in the second always add up.
#[test]
fn or_else_second_branch_runs_on_the_same_snapshot() {
    let a = TVar::new(0i64);
    let b = TVar::new(0i64);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (a, b, done) = (a.clone(), b.clone(), done.clone());
        thread::spawn(move || {
            let mut x = 0;
            while !done.load(Ordering::Relaxed) {
                x += 1;
                atomically(|tx| {
                    a.write(tx, x)?;
                    b.write(tx, -x)
                });
            }
        })
    };
    for _ in 0..5_000 {
        atomically(|tx| {
            let seen_a = Cell::new(None);
            let y = tx.or_else(
                |tx| {
                    seen_a.set(Some(a.read(tx)?));
                    retry()
                },
                |tx| b.read(tx),
            )?;
            assert_eq!(
                seen_a.get().unwrap() + y,
                0,
                "branches saw different snapshots"
            );
            Ok(())
        });
    }
    done.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

#[test]
fn nested_or_else_restores_each_level() {
    let a = TVar::new(0i64);
    let b = TVar::new(0i64);
    let c = TVar::new(0i64);
    let r = atomically(|tx| {
        a.write(tx, 1)?;
        tx.or_else(
            |tx| {
                a.write(tx, 2)?;
                let inner = tx.or_else(
                    |tx| {
                        a.write(tx, 3)?;
                        b.write(tx, 3)?;
                        retry()
                    },
                    |tx| {
                        // The inner first branch is undone, the outer one's write kept.
                        assert_eq!(a.read(tx)?, 2);
                        assert_eq!(b.read(tx)?, 0);
                        a.write(tx, 4)?;
                        Ok("inner second")
                    },
                )?;
                assert_eq!(inner, "inner second");
                assert_eq!(a.read(tx)?, 4);
                b.write(tx, 4)?;
                // Now the whole outer first branch gives up.
                retry()
            },
            |tx| {
                assert_eq!(a.read(tx)?, 1);
                assert_eq!(b.read(tx)?, 0);
                let x = a.read(tx)?;
                c.write(tx, x + 10)?;
                Ok("outer second")
            },
        )
    });
    assert_eq!(r, "outer second");
    assert_eq!((a.load(), b.load(), c.load()), (1, 0, 11));

    // An inner alternative that succeeds commits through the outer branch.
    let r = atomically(|tx| {
        tx.or_else(
            |tx| {
                tx.or_else(
                    |tx| {
                        a.write(tx, 50)?;
                        retry()
                    },
                    |tx| {
                        b.write(tx, 60)?;
                        Ok(1)
                    },
                )
            },
            |_tx| Ok(2),
        )
    });
    assert_eq!(r, 1);
    assert_eq!((a.load(), b.load()), (1, 60));
}

#[test]
fn an_or_else_after_a_kept_branch_still_rolls_back() {
    // A variable written by an earlier or_else branch that was kept, then by a
    // later branch that retries: the later branch must be undone. (With undo
    // bookkeeping by nesting depth, both branches had depth 1, the later write
    // overwrote the earlier one in place and could not be undone.)
    let x = TVar::new(0i64);
    let r = atomically(|tx| {
        tx.or_else(|tx| x.write(tx, 1), |_tx| unreachable!())?;
        tx.or_else(
            |tx| {
                x.write(tx, 2)?;
                retry()
            },
            |tx| x.read(tx),
        )
    });
    assert_eq!(r, 1);
    assert_eq!(x.load(), 1);

    // The same one level down: the kept branch is nested in the one that retries.
    let r = atomically(|tx| {
        x.write(tx, 10)?;
        tx.or_else(
            |tx| {
                tx.or_else(|tx| x.write(tx, 20), |_tx| unreachable!())?;
                tx.or_else(|tx| x.write(tx, 30), |_tx| unreachable!())?;
                assert_eq!(x.read(tx)?, 30);
                retry()
            },
            |tx| x.read(tx),
        )
    });
    assert_eq!(r, 10);
    assert_eq!(x.load(), 10);
}

/// A value that counts its clones.
struct Counted {
    items: Vec<u32>,
    clones: Arc<AtomicUsize>,
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::SeqCst);
        Counted {
            items: self.items.clone(),
            clones: self.clones.clone(),
        }
    }
}

#[test]
fn update_copies_a_boxed_value_once_per_transaction() {
    let clones = Arc::new(AtomicUsize::new(0));
    let v = TVar::new(Counted {
        items: vec![],
        clones: clones.clone(),
    });
    // Once this thread has seen the variable's version, reading it needs no
    // second look (which would copy it again).
    atomically(|tx| v.update(tx, |_| ()));
    clones.store(0, Ordering::SeqCst);
    let len = atomically(|tx| {
        for i in 0..10 {
            v.update(tx, |c| c.items.push(i))?;
        }
        v.update(tx, |c| c.items.len())
    });
    assert_eq!(len, 10);
    assert_eq!(
        clones.load(Ordering::SeqCst),
        1,
        "only the first update copies"
    );
    assert_eq!(v.load().items, (0..10).collect::<Vec<_>>());
    // A write followed by updates copies nothing at all.
    clones.store(0, Ordering::SeqCst);
    atomically(|tx| {
        let fresh = Counted {
            items: vec![7],
            clones: clones.clone(),
        };
        v.write(tx, fresh)?;
        v.update(tx, |c| c.items.push(8))
    });
    assert_eq!(clones.load(Ordering::SeqCst), 0);
    assert_eq!(v.load().items, [7, 8]);
}

#[test]
fn read_with_lends_the_value_it_would_read_without_copying_it() {
    let clones = Arc::new(AtomicUsize::new(0));
    let v = TVar::new(Counted {
        items: vec![1, 2],
        clones: clones.clone(),
    });
    let n = TVar::new(5i64);
    let seen = atomically(|tx| {
        let committed = v.read_with(tx, |c| c.items.len())?;
        let fresh = Counted {
            items: vec![9],
            clones: clones.clone(),
        };
        v.write(tx, fresh)?;
        n.write(tx, 6)?;
        // Its own writes, boxed and inline.
        let own = v.read_with(tx, |c| c.items.clone())?;
        Ok((committed, own, n.read_with(tx, |n| *n)?))
    });
    assert_eq!(seen, (2, vec![9], 6));
    assert_eq!(clones.load(Ordering::SeqCst), 0, "nothing was cloned");
}

#[test]
fn read_with_reads_values_that_cannot_be_cloned() {
    struct Config {
        limit: u32,
    }
    let config = TVar::new(Config { limit: 3 });
    assert_eq!(atomically(|tx| config.read_with(tx, |c| c.limit)), 3);
}

#[test]
fn retry_after_read_with_wakes_on_a_change() {
    let queue = TVar::new(Vec::<u32>::new());
    let q2 = queue.clone();
    let consumer = thread::spawn(move || {
        atomically(|tx| match q2.read_with(tx, |q| q.first().copied())? {
            Some(first) => Ok(first),
            None => retry(),
        })
    });
    thread::sleep(Duration::from_millis(20));
    atomically(|tx| queue.update(tx, |q| q.push(42)));
    let first = within(10, "the consumer to wake", move || consumer.join().unwrap());
    assert_eq!(first, 42);
}

#[test]
fn updates_in_a_retried_or_else_branch_are_undone() {
    let v = TVar::new(vec![1]);
    let n = TVar::new(0i64);
    let r = atomically(|tx| {
        v.update(tx, |l| l.push(2))?; // before the branch: kept
        tx.or_else(
            |tx| {
                // The first update in the branch saves the kept value; the
                // next ones change the branch's copy in place.
                v.update(tx, |l| l.push(3))?;
                v.update(tx, |l| l.push(4))?;
                n.update(tx, |n| *n += 1)?;
                assert_eq!(v.read(tx)?, [1, 2, 3, 4]);
                retry()
            },
            |tx| {
                assert_eq!(v.read(tx)?, [1, 2]);
                assert_eq!(n.read(tx)?, 0);
                v.update(tx, |l| l.push(5))?;
                Ok("second")
            },
        )?;
        v.update(tx, |l| l.len())
    });
    assert_eq!(r, 3);
    assert_eq!((v.load(), n.load()), (vec![1, 2, 5], 0));
}

#[test]
fn an_update_that_panics_changes_nothing() {
    let v = TVar::new(vec![1]);
    let r = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            v.update(tx, |l| l.push(2))?;
            v.update(tx, |l| {
                l.push(3);
                panic!("half-way")
            })
        })
    }));
    assert_eq!(panic_message(&*r.unwrap_err()), "half-way");
    assert_eq!(v.load(), [1]);
    // The thread's next transaction starts clean.
    atomically(|tx| v.update(tx, |l| l.push(4)));
    assert_eq!(v.load(), [1, 4]);
}

mod or_else_model {
    //! Random programs of writes, reads, in-place `update`s of boxed lists
    //! and nested `or_else` (either branch
    //! may end in `retry`), run by the engine and by an obvious model: copy
    //! the state when a branch starts, put the copy back if the branch
    //! retries. Both must agree on every read and on what is committed.
    use proptest::prelude::*;
    use std::cell::RefCell;
    use steadfast_core::*;

    const VARS: usize = 3;

    /// Inline integers, and boxed lists changed in place by `update`.
    #[derive(Clone, Debug, PartialEq)]
    struct State {
        ints: [i32; VARS],
        lists: [Vec<i32>; VARS],
    }

    #[derive(Clone, Debug)]
    enum Op {
        Write(usize, i32),
        Read(usize),
        Push(usize, i32),
        ReadList(usize),
        OrElse {
            first: Vec<Op>,
            first_retries: bool,
            second: Vec<Op>,
            second_retries: bool,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        let leaf = prop_oneof![
            (0..VARS, 0..100i32).prop_map(|(v, x)| Op::Write(v, x)),
            (0..VARS).prop_map(Op::Read),
            (0..VARS, 0..100i32).prop_map(|(v, x)| Op::Push(v, x)),
            (0..VARS).prop_map(Op::ReadList),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            (
                prop::collection::vec(inner.clone(), 0..5),
                any::<bool>(),
                prop::collection::vec(inner, 0..5),
                any::<bool>(),
            )
                .prop_map(|(first, first_retries, second, second_retries)| {
                    Op::OrElse {
                        first,
                        first_retries,
                        second,
                        second_retries,
                    }
                })
        })
    }

    /// Runs `ops` on `state`; `Err(())` means the program retried.
    fn model(ops: &[Op], state: &mut State, seen: &mut Vec<i32>) -> Result<(), ()> {
        for op in ops {
            match op {
                Op::Write(v, x) => state.ints[*v] = *x,
                Op::Read(v) => seen.push(state.ints[*v]),
                Op::Push(v, x) => state.lists[*v].push(*x),
                Op::ReadList(v) => seen.extend(&state.lists[*v]),
                Op::OrElse {
                    first,
                    first_retries,
                    second,
                    second_retries,
                } => {
                    let saved = state.clone();
                    let retried = model(first, state, seen).is_err() || *first_retries;
                    if retried {
                        *state = saved;
                        model(second, state, seen)?;
                        if *second_retries {
                            return Err(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn engine(
        ops: &[Op],
        vars: &[TVar<i32>],
        lists: &[TVar<Vec<i32>>],
        tx: &mut Transaction,
        seen: &RefCell<Vec<i32>>,
    ) -> StmResult<()> {
        let branch = |tx: &mut Transaction, ops: &[Op], retries: bool| {
            engine(ops, vars, lists, tx, seen)?;
            if retries {
                retry()
            } else {
                Ok(())
            }
        };
        for op in ops {
            match op {
                Op::Write(v, x) => vars[*v].write(tx, *x)?,
                Op::Read(v) => {
                    let value = vars[*v].read(tx)?;
                    seen.borrow_mut().push(value);
                }
                Op::Push(v, x) => lists[*v].update(tx, |list| list.push(*x))?,
                Op::ReadList(v) => {
                    let list = lists[*v].read(tx)?;
                    seen.borrow_mut().extend(list);
                }
                Op::OrElse {
                    first,
                    first_retries,
                    second,
                    second_retries,
                } => tx.or_else(
                    |tx| branch(tx, first, *first_retries),
                    |tx| branch(tx, second, *second_retries),
                )?,
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn or_else_matches_the_model(ops in prop::collection::vec(op(), 0..8)) {
            let initial = State { ints: [7, 8, 9], lists: [vec![1], vec![], vec![2, 3]] };
            let vars: Vec<TVar<i32>> = initial.ints.iter().map(|&x| TVar::new(x)).collect();
            let lists: Vec<TVar<Vec<i32>>> =
                initial.lists.iter().map(|l| TVar::new(l.clone())).collect();
            // The program runs as the first branch of an alternative that does
            // nothing, so a program that retries commits nothing instead of
            // blocking.
            let mut expected_state = initial.clone();
            let mut expected_seen = Vec::new();
            if model(&ops, &mut expected_state, &mut expected_seen).is_err() {
                expected_state = initial;
            }
            let seen = atomically(|tx| {
                let seen = RefCell::new(Vec::new());
                tx.or_else(|tx| engine(&ops, &vars, &lists, tx, &seen), |_tx| Ok(()))?;
                Ok(seen.into_inner())
            });
            prop_assert_eq!(seen, expected_seen);
            let state = State {
                ints: std::array::from_fn(|i| vars[i].load()),
                lists: std::array::from_fn(|i| lists[i].load()),
            };
            prop_assert_eq!(state, expected_state);
        }
    }
}

/// Spawns a transaction that blocks until either branch can proceed.
fn spawn_either(a: &TVar<i64>, b: &TVar<i64>, runs: &Arc<AtomicUsize>) -> thread::JoinHandle<i64> {
    let (a, b, runs) = (a.clone(), b.clone(), runs.clone());
    thread::spawn(move || {
        atomically(|tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            tx.or_else(
                |tx| {
                    let x = a.read(tx)?;
                    if x > 0 {
                        Ok(x)
                    } else {
                        retry()
                    }
                },
                |tx| {
                    let y = b.read(tx)?;
                    if y > 0 {
                        Ok(-y)
                    } else {
                        retry()
                    }
                },
            )
        })
    })
}

#[test]
fn or_else_both_retry_wakes_on_a_change_read_by_the_first_branch() {
    let (a, b) = (TVar::new(0i64), TVar::new(0i64));
    let runs = Arc::new(AtomicUsize::new(0));
    let t = spawn_either(&a, &b, &runs);
    thread::sleep(Duration::from_millis(100));
    assert!(runs.load(Ordering::SeqCst) <= 2, "busy waiting");
    atomically(|tx| a.write(tx, 7));
    assert_eq!(
        within(30, "wake via first branch", move || t.join().unwrap()),
        7
    );
}

#[test]
fn or_else_both_retry_wakes_on_a_change_read_by_the_second_branch() {
    let (a, b) = (TVar::new(0i64), TVar::new(0i64));
    let runs = Arc::new(AtomicUsize::new(0));
    let t = spawn_either(&a, &b, &runs);
    thread::sleep(Duration::from_millis(100));
    assert!(runs.load(Ordering::SeqCst) <= 2, "busy waiting");
    atomically(|tx| b.write(tx, 9));
    assert_eq!(
        within(30, "wake via second branch", move || t.join().unwrap()),
        -9
    );
}

// ---- nesting --------------------------------------------------------------------

#[test]
fn nested_atomically_panics_with_advice_and_rolls_back_the_outer_writes() {
    let a = TVar::new(1i64);
    let panic = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            a.write(tx, 2)?;
            let inner = atomically(|tx2| a.read(tx2));
            a.write(tx, inner + 1)
        })
    }))
    .unwrap_err();
    let msg = panic_message(&*panic);
    assert!(msg.contains("&mut Transaction"), "{msg}");
    assert!(msg.contains("nest"), "{msg}");
    assert_eq!(a.load(), 1);
    assert!(!in_transaction());

    // try_atomically nests no more than atomically does.
    let panic = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            a.write(tx, 3)?;
            let _ = try_atomically::<_, (), _>(|tx2| Ok(a.read(tx2)?));
            Ok(())
        })
    }))
    .unwrap_err();
    assert!(panic_message(&*panic).contains("&mut Transaction"));
    assert_eq!(a.load(), 1);
    // The thread can run transactions again.
    atomically(|tx| a.write(tx, 5));
    assert_eq!(a.load(), 5);
}

#[test]
fn in_transaction_is_true_only_inside_a_body() {
    assert!(!in_transaction());
    let a = TVar::new(0);
    let (inside, in_hook) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(true)));
    atomically(|tx| {
        inside.set(in_transaction());
        let h = in_hook.clone();
        tx.on_commit(move || h.set(in_transaction()));
        a.write(tx, 1)
    });
    assert!(inside.get());
    assert!(!in_hook.get(), "hooks run outside the transaction");
    assert!(!in_transaction());
}

/// A hook that panics reaches the caller like a panicking body, and leaves
/// the thread outside any transaction, ready for the next one: between two
/// attempts (an abort hook) the transaction is abandoned; after a commit (a
/// commit hook) the commit stands.
#[test]
fn a_panicking_hook_propagates_and_leaves_the_thread_usable() {
    let a = TVar::new(0i64);
    let mut first = true;
    let r = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            tx.on_abort(|| panic!("abort hook"));
            let v = a.read(tx)?;
            if std::mem::take(&mut first) {
                interfere(&a);
            }
            a.write(tx, v + 10)
        })
    }));
    assert_eq!(panic_message(&*r.unwrap_err()), "abort hook");
    assert!(!in_transaction());
    assert_eq!(a.load(), 1, "only the interfering commit happened");

    let r = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            tx.on_commit(|| panic!("commit hook"));
            a.write(tx, 5)
        })
    }));
    assert_eq!(panic_message(&*r.unwrap_err()), "commit hook");
    assert!(!in_transaction());
    assert_eq!(a.load(), 5);

    atomically(|tx| a.modify(tx, |v| v + 1));
    assert_eq!(a.load(), 6);
}

/// A thread's spare logs are freed when it exits; a transaction run later
/// by another thread-local's destructor still works, with logs of its own.
#[test]
fn transactions_run_from_thread_local_destructors_after_the_spare_is_gone() {
    struct CommitsOnExit(TVar<i64>);
    impl Drop for CommitsOnExit {
        fn drop(&mut self) {
            for _ in 0..3 {
                atomically(|tx| self.0.modify(tx, |v| v + 1));
            }
            // A blind write to a variable never written reads nothing, so
            // this transaction could end the short way: it must still free
            // its logs rather than hand them to the exiting thread.
            let fresh = TVar::new(0i64);
            atomically(|tx| fresh.write(tx, 1));
            assert_eq!(fresh.load(), 1);
            assert!(!in_transaction());
        }
    }
    thread_local! {
        static ON_EXIT: RefCell<Option<CommitsOnExit>> = const { RefCell::new(None) };
    }
    let a = TVar::new(0i64);
    let a2 = a.clone();
    thread::spawn(move || {
        // Registered before the thread's first transaction, so its
        // destructor runs after the one that frees the spare logs.
        ON_EXIT.with(|slot| *slot.borrow_mut() = Some(CommitsOnExit(a2.clone())));
        atomically(|tx| a2.modify(tx, |v| v + 10));
    })
    .join()
    .unwrap();
    assert_eq!(a.load(), 13);
}

// ---- hooks ----------------------------------------------------------------------

#[test]
fn commit_hooks_run_once_after_publication_in_order() {
    let a = TVar::new(0i64);
    let b = TVar::new(String::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    atomically(|tx| {
        a.write(tx, 42)?;
        b.write(tx, "new".into())?;
        for i in 0..5 {
            let (a, b, seen) = (a.clone(), b.clone(), seen.clone());
            tx.on_commit(move || {
                // The hook observes the published values.
                seen.lock().unwrap().push((i, a.load(), b.load()));
            });
        }
        Ok(())
    });
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<_> = (0..5).map(|i| (i, 42, "new".to_string())).collect();
    assert_eq!(seen, expected);
}

/// Hooks may run transactions of their own (they run outside the body).
#[test]
fn commit_hooks_may_start_transactions() {
    let a = TVar::new(0i64);
    let b = TVar::new(0i64);
    atomically(|tx| {
        let (a2, b2) = (a.clone(), b.clone());
        tx.on_commit(move || {
            atomically(|tx| {
                let x = a2.read(tx)?;
                b2.write(tx, x * 2)
            })
        });
        a.write(tx, 21)
    });
    assert_eq!(b.load(), 42);
}

#[test]
fn abort_hooks_run_on_every_failed_attempt_and_commit_hooks_only_once() {
    let a = TVar::new(0i64);
    let flag = TVar::new(false);
    let attempts = Cell::new(0u32);
    let aborted = Rc::new(Cell::new(Vec::new()));
    let committed = Rc::new(Cell::new(Vec::new()));
    let push = |cell: &Rc<Cell<Vec<u32>>>, n: u32| {
        let mut v = cell.take();
        v.push(n);
        cell.set(v);
    };
    atomically(|tx| {
        let n = attempts.get() + 1;
        attempts.set(n);
        let (ab, co) = (aborted.clone(), committed.clone());
        tx.on_abort(move || push(&ab, n));
        tx.on_commit(move || push(&co, n));
        let v = a.read(tx)?;
        if n == 1 {
            // Attempt 1: someone commits to `a` before we do: a conflict.
            interfere(&a);
        } else if n == 2 && !flag.read(tx)? {
            // Attempt 2: block until `flag` is set.
            let flag = flag.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                atomically(|tx| flag.write(tx, true));
            });
            return retry();
        }
        a.write(tx, v + 10)
    });
    assert_eq!(attempts.get(), 3);
    assert_eq!(aborted.take(), vec![1, 2]);
    assert_eq!(committed.take(), vec![3]);
    assert_eq!(a.load(), 11);

    // A user error is a failed attempt too.
    let (ab, co) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let r = try_atomically(|tx| {
        let (x, y) = (ab.clone(), co.clone());
        tx.on_abort(move || x.set(x.get() + 1));
        tx.on_commit(move || y.set(y.get() + 1));
        a.write(tx, -1)?;
        abort("no")
    });
    assert_eq!(r, Err::<(), _>(TransactionError::Aborted("no")));
    assert_eq!((ab.get(), co.get()), (1, 0));
}

/// Under real contention: every attempt registers one abort hook and one
/// commit hook; exactly one commit hook per transaction runs, and abort hooks
/// run exactly once per failed attempt.
#[test]
fn hook_counts_under_contention() {
    let a = TVar::new(0i64);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let a = a.clone();
            thread::spawn(move || {
                let (attempts, aborts, commits) = (
                    Rc::new(Cell::new(0)),
                    Rc::new(Cell::new(0)),
                    Rc::new(Cell::new(0)),
                );
                for _ in 0..5_000 {
                    atomically(|tx| {
                        attempts.set(attempts.get() + 1);
                        let (x, y) = (aborts.clone(), commits.clone());
                        tx.on_abort(move || x.set(x.get() + 1));
                        tx.on_commit(move || y.set(y.get() + 1));
                        a.modify(tx, |v| v + 1)
                    });
                }
                (attempts.get(), aborts.get(), commits.get())
            })
        })
        .collect();
    for t in threads {
        let (attempts, aborts, commits) = t.join().unwrap();
        assert_eq!(commits, 5_000);
        assert_eq!(aborts, attempts - commits);
    }
    assert_eq!(a.load(), 10_000);
}

// ---- unbounded read and write sets --------------------------------------------

#[test]
fn one_transaction_reads_and_writes_100_000_variables() {
    const N: usize = 100_000;
    let vars: Vec<TVar<u64>> = (0..N as u64).map(TVar::new).collect();
    let sum = atomically(|tx| {
        let mut sum = 0;
        for v in &vars {
            let x = v.read(tx)?;
            v.write(tx, x + 1)?;
            sum += x;
        }
        // Reads after the writes see them.
        for v in vars.iter().step_by(997) {
            let x = v.read(tx)?;
            assert!(x >= 1);
        }
        Ok(sum)
    });
    assert_eq!(sum, (N as u64 - 1) * N as u64 / 2);
    assert!(vars
        .iter()
        .enumerate()
        .all(|(i, v)| v.load() == i as u64 + 1));
    let read_only = atomically(|tx| {
        let mut s = 0;
        for v in &vars {
            s += v.read(tx)?;
        }
        Ok(s)
    });
    assert_eq!(read_only, sum + N as u64);
}

/// Writes made on the inlined paths stay visible to the attempt after it
/// starts taking the long way (a hook, an `or_else`, a long write log), and
/// variables it never wrote still read their committed values.
#[test]
fn own_writes_stay_visible_when_an_attempt_turns_to_the_long_way() {
    let ints: Vec<TVar<i64>> = (0..40).map(TVar::new).collect();
    let name = TVar::new(String::from("old"));
    let untouched = TVar::new(7i64);
    atomically(|tx| {
        ints[0].write(tx, 100)?;
        ints[1].modify(tx, |v| v + 100)?;
        name.write(tx, String::from("new"))?;
        tx.on_commit(|| {});
        assert_eq!(ints[0].read(tx)?, 100);
        assert_eq!(ints[1].read(tx)?, 101);
        assert_eq!(name.read(tx)?, "new");
        assert_eq!(untouched.read(tx)?, 7);
        tx.or_else(|tx| ints[2].write(tx, 102), |_| unreachable!())?;
        // Past the write index's threshold.
        for (i, v) in ints.iter().enumerate().skip(3) {
            v.write(tx, 100 + i as i64)?;
        }
        for (i, v) in ints.iter().enumerate() {
            assert_eq!(v.read(tx)?, 100 + i as i64);
            assert_eq!(v.read_with(tx, |x| *x)?, 100 + i as i64);
        }
        assert_eq!(untouched.read(tx)?, 7);
        Ok(())
    });
    assert!(ints
        .iter()
        .enumerate()
        .all(|(i, v)| v.load() == 100 + i as i64));
    assert_eq!(name.load(), "new");
    // The next attempt on this thread starts plain again.
    atomically(|tx| {
        assert_eq!(ints[5].read(tx)?, 105);
        ints[5].write(tx, 5)?;
        assert_eq!(ints[5].read(tx)?, 5);
        Ok(())
    });
    assert_eq!(ints[5].load(), 5);
}

/// A plain attempt that writes more and more variables passes from the
/// inlined paths to the indexed log without losing sight of a write: every
/// variable reads back its latest value, before and after being written
/// again, at every log length around the switch.
#[test]
fn own_writes_stay_visible_as_a_plain_log_grows_past_the_inlined_paths() {
    for n in [31usize, 32, 33, 34, 64, 100] {
        let vars: Vec<TVar<i64>> = (0..n as i64).map(TVar::new).collect();
        atomically(|tx| {
            for (i, v) in vars.iter().enumerate() {
                v.modify(tx, |x| x + 1000)?;
                assert_eq!(v.read(tx)?, i as i64 + 1000, "n = {n}");
            }
            for (i, v) in vars.iter().enumerate().rev() {
                assert_eq!(v.read(tx)?, i as i64 + 1000, "n = {n}");
                v.write(tx, -(i as i64))?;
                v.modify(tx, |x| x - 1)?;
            }
            for (i, v) in vars.iter().enumerate() {
                assert_eq!(v.read(tx)?, -(i as i64) - 1, "n = {n}");
            }
            Ok(())
        });
        for (i, v) in vars.iter().enumerate() {
            assert_eq!(v.load(), -(i as i64) - 1, "n = {n}");
        }
    }
}

// ---- progress ---------------------------------------------------------------------

/// A long, slow reader against two writers that never stop: it keeps losing
/// until the engine lets it run alone, then commits.
#[test]
fn a_long_reader_commits_against_busy_writers() {
    const N: usize = 256;
    const TOTAL: i64 = 100 * N as i64;
    let vars: Arc<Vec<TVar<i64>>> = Arc::new((0..N).map(|_| TVar::new(100)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let (vars, stop) = (vars.clone(), stop.clone());
            thread::spawn(move || {
                let mut seed = 0xDEADBEEF ^ (t + 1);
                let mut commits = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let r = next(&mut seed);
                    let (i, j) = ((r % N as u64) as usize, ((r >> 20) % N as u64) as usize);
                    atomically(|tx| {
                        vars[i].modify(tx, |v| v - 1)?;
                        vars[j].modify(tx, |v| v + 1)
                    });
                    commits += 1;
                }
                commits
            })
        })
        .collect();
    // Let the writers get going.
    thread::sleep(Duration::from_millis(20));
    let reader_vars = vars.clone();
    let (attempts, stats) = within(120, "the long reader", move || {
        let before = thread_stats();
        let attempts = Cell::new(0u32);
        let total = atomically(|tx| {
            attempts.set(attempts.get() + 1);
            let mut sum = 0;
            for (k, v) in reader_vars.iter().enumerate() {
                sum += v.read(tx)?;
                if k == N / 2 {
                    // A deliberately slow body: writers commit meanwhile.
                    thread::sleep(Duration::from_millis(1));
                }
            }
            assert_eq!(sum, TOTAL, "torn snapshot in the long reader");
            Ok(sum)
        });
        assert_eq!(total, TOTAL);
        (attempts.get(), thread_stats() - before)
    });
    stop.store(true, Ordering::Relaxed);
    let writer_commits: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(stats.commits, 1);
    assert!(writer_commits > 0);
    // Either it got through on its own, or it escalated to running alone.
    assert!(
        attempts <= 64 || stats.serial_runs == 1,
        "{attempts} attempts, stats: {stats}"
    );
    assert_eq!(vars.iter().map(|v| v.load()).sum::<i64>(), TOTAL);
}

/// The same against writers that also read everything: the escalation must
/// still let both sides finish, and conservation holds.
#[test]
fn long_writers_and_short_writers_all_finish() {
    const N: usize = 64;
    let vars: Arc<Vec<TVar<i64>>> = Arc::new((0..N).map(|_| TVar::new(10)).collect());
    let barrier = Arc::new(Barrier::new(3));
    let short: Vec<_> = (0..2u64)
        .map(|t| {
            let (vars, barrier) = (vars.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let mut seed = 0xABCDEF ^ (t + 3);
                for _ in 0..20_000 {
                    let r = next(&mut seed);
                    let (i, j) = ((r % N as u64) as usize, ((r >> 20) % N as u64) as usize);
                    atomically(|tx| {
                        vars[i].modify(tx, |v| v - 1)?;
                        vars[j].modify(tx, |v| v + 1)
                    });
                }
            })
        })
        .collect();
    let long = {
        let (vars, barrier) = (vars.clone(), barrier.clone());
        thread::spawn(move || {
            barrier.wait();
            for _ in 0..20 {
                // Reads everything, then moves one unit per account.
                atomically(|tx| {
                    let mut vals = Vec::with_capacity(N);
                    for v in vars.iter() {
                        vals.push(v.read(tx)?);
                    }
                    assert_eq!(vals.iter().sum::<i64>(), 10 * N as i64);
                    thread::sleep(Duration::from_micros(200));
                    for (k, v) in vars.iter().enumerate() {
                        v.write(tx, vals[k] + if k % 2 == 0 { 1 } else { -1 })?;
                    }
                    Ok(())
                });
            }
        })
    };
    within(120, "long and short writers", move || {
        long.join().unwrap();
        for s in short {
            s.join().unwrap();
        }
    });
    assert_eq!(vars.iter().map(|v| v.load()).sum::<i64>(), 10 * N as i64);
}

// ---- error values -----------------------------------------------------------------

#[test]
fn error_values_name_what_happened() {
    let e = retry::<()>().unwrap_err();
    assert!(e.is_retry());
    assert!(!e.is_conflict());
    assert!(e.to_string().contains("retry"));

    let v = InvariantViolation {
        invariant: "solvent".into(),
        message: "overdrawn by 5".into(),
    };
    let err: TransactionError<String> =
        TransactionError::Failed(Failure::InvariantViolated(v.clone()));
    let shown = err.to_string();
    assert!(
        shown.contains("solvent") && shown.contains("overdrawn by 5"),
        "{shown}"
    );
    assert_eq!(err.invariant_violation(), Some(&v));
    assert_eq!(
        v.to_string(),
        "invariant `solvent` violated: overdrawn by 5"
    );

    let aborted: TransactionError<String> = TransactionError::Aborted("too late".into());
    assert!(aborted.to_string().contains("too late"));
    assert_eq!(aborted.invariant_violation(), None);

    let invalid = Failure::InvalidCheck {
        invariant: "ordered".into(),
        reason: "called retry",
    };
    let shown = invalid.to_string();
    assert!(
        shown.contains("ordered") && shown.contains("called retry"),
        "{shown}"
    );
    assert!(Failure::RetryWithoutReads
        .to_string()
        .contains("block forever"));

    // An error is a std error, so `?` into Box<dyn Error> works.
    fn boxed() -> Result<(), Box<dyn std::error::Error>> {
        Err(TransactionError::<String>::Aborted("x".into()))?
    }
    assert!(boxed().is_err());
}

/// A read that hits a conflict surfaces as `is_conflict` to a body that looks
/// at it, and the engine still re-runs the attempt even if the body ignores it.
#[test]
fn a_swallowed_conflict_still_reruns_the_attempt() {
    let a = TVar::new(0i64);
    let b = TVar::new(0i64);
    let runs = Cell::new(0);
    let saw_conflict = Cell::new(false);
    let r = atomically(|tx| {
        runs.set(runs.get() + 1);
        let x = a.read(tx)?;
        if runs.get() == 1 {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                atomically(|tx| {
                    a.write(tx, 1)?;
                    b.write(tx, 1)
                })
            })
            .join()
            .unwrap();
        }
        // The body swallows the error and carries on.
        let y = match b.read(tx) {
            Ok(y) => y,
            Err(e) => {
                saw_conflict.set(e.is_conflict());
                -1000
            }
        };
        Ok(x + y)
    });
    assert!(saw_conflict.get());
    assert_eq!(runs.get(), 2);
    assert_eq!(r, 2);
}

/// Rollback of a branch in a transaction whose write log is large (the
/// engine indexes long logs): the branch's new entries and its overwrites of
/// earlier ones are all undone, and later reads find the right values.
#[test]
fn or_else_rolls_back_a_large_branch() {
    let vars: Vec<TVar<i64>> = (0..200).map(|_| TVar::new(0)).collect();
    let r = atomically(|tx| {
        for v in &vars[..60] {
            v.write(tx, 1)?;
        }
        tx.or_else(
            |tx| {
                // Overwrites 30 earlier writes and adds 140 new ones.
                for v in &vars[30..] {
                    v.write(tx, 2)?;
                }
                for v in &vars {
                    assert!(v.read(tx)? >= 1);
                }
                retry()
            },
            |tx| {
                let mut seen = Vec::new();
                for v in &vars {
                    seen.push(v.read(tx)?);
                }
                // A new write after the rollback lands in the right entry.
                vars[199].write(tx, 3)?;
                vars[10].write(tx, 4)?;
                Ok(seen)
            },
        )
    });
    let expected: Vec<i64> = (0..200).map(|i| i64::from(i < 60)).collect();
    assert_eq!(r, expected);
    let loaded: Vec<i64> = vars.iter().map(|v| v.load()).collect();
    let mut committed = expected.clone();
    committed[199] = 3;
    committed[10] = 4;
    assert_eq!(loaded, committed);
}

#[test]
fn stats_subtract_add_and_display() {
    let a = TVar::new(0i64);
    let before = thread_stats();
    for _ in 0..3 {
        atomically(|tx| a.modify(tx, |v| v + 1));
    }
    let _ = try_atomically(|tx| {
        a.write(tx, -1)?;
        abort::<(), _>("no")
    });
    let d = thread_stats() - before;
    assert_eq!((d.commits, d.user_aborts), (3, 1));
    // Subtraction saturates (an older snapshot minus a newer one).
    assert_eq!((before - thread_stats()).commits, 0);
    assert_eq!((d + d).commits, 6);
    let shown = d.to_string();
    assert!(shown.contains("commits 3"), "{shown}");
    assert!(shown.contains("user aborts 1"), "{shown}");
}

/// The abort hooks of a rolled-back `or_else` branch run once the
/// transaction has ended, outside it (so they may start transactions), and
/// they run whether the transaction then commits or fails.
#[test]
fn abort_hooks_of_a_rolled_back_branch_run_outside_the_transaction() {
    use std::cell::RefCell;
    let seen: Rc<RefCell<Vec<(&str, bool)>>> = Rc::default();
    let flag = TVar::new(false);
    let value = atomically(|tx| {
        let (a, b) = (seen.clone(), seen.clone());
        tx.or_else(
            move |tx| {
                tx.on_abort(move || a.borrow_mut().push(("branch", in_transaction())));
                retry()
            },
            |tx| {
                tx.on_commit(move || b.borrow_mut().push(("commit", in_transaction())));
                flag.read(tx)
            },
        )
    });
    assert!(!value);
    assert_eq!(*seen.borrow(), vec![("branch", false), ("commit", false)]);
    // A hook may start its own transaction.
    let counter = TVar::new(0);
    let c = counter.clone();
    atomically(|tx| {
        tx.or_else(
            |tx| {
                let c = c.clone();
                tx.on_abort(move || atomically(|tx| c.modify(tx, |n| n + 1)));
                retry()
            },
            |_| Ok(()),
        )
    });
    assert_eq!(counter.load(), 1);
}
