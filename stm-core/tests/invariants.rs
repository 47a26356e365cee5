//! Invariants and caches at the engine level: when checks run, what a failure
//! does, the registration race, and lazy and eager caches.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;
use steadfast_core::*;

mod common;
use common::{next, panic_message, within};

/// A check `var >= 0` that counts its runs.
fn non_negative(
    var: &TVar<i64>,
    runs: &Arc<AtomicUsize>,
) -> impl Fn(&mut Transaction) -> CheckResult + Send + Sync + 'static {
    let (var, runs) = (var.clone(), runs.clone());
    move |tx| {
        runs.fetch_add(1, Ordering::SeqCst);
        let v = var.read(tx)?;
        if v >= 0 {
            Ok(())
        } else {
            Err(CheckError::violated(format!("{v} is negative")))
        }
    }
}

fn runs_of(runs: &AtomicUsize) -> usize {
    runs.load(Ordering::SeqCst)
}

fn set(var: &TVar<i64>, v: i64) -> Result<(), TransactionError<()>> {
    try_atomically(|tx| Ok(var.write(tx, v)?))
}

// ---- when checks run --------------------------------------------------------------

#[test]
fn registration_runs_the_check_at_once() {
    let a = TVar::new(1i64);
    let runs = Arc::new(AtomicUsize::new(0));
    let before = thread_stats();
    atomically(|tx| tx.invariant("non-negative", non_negative(&a, &runs)));
    assert_eq!(runs_of(&runs), 1);
    assert_eq!((thread_stats() - before).invariant_runs, 1);
    // From now on a bad write is refused.
    assert!(set(&a, -1).is_err());
    assert_eq!(a.load(), 1);
}

#[test]
fn a_failing_registration_fails_its_transaction_and_registers_nothing() {
    let a = TVar::new(-5i64);
    let other = TVar::new(0i64);
    let runs = Arc::new(AtomicUsize::new(0));
    let r: Result<(), TransactionError<()>> = try_atomically(|tx| {
        other.write(tx, 99)?;
        tx.invariant("non-negative", non_negative(&a, &runs))?;
        Ok(())
    });
    let v = r.unwrap_err().invariant_violation().cloned().unwrap();
    assert_eq!(v.invariant, "non-negative");
    assert_eq!(v.message, "-5 is negative");
    assert_eq!(
        other.load(),
        0,
        "a write of the failed transaction is visible"
    );
    assert_eq!(runs_of(&runs), 1);
    // Not registered: writing `a` runs nothing.
    set(&a, -6).unwrap();
    assert_eq!(runs_of(&runs), 1);

    // Registering, then breaking it in the same transaction: fails at commit.
    let b = TVar::new(3i64);
    let runs = Arc::new(AtomicUsize::new(0));
    let r: Result<(), TransactionError<()>> = try_atomically(|tx| {
        tx.invariant("b non-negative", non_negative(&b, &runs))?;
        b.write(tx, -1)?;
        Ok(())
    });
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "b non-negative"
    );
    assert_eq!(b.load(), 3);
    let n = runs_of(&runs);
    set(&b, -2).unwrap();
    assert_eq!(
        runs_of(&runs),
        n,
        "a rolled-back registration stayed attached"
    );
}

#[test]
fn checks_run_only_after_transactions_that_wrote_what_they_read() {
    let a = TVar::new(1i64);
    let b = TVar::new(2i64);
    let unrelated = TVar::new(0i64);
    let runs = Arc::new(AtomicUsize::new(0));
    let (ca, cb, r) = (a.clone(), b.clone(), runs.clone());
    atomically(|tx| {
        let (ca, cb, r) = (ca.clone(), cb.clone(), r.clone());
        tx.invariant("sum", move |tx| {
            r.fetch_add(1, Ordering::SeqCst);
            if ca.read(tx)? + cb.read(tx)? >= 0 {
                Ok(())
            } else {
                Err(CheckError::violated("negative sum"))
            }
        })
    });
    let expect = |delta: usize, what: &str, f: &dyn Fn()| {
        let (n, s) = (runs_of(&runs), thread_stats());
        f();
        assert_eq!(runs_of(&runs) - n, delta, "{what}");
        assert_eq!(
            (thread_stats() - s).invariant_runs as usize,
            delta,
            "{what} (stats)"
        );
    };
    expect(0, "writing an unrelated variable", &|| {
        atomically(|tx| unrelated.write(tx, 1))
    });
    expect(0, "reading a dependency", &|| {
        atomically(|tx| a.read(tx).map(drop))
    });
    expect(1, "writing a", &|| atomically(|tx| a.write(tx, 5)));
    expect(1, "writing b with its old value", &|| {
        atomically(|tx| b.write(tx, 2))
    });
    expect(1, "writing a and b", &|| {
        atomically(|tx| {
            a.write(tx, 6)?;
            b.write(tx, 7)
        })
    });
    expect(1, "writing a three times", &|| {
        atomically(|tx| {
            for v in 0..3 {
                a.write(tx, v)?;
            }
            Ok(())
        })
    });
    expect(0, "a user abort after writing a", &|| {
        let _ = try_atomically(|tx| {
            a.write(tx, 100)?;
            abort::<(), _>(())
        });
    });
    expect(1, "a failing write", &|| assert!(set(&a, -100).is_err()));
    assert_eq!((a.load(), b.load()), (2, 7));
}

/// A commit pays for the checks attached to what it wrote, not for every
/// invariant that exists.
#[test]
fn a_commit_runs_only_the_checks_of_the_objects_it_wrote() {
    const OBJECTS: usize = 500;
    let vars: Vec<TVar<i64>> = (0..OBJECTS).map(|_| TVar::new(0)).collect();
    let runs: Vec<Arc<AtomicUsize>> = (0..OBJECTS)
        .map(|_| Arc::new(AtomicUsize::new(0)))
        .collect();
    atomically(|tx| {
        for (v, r) in vars.iter().zip(&runs) {
            tx.invariant("non-negative", non_negative(v, r))?;
        }
        Ok(())
    });
    let before = thread_stats();
    atomically(|tx| vars[123].write(tx, 9));
    atomically(|tx| {
        vars[7].write(tx, 1)?;
        vars[300].write(tx, 2)
    });
    assert_eq!((thread_stats() - before).invariant_runs, 3);
    for (i, r) in runs.iter().enumerate() {
        let expected = if [7, 123, 300].contains(&i) { 2 } else { 1 };
        assert_eq!(runs_of(r), expected, "object {i}");
    }
}

#[test]
fn the_dependency_set_follows_what_the_check_read_last() {
    let sel = TVar::new(true);
    let b = TVar::new(1i64);
    let c = TVar::new(1i64);
    let runs = Arc::new(AtomicUsize::new(0));
    {
        let (sel, b, c, runs) = (sel.clone(), b.clone(), c.clone(), runs.clone());
        atomically(move |tx| {
            let (sel, b, c, runs) = (sel.clone(), b.clone(), c.clone(), runs.clone());
            tx.invariant("chosen is positive", move |tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                let chosen = if sel.read(tx)? {
                    b.read(tx)?
                } else {
                    c.read(tx)?
                };
                if chosen > 0 {
                    Ok(())
                } else {
                    Err(CheckError::violated("not positive"))
                }
            })
        });
    }
    let n = runs_of(&runs);
    set(&c, -1).unwrap(); // not read while sel is true
    assert_eq!(runs_of(&runs), n);
    assert!(set(&b, -1).is_err());
    assert_eq!(runs_of(&runs), n + 1);
    // Switching to c fails while c is negative; fix c first (c is not a
    // dependency yet, so nothing runs), then switch.
    set(&c, 5).unwrap();
    assert_eq!(runs_of(&runs), n + 1);
    atomically(|tx| sel.write(tx, false));
    assert_eq!(runs_of(&runs), n + 2);
    // Now b is no longer a dependency and c is.
    set(&b, -7).unwrap();
    assert_eq!(
        runs_of(&runs),
        n + 2,
        "the old branch's variable still triggers the check"
    );
    assert!(set(&c, 0).is_err());
    assert_eq!(runs_of(&runs), n + 3);
    // Switching back to b (now negative) is refused.
    let r: Result<(), TransactionError<()>> = try_atomically(|tx| Ok(sel.write(tx, true)?));
    assert!(r.is_err());
    assert!(!sel.load());
}

// ---- failures -----------------------------------------------------------------------

#[test]
fn a_violation_rolls_back_and_names_the_invariant() {
    let a = TVar::new(10i64);
    let log = TVar::new(Vec::<i64>::new());
    let runs = Arc::new(AtomicUsize::new(0));
    atomically(|tx| tx.invariant("balance non-negative", non_negative(&a, &runs)));
    let (aborts, commits) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let before = thread_stats();
    let r: Result<(), TransactionError<String>> = try_atomically(|tx| {
        let (x, y) = (aborts.clone(), commits.clone());
        tx.on_abort(move || x.set(x.get() + 1));
        tx.on_commit(move || y.set(y.get() + 1));
        log.modify(tx, |mut l| {
            l.push(-5);
            l
        })?;
        a.modify(tx, |v| v - 15)?;
        Ok(())
    });
    let err = r.unwrap_err();
    assert_eq!(
        err,
        TransactionError::Failed(Failure::InvariantViolated(InvariantViolation {
            invariant: "balance non-negative".into(),
            message: "-5 is negative".into(),
        }))
    );
    assert!(err.to_string().contains("balance non-negative"));
    assert_eq!((a.load(), log.load()), (10, vec![]));
    assert_eq!((aborts.get(), commits.get()), (1, 0));
    let d = thread_stats() - before;
    assert_eq!(
        (d.invariant_runs, d.invariant_failures, d.commits),
        (1, 1, 0)
    );

    let panic = catch_unwind(AssertUnwindSafe(|| atomically(|tx| a.write(tx, -1)))).unwrap_err();
    let msg = panic_message(&*panic);
    assert!(
        msg.contains("invariant `balance non-negative` violated: -1 is negative"),
        "{msg}"
    );
    assert_eq!(a.load(), 10);
}

#[test]
fn an_invariant_may_be_broken_in_the_middle_and_restored_before_the_end() {
    let a = TVar::new(50i64);
    let b = TVar::new(50i64);
    let runs = Arc::new(AtomicUsize::new(0));
    let (ca, cb, r) = (a.clone(), b.clone(), runs.clone());
    atomically(|tx| {
        let (ca, cb, r) = (ca.clone(), cb.clone(), r.clone());
        tx.invariant("conserved", move |tx| {
            r.fetch_add(1, Ordering::SeqCst);
            let total = ca.read(tx)? + cb.read(tx)?;
            if total == 100 {
                Ok(())
            } else {
                Err(CheckError::violated(format!("total {total}")))
            }
        })
    });
    atomically(|tx| {
        a.modify(tx, |v| v - 80)?; // broken here
        assert_eq!(a.read(tx)? + b.read(tx)?, 20);
        b.modify(tx, |v| v + 80) // restored
    });
    assert_eq!((a.load(), b.load()), (-30, 130));
    assert_eq!(runs_of(&runs), 2, "the check runs once, at the end");
}

#[test]
fn a_checks_reads_are_validated_with_the_transaction() {
    // Invariant a + b <= 10, from a = b = 0. A transaction writes a = 6; at its
    // commit the check reads b = 0 and passes, and then, before the commit
    // publishes, another transaction sets b = 6 (fine on its own: a is still
    // 0). Were the check's read of b not validated like the body's reads, both
    // would commit and a + b = 12 would be observed; instead the first
    // transaction re-runs, and its check then sees b = 6 and refuses.
    let a = TVar::new(0i64);
    let b = TVar::new(0i64);
    let interfere = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicUsize::new(0));
    {
        let (a, b, interfere, runs) = (a.clone(), b.clone(), interfere.clone(), runs.clone());
        atomically(move |tx| {
            let (a, b, interfere, runs) = (a.clone(), b.clone(), interfere.clone(), runs.clone());
            tx.invariant("a + b <= 10", move |tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                let (x, y) = (a.read(tx)?, b.read(tx)?);
                if interfere.swap(false, Ordering::SeqCst) {
                    let b = b.clone();
                    thread::spawn(move || atomically(|tx| b.write(tx, 6)))
                        .join()
                        .unwrap();
                }
                if x + y <= 10 {
                    Ok(())
                } else {
                    Err(CheckError::violated(format!("{x} + {y} > 10")))
                }
            })
        });
    }
    interfere.store(true, Ordering::SeqCst);
    let before = runs_of(&runs);
    let r = set(&a, 6);
    let e = r.expect_err("the re-run check sees b = 6");
    assert_eq!(e.invariant_violation().unwrap().message, "6 + 6 > 10");
    assert_eq!((a.load(), b.load()), (0, 6));
    // Runs: the first commit attempt, the other transaction's commit, the re-run.
    assert_eq!(runs_of(&runs) - before, 3);
}

#[test]
fn a_check_that_writes_is_invalid() {
    let a = TVar::new(0i64);
    let scratch = TVar::new(0i64);
    // At registration.
    let (ca, cs) = (a.clone(), scratch.clone());
    let r: Result<(), TransactionError<()>> = try_atomically(|tx| {
        let (ca, cs) = (ca.clone(), cs.clone());
        tx.invariant("writer", move |tx| {
            let v = ca.read(tx)?;
            cs.write(tx, v)?;
            Ok(())
        })?;
        Ok(())
    });
    match r {
        Err(TransactionError::Failed(Failure::InvalidCheck { invariant, reason })) => {
            assert_eq!(invariant, "writer");
            assert!(reason.contains("wrote"), "{reason}");
        }
        other => panic!("expected InvalidCheck, got {other:?}"),
    }
    // At commit: writes only once `a` is large.
    let (ca, cs) = (a.clone(), scratch.clone());
    atomically(|tx| {
        let (ca, cs) = (ca.clone(), cs.clone());
        tx.invariant("writes when large", move |tx| {
            let v = ca.read(tx)?;
            if v > 5 {
                // Even if the check swallows the error, the transaction fails.
                let _ = cs.write(tx, v);
            }
            Ok(())
        })
    });
    let r = set(&a, 10);
    assert!(
        matches!(
            r,
            Err(TransactionError::Failed(Failure::InvalidCheck { ref invariant, .. }))
                if invariant == "writes when large"
        ),
        "{r:?}"
    );
    assert_eq!((a.load(), scratch.load()), (0, 0));
}

#[test]
fn a_check_that_retries_is_invalid_at_commit() {
    let a = TVar::new(0i64);
    let ca = a.clone();
    atomically(|tx| {
        let ca = ca.clone();
        tx.invariant("retries when large", move |tx| {
            if ca.read(tx)? > 5 {
                retry::<()>()?;
            }
            Ok(())
        })
    });
    let r = within(30, "a retrying check at commit", move || set(&a, 10));
    match r {
        Err(TransactionError::Failed(Failure::InvalidCheck { invariant, reason })) => {
            assert_eq!(invariant, "retries when large");
            assert!(reason.contains("retry"), "{reason}");
        }
        other => panic!("expected InvalidCheck, got {other:?}"),
    }
}

/// At registration the check runs inside the body; its `retry` must still
/// be reported as an invalid check, not block the registering transaction.
#[test]
fn a_check_that_retries_is_invalid_at_registration() {
    let a = TVar::new(0i64);
    let r = within(30, "a retrying check at registration", move || {
        try_atomically::<(), (), _>(|tx| {
            let ca = a.clone();
            tx.invariant("always retries", move |tx| {
                ca.read(tx)?;
                retry::<()>()?;
                Ok(())
            })?;
            Ok(())
        })
    });
    match r {
        Err(TransactionError::Failed(Failure::InvalidCheck { invariant, reason })) => {
            assert_eq!(invariant, "always retries");
            assert!(reason.contains("retry"), "{reason}");
        }
        other => panic!("expected InvalidCheck, got {other:?}"),
    }
}

/// A check that panics at commit: the panic propagates, nothing is
/// published, and the thread's next transaction starts from a clean log.
#[test]
fn a_check_that_panics_at_commit_rolls_back_and_leaves_the_thread_clean() {
    let a = TVar::new(0i64);
    let other = TVar::new(0i64);
    let ca = a.clone();
    atomically(|tx| {
        let ca = ca.clone();
        tx.invariant("panics on 13", move |tx| {
            if ca.read(tx)? == 13 {
                panic!("unlucky number");
            }
            Ok(())
        })
    });
    let aborts = Rc::new(Cell::new(0));
    let r = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| {
            let n = aborts.clone();
            tx.on_abort(move || n.set(n.get() + 1));
            other.write(tx, 1)?;
            a.write(tx, 13)
        })
    }));
    assert_eq!(panic_message(&*r.unwrap_err()), "unlucky number");
    assert_eq!((a.load(), other.load()), (0, 0));
    assert!(!in_transaction());
    assert_eq!(
        aborts.get(),
        1,
        "the failed attempt's abort hooks did not run"
    );
    // The next transaction on this thread publishes only its own writes.
    let c = TVar::new(0i64);
    atomically(|tx| c.write(tx, 2));
    assert_eq!((a.load(), other.load(), c.load()), (0, 0, 2));
    // The variables are not left locked.
    let (a2, o2) = (a.clone(), other.clone());
    within(30, "writing after the panic", move || {
        atomically(|tx| {
            a2.write(tx, 1)?;
            o2.write(tx, 1)
        })
    });
    assert_eq!((a.load(), other.load()), (1, 1));
}

// ---- with or_else, retry and hooks --------------------------------------------------

#[test]
fn writes_in_a_rolled_back_branch_do_not_trigger_checks() {
    let a = TVar::new(1i64);
    let c = TVar::new(0i64);
    let runs = Arc::new(AtomicUsize::new(0));
    atomically(|tx| tx.invariant("non-negative", non_negative(&a, &runs)));
    let n = runs_of(&runs);
    atomically(|tx| {
        tx.or_else(
            |tx| {
                a.write(tx, -100)?;
                retry()
            },
            |tx| c.write(tx, 1),
        )
    });
    assert_eq!(runs_of(&runs), n);
    assert_eq!((a.load(), c.load()), (1, 1));
    // A branch that keeps its bad write fails the whole transaction.
    let r: Result<(), TransactionError<()>> =
        try_atomically(|tx| Ok(tx.or_else(|tx| a.write(tx, -100), |tx| c.write(tx, 2))?));
    assert!(r.unwrap_err().invariant_violation().is_some());
    assert_eq!((a.load(), c.load()), (1, 1));
}

#[test]
fn a_registration_in_a_rolled_back_branch_is_dropped() {
    let a = TVar::new(1i64);
    let runs = Arc::new(AtomicUsize::new(0));
    atomically(|tx| {
        tx.or_else(
            |tx| {
                tx.invariant("non-negative", non_negative(&a, &runs))?;
                retry()
            },
            |_tx| Ok(()),
        )
    });
    assert_eq!(runs_of(&runs), 1);
    set(&a, -1).unwrap();
    assert_eq!(runs_of(&runs), 1);
    assert_eq!(a.load(), -1);
}

/// A transaction that blocks in `retry` and, once woken, writes a guarded
/// variable: the check runs at its commit and can refuse it.
#[test]
fn checks_run_when_a_woken_transaction_commits() {
    let a = TVar::new(5i64);
    let go = TVar::new(0i64);
    let runs = Arc::new(AtomicUsize::new(0));
    atomically(|tx| tx.invariant("non-negative", non_negative(&a, &runs)));
    let waiter = {
        let (a, go) = (a.clone(), go.clone());
        thread::spawn(move || {
            let commits = Rc::new(Cell::new(0));
            let r: Result<(), TransactionError<()>> = try_atomically(|tx| {
                let g = go.read(tx)?;
                if g == 0 {
                    return Ok(retry()?);
                }
                let c = commits.clone();
                tx.on_commit(move || c.set(c.get() + 1));
                Ok(a.write(tx, 5 - g)?)
            });
            (r, commits.get())
        })
    };
    thread::sleep(Duration::from_millis(30));
    let n = runs_of(&runs);
    atomically(|tx| go.write(tx, 10));
    let (r, commits) = within(30, "the woken transaction", move || waiter.join().unwrap());
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().message,
        "-5 is negative"
    );
    assert_eq!(commits, 0);
    assert_eq!(runs_of(&runs), n + 1);
    assert_eq!(a.load(), 5);
}

#[test]
fn several_invariants_on_one_variable_each_run_once() {
    let a = TVar::new(5i64);
    let (r1, r2) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    atomically(|tx| tx.invariant("non-negative", non_negative(&a, &r1)));
    let (ca, r) = (a.clone(), r2.clone());
    atomically(|tx| {
        let (ca, r) = (ca.clone(), r.clone());
        tx.invariant("below ten", move |tx| {
            r.fetch_add(1, Ordering::SeqCst);
            if ca.read(tx)? < 10 {
                Ok(())
            } else {
                Err(CheckError::violated("too big"))
            }
        })
    });
    set(&a, 7).unwrap();
    assert_eq!((runs_of(&r1), runs_of(&r2)), (2, 2));
    let e = set(&a, 12).unwrap_err();
    assert_eq!(e.invariant_violation().unwrap().invariant, "below ten");
    let e = set(&a, -1).unwrap_err();
    assert_eq!(e.invariant_violation().unwrap().invariant, "non-negative");
    assert_eq!(a.load(), 7);
}

#[test]
fn a_check_reading_through_a_variable_of_variables_tracks_the_inner_one() {
    let first = TVar::new(1i64);
    let second = TVar::new(-1i64);
    let outer = TVar::new(first.clone());
    let runs = Arc::new(AtomicUsize::new(0));
    let (o, r) = (outer.clone(), runs.clone());
    atomically(|tx| {
        let (o, r) = (o.clone(), r.clone());
        tx.invariant("inner non-negative", move |tx| {
            r.fetch_add(1, Ordering::SeqCst);
            let inner = o.read(tx)?;
            if inner.read(tx)? >= 0 {
                Ok(())
            } else {
                Err(CheckError::violated("inner negative"))
            }
        })
    });
    assert!(set(&first, -3).is_err(), "a deep write escaped the check");
    let r: Result<(), TransactionError<()>> =
        try_atomically(|tx| Ok(outer.write(tx, second.clone())?));
    assert!(r.is_err(), "pointing at a negative variable");
    set(&second, 2).unwrap();
    atomically(|tx| outer.write(tx, second.clone()));
    let n = runs_of(&runs);
    set(&first, -3).unwrap(); // no longer reachable from the check
    assert_eq!(runs_of(&runs), n);
    assert!(set(&second, -3).is_err());
}

// ---- the registration race ---------------------------------------------------------

/// Every round's counter with what was registered over it, and the writers'
/// (committed, refused) counts.
type RaceOutcome<R> = (Vec<(Arc<TVar<i64>>, R)>, (u64, u64));

/// Races registrations against writers, round after round. Each round makes
/// a fresh counter that two writers keep incrementing (refusals by an
/// invariant named "capped" are expected), and registers something over it
/// with `register`, inside one transaction. Returns every round's counter
/// with what `register` returned, and the writers' (committed, refused)
/// counts.
///
/// To make the race likely rather than lucky, both sides are slowed down at
/// the right place: each writer commit also moves another invariant's
/// dependencies from one half of a set of variables to the other, which keeps
/// the writer busy between locking the counter and taking its commit version;
/// and the registrant's commit runs a slow check (of a scratch variable it
/// writes) after its last read of the counter, for a varying time.
fn race_registrations<R>(
    rounds: usize,
    register: impl Fn(&mut Transaction, &Arc<TVar<i64>>) -> StmResult<R>,
) -> RaceOutcome<R> {
    const FILLERS: usize = 200;
    let current = Arc::new(Mutex::new(Arc::new(TVar::new(0i64))));
    let stop = Arc::new(AtomicBool::new(false));
    let toggle = TVar::new(0u64);
    let fillers: Arc<Vec<TVar<i64>>> = Arc::new((0..FILLERS).map(|_| TVar::new(1)).collect());
    {
        let (t, f) = (toggle.clone(), fillers.clone());
        atomically(|tx| {
            let (t, f) = (t.clone(), f.clone());
            tx.invariant("fillers positive", move |tx| {
                let half = (t.read(tx)? % 2) as usize * (FILLERS / 2);
                for v in &f[half..half + FILLERS / 2] {
                    if v.read(tx)? <= 0 {
                        return Err(CheckError::violated("filler"));
                    }
                }
                Ok(())
            })
        });
    }
    let scratch = TVar::new(0u64);
    let delay = Arc::new(AtomicUsize::new(0));
    {
        let (s, d) = (scratch.clone(), delay.clone());
        atomically(|tx| {
            let (s, d) = (s.clone(), d.clone());
            tx.invariant("slow", move |tx| {
                s.read(tx)?;
                for _ in 0..d.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
                Ok(())
            })
        });
    }
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (current, stop, toggle) = (current.clone(), stop.clone(), toggle.clone());
            thread::spawn(move || {
                let (mut ok, mut refused) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let x = current.lock().unwrap().clone();
                    let r: Result<(), TransactionError<()>> = try_atomically(|tx| {
                        x.modify(tx, |v| v + 1)?;
                        Ok(toggle.modify(tx, |t| t + 1)?)
                    });
                    match r {
                        Ok(()) => ok += 1,
                        Err(e) => {
                            assert_eq!(e.invariant_violation().unwrap().invariant, "capped");
                            refused += 1;
                        }
                    }
                }
                (ok, refused)
            })
        })
        .collect();
    let mut registered = Vec::with_capacity(rounds);
    let mut seed = 0x5EED;
    for round in 0..rounds {
        let x = Arc::new(TVar::new(0i64));
        *current.lock().unwrap() = x.clone();
        // Let the writers pick it up.
        while x.load() < 2 && !writers.iter().all(|w| w.is_finished()) {
            thread::yield_now();
        }
        delay.store((next(&mut seed) % 4_000) as usize, Ordering::Relaxed);
        let r = atomically(|tx| {
            let r = register(tx, &x)?;
            scratch.write(tx, round as u64)?;
            Ok(r)
        });
        registered.push((x, r));
    }
    stop.store(true, Ordering::Relaxed);
    let mut totals = (0, 0);
    for w in writers {
        let (ok, refused) = w.join().unwrap();
        totals = (totals.0 + ok, totals.1 + refused);
    }
    (registered, totals)
}

/// A registrant caps a counter at the value it reads, while writers keep
/// incrementing it. Either a writer's increment serialises before the
/// registration (and the check reads it), or after (and the check refuses
/// it): in the final state every counter is at most its cap.
#[test]
fn registration_races_with_writers_and_loses_no_increment() {
    const ROUNDS: usize = 600;
    let (registered, totals) = race_registrations(ROUNDS, |tx, x| {
        let cap = x.read(tx)?;
        tx.invariant_owned("capped", x, move |x: &TVar<i64>, tx| {
            if x.read(tx)? <= cap {
                Ok(())
            } else {
                Err(CheckError::violated("over the cap"))
            }
        })?;
        Ok(cap)
    });
    let slipped: Vec<_> = registered
        .iter()
        .enumerate()
        .filter(|(_, (x, cap))| x.load() > *cap)
        .map(|(i, (x, cap))| (i, x.load(), *cap))
        .collect();
    assert!(
        slipped.is_empty(),
        "{} of {ROUNDS} registrations were bypassed by a concurrent writer (round, value, cap): {:?}",
        slipped.len(),
        &slipped[..slipped.len().min(5)]
    );
    assert!(totals.0 > 0 && totals.1 > 0, "writers: {totals:?}");
    // Every cap is enforced from now on.
    for (x, cap) in registered.iter().step_by(97) {
        let r: Result<(), TransactionError<()>> = try_atomically(|tx| Ok(x.write(tx, cap + 1)?));
        assert!(r.is_err());
    }
}

/// The same race for an eager cache created over the counter: every
/// increment committed after the creation must recompute it, so once the
/// writers stop every cache equals twice its counter.
#[test]
fn eager_cache_creation_races_with_writers_and_never_goes_stale() {
    const ROUNDS: usize = 400;
    let (created, totals) = race_registrations(ROUNDS, |tx, x| {
        EagerCache::new_owned(tx, x, |x: &TVar<i64>, tx| Ok(x.read(tx)? * 2))
    });
    assert!(totals.0 > 0, "writers: {totals:?}");
    let stale: Vec<_> = created
        .iter()
        .enumerate()
        .filter_map(|(i, (x, cache))| {
            let (v, c) = atomically(|tx| Ok((x.read(tx)?, cache.get(tx)?)));
            (c != 2 * v).then_some((i, v, c))
        })
        .collect();
    assert!(
        stale.is_empty(),
        "{} of {ROUNDS} eager caches went stale (round, counter, cached): {:?}",
        stale.len(),
        &stale[..stale.len().min(5)]
    );
}

/// The same race with a slow check: the registrant reads the counter, then
/// sleeps inside the check while writers hammer it, so its snapshot is
/// almost always out of date when it commits. It must either fail to commit
/// (and re-run) or keep the cap.
#[test]
fn registration_with_a_slow_check_keeps_the_cap() {
    const ROUNDS: usize = 40;
    let current = Arc::new(Mutex::new(Arc::new(TVar::new(0i64))));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (current, stop) = (current.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let x = current.lock().unwrap().clone();
                    let _ = atomically_or_failure(|tx| x.modify(tx, |v| v + 1));
                }
            })
        })
        .collect();
    let mut registered = Vec::new();
    for _ in 0..ROUNDS {
        let x = Arc::new(TVar::new(0i64));
        *current.lock().unwrap() = x.clone();
        let registering = Arc::new(AtomicBool::new(true));
        let slow = registering.clone();
        let cap = within(60, "a slow registration", {
            let x = x.clone();
            move || {
                atomically(|tx| {
                    let cap = x.read(tx)?;
                    let slow = slow.clone();
                    tx.invariant_owned("capped", &x, move |x: &TVar<i64>, tx| {
                        let v = x.read(tx)?;
                        if slow.load(Ordering::Relaxed) {
                            thread::sleep(Duration::from_micros(300));
                        }
                        if v <= cap {
                            Ok(())
                        } else {
                            Err(CheckError::violated("over the cap"))
                        }
                    })?;
                    Ok(cap)
                })
            }
        });
        registering.store(false, Ordering::Relaxed);
        registered.push((x, cap));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    for (round, (x, cap)) in registered.iter().enumerate() {
        assert!(x.load() <= *cap, "round {round}: {} > cap {cap}", x.load());
    }
}

// ---- lazy caches --------------------------------------------------------------------

fn counted_get(cache: &LazyCache<i64>, x: &TVar<i64>, computes: &AtomicUsize) -> i64 {
    atomically(|tx| {
        cache.get(tx, |tx| {
            computes.fetch_add(1, Ordering::SeqCst);
            Ok(x.read(tx)? * 10)
        })
    })
}

#[test]
fn lazy_cache_computes_once_until_an_input_is_written() {
    let x = TVar::new(1i64);
    let unrelated = TVar::new(0i64);
    let cache = LazyCache::new();
    let computes = AtomicUsize::new(0);
    assert!(!cache.is_filled());
    let before = thread_stats();
    for _ in 0..1_000 {
        assert_eq!(counted_get(&cache, &x, &computes), 10);
    }
    assert_eq!(computes.load(Ordering::SeqCst), 1);
    let d = thread_stats() - before;
    assert_eq!((d.cache_misses, d.cache_hits), (1, 999));
    assert!(cache.is_filled());
    for i in 0..10 {
        atomically(|tx| unrelated.write(tx, i));
    }
    assert_eq!(counted_get(&cache, &x, &computes), 10);
    assert_eq!(
        computes.load(Ordering::SeqCst),
        1,
        "recomputed after an unrelated write"
    );
    atomically(|tx| x.write(tx, 2));
    assert!(
        !cache.is_filled(),
        "a committed write to an input leaves the cache filled"
    );
    assert_eq!(counted_get(&cache, &x, &computes), 20);
    assert_eq!(computes.load(Ordering::SeqCst), 2);
    // Explicit invalidation.
    atomically(|tx| cache.invalidate(tx));
    assert!(!cache.is_filled());
    assert_eq!(counted_get(&cache, &x, &computes), 20);
    assert_eq!(computes.load(Ordering::SeqCst), 3);
}

#[test]
fn lazy_cache_follows_a_deep_read_through_a_variable_of_variables() {
    let first = TVar::new(1i64);
    let second = TVar::new(100i64);
    let outer = TVar::new(first.clone());
    let cache: LazyCache<i64> = LazyCache::new();
    let computes = AtomicUsize::new(0);
    let get = || {
        atomically(|tx| {
            cache.get(tx, |tx| {
                computes.fetch_add(1, Ordering::SeqCst);
                outer.read(tx)?.read(tx)
            })
        })
    };
    assert_eq!(get(), 1);
    atomically(|tx| first.write(tx, 2)); // written through another handle
    assert_eq!(get(), 2);
    assert_eq!(computes.load(Ordering::SeqCst), 2);
    atomically(|tx| outer.write(tx, second.clone()));
    assert_eq!(get(), 100);
    assert_eq!(computes.load(Ordering::SeqCst), 3);
    atomically(|tx| first.write(tx, 3)); // no longer an input
    assert_eq!(get(), 100);
    assert_eq!(computes.load(Ordering::SeqCst), 3);
    atomically(|tx| second.write(tx, 101));
    assert_eq!(get(), 101);
    assert_eq!(computes.load(Ordering::SeqCst), 4);
}

#[test]
fn lazy_cache_is_never_stale_inside_the_writing_transaction() {
    let x = TVar::new(1i64);
    let cache: LazyCache<i64> = LazyCache::new();
    let computes = AtomicUsize::new(0);
    assert_eq!(counted_get(&cache, &x, &computes), 10);
    let inside = atomically(|tx| {
        let f = |tx: &mut Transaction| {
            computes.fetch_add(1, Ordering::SeqCst);
            Ok(x.read(tx)? * 10)
        };
        let before = cache.get(tx, f)?;
        x.write(tx, 5)?;
        let after = cache.get(tx, f)?;
        x.write(tx, 6)?;
        let again = cache.get(tx, f)?;
        Ok((before, after, again))
    });
    assert_eq!(inside, (10, 50, 60));
    assert_eq!(counted_get(&cache, &x, &computes), 60);

    // A private value computed from uncommitted writes is never stored.
    let r: Result<i64, TransactionError<()>> = try_atomically(|tx| {
        x.write(tx, 7)?;
        let v = cache.get(tx, |tx| Ok(x.read(tx)? * 10))?;
        assert_eq!(v, 70);
        abort(())
    });
    assert!(r.is_err());
    assert_eq!(counted_get(&cache, &x, &computes), 60);

    // A cache never filled before, read after writing its input.
    let fresh: LazyCache<i64> = LazyCache::new();
    atomically(|tx| {
        x.write(tx, 8)?;
        assert_eq!(fresh.get(tx, |tx| Ok(x.read(tx)? * 10))?, 80);
        Ok(())
    });
    assert_eq!(
        atomically(|tx| fresh.get(tx, |tx| Ok(x.read(tx)? * 10))),
        80
    );
}

#[test]
fn lazy_cache_does_not_cache_errors_or_panics() {
    let x = TVar::new(1i64);
    let cache: LazyCache<i64> = LazyCache::new();
    // A computation that retries inside or_else: the other branch answers,
    // and nothing is stored.
    let v = atomically(|tx| {
        tx.or_else(
            |tx| cache.get(tx, |tx| if x.read(tx)? > 5 { Ok(1) } else { retry() }),
            |_tx| Ok(-1),
        )
    });
    assert_eq!(v, -1);
    assert!(!cache.is_filled());
    // A computation that panics stores nothing either.
    let r = catch_unwind(AssertUnwindSafe(|| {
        atomically(|tx| cache.get(tx, |_tx| -> StmResult<i64> { panic!("no value") }))
    }));
    assert!(r.is_err());
    assert!(!cache.is_filled());
    assert_eq!(atomically(|tx| cache.get(tx, |tx| x.read(tx))), 1);
    assert!(cache.is_filled());

    // A fallible computation: its errors are returned, computed again on
    // every read, and never stored; its first success is.
    let text = TVar::new(String::from("nope"));
    let parsed: LazyCache<i64> = LazyCache::new();
    let computes = AtomicUsize::new(0);
    let parse = |tx: &mut Transaction| {
        computes.fetch_add(1, Ordering::SeqCst);
        Ok(text.read(tx)?.parse::<i64>())
    };
    for _ in 0..3 {
        assert!(atomically(|tx| parsed.try_get(tx, parse)).is_err());
        assert!(!parsed.is_filled());
    }
    assert_eq!(computes.load(Ordering::SeqCst), 3);
    atomically(|tx| text.write(tx, "42".into()));
    for _ in 0..3 {
        assert_eq!(atomically(|tx| parsed.try_get(tx, parse)), Ok(42));
    }
    assert_eq!(computes.load(Ordering::SeqCst), 4);
    atomically(|tx| text.write(tx, "x".into()));
    assert!(atomically(|tx| parsed.try_get(tx, parse)).is_err());
    assert!(
        !parsed.is_filled(),
        "an error replaced nothing but must not be stored"
    );
}

/// Two threads filling the same empty cache at the same time: neither
/// transaction conflicts, and each commits once.
#[test]
fn two_threads_filling_one_cache_do_not_conflict() {
    for _ in 0..20 {
        let x = TVar::new(3i64);
        let cache: LazyCache<i64> = LazyCache::new();
        let barrier = Arc::new(Barrier::new(2));
        let fillers: Vec<_> = (0..2)
            .map(|_| {
                let (x, cache, barrier) = (x.clone(), cache.clone(), barrier.clone());
                thread::spawn(move || {
                    let first = Cell::new(true);
                    let before = thread_stats();
                    let v = atomically(|tx| {
                        cache.get(tx, |tx| {
                            let v = x.read(tx)?;
                            if first.replace(false) {
                                // Both are computing now.
                                barrier.wait();
                            }
                            Ok(v * 2)
                        })
                    });
                    (v, thread_stats() - before)
                })
            })
            .collect();
        for f in fillers {
            let (v, d) = f.join().unwrap();
            assert_eq!(v, 6);
            assert_eq!((d.commits, d.conflicts, d.lock_conflicts), (1, 0, 0), "{d}");
            assert_eq!(d.cache_misses, 1);
        }
        assert!(cache.is_filled());
    }
}

/// A transaction that read an input, then finds the cache filled (by another
/// thread, after another commit changed that input) must not combine the old
/// input with the new cached value.
#[test]
fn a_cache_filled_after_a_snapshot_is_not_mixed_into_it() {
    let a = TVar::new(1i64);
    let cache: LazyCache<i64> = LazyCache::new();
    let attempts = Cell::new(0);
    let (x, c) = atomically(|tx| {
        attempts.set(attempts.get() + 1);
        let x = a.read(tx)?;
        if attempts.get() == 1 {
            let (a2, cache2) = (a.clone(), cache.clone());
            thread::spawn(move || {
                atomically(|tx| a2.write(tx, 2));
                atomically(|tx| cache2.get(tx, |tx| Ok(a2.read(tx)? * 10)))
            })
            .join()
            .unwrap();
        }
        let c = cache.get(tx, |tx| Ok(a.read(tx)? * 10))?;
        assert_eq!(
            c,
            x * 10,
            "a cached value from a newer snapshot mixed with an older read"
        );
        Ok((x, c))
    });
    assert_eq!((x, c), (2, 20));

    // The same when the cache was filled before, and the input the new value
    // depends on was not one of its inputs then.
    let sel = TVar::new(true);
    let b = TVar::new(1i64);
    let d = TVar::new(1i64);
    let cache: LazyCache<i64> = LazyCache::new();
    let compute = {
        let (sel, b, d) = (sel.clone(), b.clone(), d.clone());
        move |tx: &mut Transaction| {
            if sel.read(tx)? {
                b.read(tx)
            } else {
                d.read(tx)
            }
        }
    };
    atomically(|tx| cache.get(tx, compute.clone()));
    atomically(|tx| sel.write(tx, false)); // invalidates; inputs were sel and b
    let attempts = Cell::new(0);
    atomically(|tx| {
        attempts.set(attempts.get() + 1);
        let seen = d.read(tx)?;
        if attempts.get() == 1 {
            let (d2, cache2, compute2) = (d.clone(), cache.clone(), compute.clone());
            thread::spawn(move || {
                atomically(|tx| d2.write(tx, 5));
                atomically(|tx| cache2.get(tx, compute2.clone()))
            })
            .join()
            .unwrap();
        }
        let cached = cache.get(tx, compute.clone())?;
        assert_eq!(cached, seen, "inconsistent cache hit");
        Ok(())
    });
}

/// Readers under concurrent writers: a cached sum always matches the inputs
/// read in the same transaction.
#[test]
fn lazy_cache_stays_consistent_under_concurrent_writers() {
    const N: usize = 4;
    let vars: Arc<Vec<TVar<i64>>> = Arc::new((0..N).map(|_| TVar::new(0)).collect());
    let cache: LazyCache<i64> = LazyCache::new();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (vars, stop) = (vars.clone(), stop.clone());
        thread::spawn(move || {
            let mut seed = 77u64;
            while !stop.load(Ordering::Relaxed) {
                let i = (next(&mut seed) % N as u64) as usize;
                atomically(|tx| vars[i].modify(tx, |v| v + 1));
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (vars, cache) = (vars.clone(), cache.clone());
            thread::spawn(move || {
                for i in 0..4_000 {
                    atomically(|tx| {
                        let direct = if i % 2 == 0 {
                            Some(vars[0].read(tx)?)
                        } else {
                            None
                        };
                        let sum = cache.get(tx, |tx| {
                            let mut s = 0;
                            for v in vars.iter() {
                                s += v.read(tx)?;
                            }
                            Ok(s)
                        })?;
                        let mut check = 0;
                        for v in vars.iter() {
                            check += v.read(tx)?;
                        }
                        assert_eq!(sum, check, "cached sum differs from the inputs");
                        if let Some(first) = direct {
                            assert_eq!(first, vars[0].read(tx)?);
                        }
                        Ok(())
                    });
                }
            })
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

// ---- eager caches -------------------------------------------------------------------

#[test]
fn eager_cache_recomputes_only_after_writes_to_its_inputs() {
    let price = TVar::new(10u32);
    let qty = TVar::new(3u32);
    let unrelated = TVar::new(0u32);
    let computes = Arc::new(AtomicUsize::new(0));
    let before = thread_stats();
    let total = {
        let (p, q, n) = (price.clone(), qty.clone(), computes.clone());
        atomically(move |tx| {
            let (p, q, n) = (p.clone(), q.clone(), n.clone());
            EagerCache::new(tx, move |tx| {
                n.fetch_add(1, Ordering::SeqCst);
                Ok(p.read(tx)? * q.read(tx)?)
            })
        })
    };
    assert_eq!(computes.load(Ordering::SeqCst), 1);
    assert_eq!((thread_stats() - before).eager_runs, 1);
    for _ in 0..100 {
        assert_eq!(atomically(|tx| total.get(tx)), 30);
    }
    atomically(|tx| unrelated.write(tx, 1));
    assert_eq!(
        computes.load(Ordering::SeqCst),
        1,
        "reading or unrelated writes computed"
    );
    let before = thread_stats();
    atomically(|tx| qty.write(tx, 4));
    assert_eq!(computes.load(Ordering::SeqCst), 2);
    assert_eq!((thread_stats() - before).eager_runs, 1);
    assert_eq!(atomically(|tx| total.get(tx)), 40);
    assert_eq!(computes.load(Ordering::SeqCst), 2, "a read computed");
    // Inside a transaction that wrote an input, `get` sees that write.
    let seen = atomically(|tx| {
        price.write(tx, 100)?;
        total.get(tx)
    });
    assert_eq!(seen, 400);
    assert_eq!(atomically(|tx| total.get(tx)), 400);
    // A rolled-back write leaves the stored value alone.
    let _ = try_atomically(|tx| {
        price.write(tx, 1)?;
        assert_eq!(total.get(tx)?, 4);
        abort::<(), _>(())
    });
    assert_eq!(atomically(|tx| total.get(tx)), 400);
}

#[test]
fn eager_cache_follows_a_deep_read() {
    let first = TVar::new(1i64);
    let second = TVar::new(100i64);
    let outer = TVar::new(first.clone());
    let computes = Arc::new(AtomicUsize::new(0));
    let cache = {
        let (o, n) = (outer.clone(), computes.clone());
        atomically(move |tx| {
            let (o, n) = (o.clone(), n.clone());
            EagerCache::new(tx, move |tx| {
                n.fetch_add(1, Ordering::SeqCst);
                o.read(tx)?.read(tx)
            })
        })
    };
    atomically(|tx| first.write(tx, 2));
    assert_eq!(atomically(|tx| cache.get(tx)), 2);
    atomically(|tx| outer.write(tx, second.clone()));
    assert_eq!(atomically(|tx| cache.get(tx)), 100);
    let n = computes.load(Ordering::SeqCst);
    atomically(|tx| first.write(tx, 3));
    assert_eq!(
        computes.load(Ordering::SeqCst),
        n,
        "the old inner variable still triggers it"
    );
    atomically(|tx| second.write(tx, 5));
    assert_eq!(atomically(|tx| cache.get(tx)), 5);
    assert_eq!(computes.load(Ordering::SeqCst), n + 1);
}

/// An invariant over an eager cache's value: it runs after the cache was
/// brought up to date in the same commit.
#[test]
fn invariants_see_eager_caches_up_to_date() {
    let a = TVar::new(1i64);
    let b = TVar::new(1i64);
    let sum = {
        let (a, b) = (a.clone(), b.clone());
        atomically(move |tx| {
            let (a, b) = (a.clone(), b.clone());
            EagerCache::new(tx, move |tx| Ok(a.read(tx)? + b.read(tx)?))
        })
    };
    let s = sum.clone();
    atomically(|tx| {
        let s = s.clone();
        tx.invariant("sum below 10", move |tx| {
            if s.get(tx)? < 10 {
                Ok(())
            } else {
                Err(CheckError::violated("sum too large"))
            }
        })
    });
    atomically(|tx| a.write(tx, 5));
    assert_eq!(atomically(|tx| sum.get(tx)), 6);
    let r = set(&b, 6);
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "sum below 10"
    );
    assert_eq!(atomically(|tx| sum.get(tx)), 6);
}

/// An eager cache that reads another one is brought up to date in the same
/// commit that changed the first one's input.
#[test]
fn chained_eager_caches_update_in_one_commit() {
    let a = TVar::new(1i64);
    let b = TVar::new(10i64);
    let (ca, cb) = {
        let (a, b) = (a.clone(), b.clone());
        atomically(move |tx| {
            let ca = {
                let a = a.clone();
                EagerCache::new(tx, move |tx| Ok(a.read(tx)? * 2))?
            };
            let cb = {
                let (b, ca) = (b.clone(), ca.clone());
                EagerCache::new(tx, move |tx| Ok(b.read(tx)? + ca.get(tx)?))?
            };
            Ok((ca, cb))
        })
    };
    assert_eq!(atomically(|tx| Ok((ca.get(tx)?, cb.get(tx)?))), (2, 12));
    let before = thread_stats();
    atomically(|tx| a.write(tx, 5));
    assert_eq!((thread_stats() - before).eager_runs, 2);
    assert_eq!(atomically(|tx| Ok((ca.get(tx)?, cb.get(tx)?))), (10, 20));
    atomically(|tx| b.write(tx, 0));
    assert_eq!(atomically(|tx| Ok((ca.get(tx)?, cb.get(tx)?))), (10, 10));
}

/// Two eager caches defined through each other (a = b + 1, b = a + 1) never
/// settle: the commit that closes the loop fails with a derivation cycle,
/// and nothing it wrote becomes visible. The loop is closed through a
/// variable holding the second cache, read by the first.
#[test]
fn eager_caches_defined_through_each_other_fail_with_a_derivation_cycle() {
    let slot: TVar<Option<EagerCache<i64>>> = TVar::new(None);
    let x = TVar::new(0i64);
    let a = atomically(|tx| {
        let (slot, x) = (slot.clone(), x.clone());
        EagerCache::new(tx, move |tx| {
            let b = match slot.read(tx)? {
                Some(b) => b.get(tx)?,
                None => 0,
            };
            Ok(x.read(tx)? + b + 1)
        })
    });
    let b = atomically(|tx| {
        let a = a.clone();
        EagerCache::new(tx, move |tx| Ok(a.get(tx)? + 1))
    });
    assert_eq!(atomically(|tx| Ok((a.get(tx)?, b.get(tx)?))), (1, 2));
    let r = within(60, "closing the loop", {
        let (slot, b) = (slot.clone(), b.clone());
        move || try_atomically::<(), (), _>(|tx| Ok(slot.write(tx, Some(b.clone()))?))
    });
    assert_eq!(r, Err(TransactionError::Failed(Failure::DerivationCycle)));
    assert!(slot.load().is_none());
    assert_eq!(atomically(|tx| Ok((a.get(tx)?, b.get(tx)?))), (1, 2));
    // Still usable: an ordinary write recomputes both.
    atomically(|tx| x.write(tx, 10));
    assert_eq!(atomically(|tx| Ok((a.get(tx)?, b.get(tx)?))), (11, 12));
}

/// A transaction that wrote an input never gets a value computed from the
/// committed state, even when another thread fills the (until then empty)
/// cache at the very moment it reads it.
#[test]
fn a_concurrent_fill_never_makes_a_writing_transaction_stale() {
    const ROUNDS: i64 = 20_000;
    let x = TVar::new(0i64);
    let current: Arc<Mutex<Option<LazyCache<i64>>>> = Arc::new(Mutex::new(None));
    let stop = Arc::new(AtomicBool::new(false));
    let filler = {
        let (x, current, stop) = (x.clone(), current.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let cache = current.lock().unwrap().clone();
                if let Some(cache) = cache {
                    atomically(|tx| cache.get(tx, |tx| Ok(x.read(tx)? * 10)));
                }
            }
        })
    };
    let mut stale = 0;
    for i in 1..=ROUNDS {
        let cache = LazyCache::new();
        *current.lock().unwrap() = Some(cache.clone());
        let seen = atomically(|tx| {
            x.write(tx, i)?;
            cache.get(tx, |tx| Ok(x.read(tx)? * 10))
        });
        if seen != i * 10 {
            stale += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    filler.join().unwrap();
    assert_eq!(stale, 0, "stale values inside writing transactions");
}

/// An eager cache whose inputs change with its value (it sums one of two
/// sets of variables, depending on `sel`) while another thread keeps
/// flipping `sel`: a transaction that wrote a variable of the set the cache
/// reads in its snapshot always gets the value computed from its own write.
/// (The sets are large so that recording a change of inputs takes a while.)
#[test]
fn eager_cache_reads_stay_fresh_while_its_inputs_change() {
    const ROUNDS: i64 = 5_000;
    const SET: usize = 100;
    let sel = TVar::new(true);
    let a: Arc<Vec<TVar<i64>>> = Arc::new((0..SET).map(|_| TVar::new(0)).collect());
    let b: Arc<Vec<TVar<i64>>> = Arc::new((0..SET).map(|_| TVar::new(0)).collect());
    let sum = |tx: &mut Transaction, set: &[TVar<i64>]| -> StmResult<i64> {
        let mut s = 0;
        for v in set {
            s += v.read(tx)?;
        }
        Ok(s)
    };
    let cache = atomically(|tx| {
        let (sel, a, b) = (sel.clone(), a.clone(), b.clone());
        EagerCache::new(tx, move |tx| {
            if sel.read(tx)? {
                sum(tx, &a)
            } else {
                sum(tx, &b)
            }
        })
    });
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (sel, stop) = (sel.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                atomically(|tx| sel.modify(tx, |s| !s));
            }
        })
    };
    // Threads blocked on the cache's value: each flip wakes them after
    // publishing it, which keeps the flipper between publishing the value
    // and recording the cache's new inputs for a while.
    let sleepers: Vec<_> = (0..3)
        .map(|_| {
            let (cache, stop) = (cache.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let seen = Cell::new(None);
                    let _ = atomically(|tx| {
                        let v = cache.get(tx)?;
                        if seen.get().is_none() {
                            seen.set(Some(v));
                        }
                        if seen.get() == Some(v) && !stop.load(Ordering::Relaxed) {
                            return retry();
                        }
                        Ok(v)
                    });
                }
            })
        })
        .collect();
    // Counted in every attempt, including those that later fail to commit:
    // the body may act on what it sees.
    let stale = Cell::new(0);
    for i in 1..=ROUNDS {
        atomically(|tx| {
            b[0].write(tx, i)?;
            let seen = cache.get(tx)?;
            let expected = if sel.read(tx)? {
                sum(tx, &a)?
            } else {
                sum(tx, &b)?
            };
            if seen != expected {
                stale.set(stale.get() + 1);
            }
            Ok(())
        });
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    atomically(|tx| sel.modify(tx, |s| !s)); // wakes the sleepers a last time
    for s in sleepers {
        s.join().unwrap();
    }
    assert_eq!(
        stale.get(),
        0,
        "stale eager values inside writing transactions"
    );
}
