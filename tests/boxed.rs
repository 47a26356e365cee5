//! `#[derive(Boxed)]` and `#[methods(boxed)]` (L42's box pattern): a plain
//! struct kept whole in one transactional variable; `update` and `#[mutator]`s
//! may break its invariants freely, which are checked exactly once, when the
//! transaction commits; caches are per box. Checks are counted per thread
//! (`thread_stats`) and per object (`Calls`), so tests running in parallel do
//! not disturb each other.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use steadfast::{atomically, atomically_or_failure, methods, thread_stats, Boxed};
use steadfast::{StmResult, TVar, Transaction};

/// Counts calls of the functions that receive it.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Calls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Calls")
    }
}

/// A naive, deeply mutable wheel: nothing stops it from going flat.
#[derive(Clone, Debug, Boxed)]
struct Wheel {
    size: u32,
    pressure: u32,
    /// Counts checks of `inflated`.
    checks: Calls,
    /// Counts computations of the caches.
    computes: Calls,
}

#[methods(boxed)]
impl Wheel {
    #[invariant]
    fn inflated(&self) -> Result<(), String> {
        self.checks.hit();
        if self.pressure > 0 {
            Ok(())
        } else {
            Err(format!("a flat {}-inch wheel", self.size))
        }
    }

    #[cache_lazy]
    fn load(&self) -> u32 {
        self.computes.hit();
        self.size * self.pressure
    }

    /// Only `Ok` is cached.
    #[cache_lazy]
    fn rating(&self) -> Result<String, String> {
        self.computes.hit();
        if self.pressure >= 2 {
            Ok(format!("{}/{}", self.size, self.pressure))
        } else {
            Err("too soft to rate".into())
        }
    }

    #[cache_now]
    fn hard(&self) -> bool {
        self.computes.hit();
        self.pressure > 4
    }

    #[mutator]
    fn deflate(&mut self) {
        self.pressure = 0;
    }

    /// Returns the new pressure.
    #[mutator]
    fn pump(&mut self, by: u32) -> u32 {
        self.pressure += by;
        self.pressure
    }

    /// Generic, with a pattern parameter and `Self` in a type.
    #[mutator]
    fn reshape<N: Into<u32>>(&mut self, (size, pressure): (N, N), _like: Option<&Self>) {
        self.size = size.into();
        self.pressure = pressure.into();
    }

    #[mutator]
    fn burst(&mut self) {
        self.pressure = 0;
        panic!("bang");
    }
}

fn wheel(pressure: u32) -> (WheelBox, Calls, Calls) {
    let (checks, computes) = (Calls::default(), Calls::default());
    let w = WheelBox::new(Wheel {
        size: 26,
        pressure,
        checks: checks.clone(),
        computes: computes.clone(),
    })
    .unwrap();
    (w, checks, computes)
}

fn pressure(w: &WheelBox) -> u32 {
    atomically(|tx| w.read(tx, |raw| raw.pressure))
}

#[test]
fn read_update_snapshot_identity_and_debug() {
    let (w, _, _) = wheel(2);
    assert_eq!(
        atomically(|tx| w.read(tx, |raw| (raw.size, raw.pressure))),
        (26, 2)
    );
    let old = atomically(|tx| {
        w.update(tx, |raw| {
            let old = raw.pressure;
            raw.pressure = 7;
            old
        })
    });
    assert_eq!(old, 2);
    assert_eq!(pressure(&w), 7);
    let copy = atomically(|tx| w.snapshot(tx));
    assert_eq!((copy.size, copy.pressure), (26, 7));

    let same = w.clone();
    assert!(same.ptr_eq(&w));
    atomically(|tx| same.pump(tx, 1));
    assert_eq!(pressure(&w), 8, "clones are handles to the same box");
    let (other, _, _) = wheel(8);
    assert!(!other.ptr_eq(&w), "equal values, different boxes");

    assert_eq!(
        format!("{w:?}"),
        "WheelBox(Wheel { size: 26, pressure: 8, checks: Calls, computes: Calls })"
    );
}

#[test]
fn the_factory_checks_the_invariants_and_names_the_failing_one() {
    let (_, checks, _) = wheel(1);
    assert_eq!(checks.count(), 1, "checked once, by the factory");
    let err = WheelBox::new(Wheel {
        size: 20,
        pressure: 0,
        checks: Calls::default(),
        computes: Calls::default(),
    })
    .unwrap_err();
    assert_eq!(err.object(), "Wheel");
    assert_eq!(err.invariant(), Some("Wheel::inflated"));
    assert!(err.to_string().contains("a flat 20-inch wheel"), "{err}");
}

#[test]
fn three_mutators_in_one_transaction_check_once_at_commit() {
    let (w, checks, _) = wheel(3);
    let before_checks = checks.count();
    let before = thread_stats();
    let last = atomically(|tx| {
        w.deflate(tx)?; // broken here
        assert_eq!(w.read(tx, |raw| raw.pressure)?, 0);
        w.pump(tx, 1)?;
        w.pump(tx, 4)
    });
    let after = thread_stats() - before;
    assert_eq!(last, 5);
    assert_eq!(after.commits, 1);
    assert_eq!(after.invariant_runs, 1, "one check, at the end");
    assert_eq!(checks.count(), before_checks + 1);
    assert_eq!(pressure(&w), 5);
}

#[test]
fn updates_and_mutators_mixed_check_once() {
    let (w, checks, _) = wheel(3);
    let before_checks = checks.count();
    let before = thread_stats();
    atomically(|tx| {
        w.update(tx, |raw| raw.pressure = 0)?;
        w.reshape(tx, (28u8, 0u8), None)?;
        w.update(tx, |raw| raw.pressure += 2)?;
        w.pump(tx, 1)
    });
    assert_eq!((thread_stats() - before).invariant_runs, 1);
    assert_eq!(checks.count(), before_checks + 1);
    assert_eq!(
        atomically(|tx| w.read(tx, |raw| (raw.size, raw.pressure))),
        (28, 3)
    );
}

#[test]
fn a_transaction_that_ends_broken_fails_naming_the_invariant_and_writes_nothing() {
    let (w, checks, _) = wheel(3);
    let other = TVar::new(0);
    let before_checks = checks.count();
    let before = thread_stats();
    let r = atomically_or_failure(|tx| {
        other.write(tx, 1)?;
        w.pump(tx, 10)?;
        w.deflate(tx)
    });
    let after = thread_stats() - before;
    let err = r.unwrap_err();
    let violation = err.invariant_violation().expect("an invariant failed");
    assert_eq!(violation.invariant, "Wheel::inflated");
    assert_eq!(violation.message, "a flat 26-inch wheel");
    assert_eq!(after.invariant_runs, 1);
    assert_eq!(after.invariant_failures, 1);
    assert_eq!(after.commits, 0);
    assert_eq!(checks.count(), before_checks + 1);
    assert_eq!(pressure(&w), 3, "nothing written");
    assert_eq!(other.load(), 0, "nothing written");
}

#[test]
fn transactions_that_only_read_check_nothing() {
    let (w, checks, _) = wheel(3);
    let before_checks = checks.count();
    let before = thread_stats();
    for _ in 0..10 {
        atomically(|tx| {
            w.read(tx, |raw| raw.size)?;
            w.snapshot(tx)?;
            w.load(tx)?;
            w.hard(tx)
        });
    }
    assert_eq!((thread_stats() - before).invariant_runs, 0);
    assert_eq!(checks.count(), before_checks);
    // The invariant's own method evaluates it on demand.
    assert_eq!(atomically(|tx| w.inflated(tx)), Ok(()));
}

#[test]
fn boxes_built_inside_a_transaction_exist_once_it_commits() {
    let r = atomically_or_failure(|tx| {
        let w = WheelBox::new_in(
            tx,
            Wheel {
                size: 24,
                pressure: 0,
                checks: Calls::default(),
                computes: Calls::default(),
            },
        )?;
        Ok(w)
    });
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "Wheel::inflated"
    );
    let w = atomically(|tx| {
        let w = WheelBox::new_in(
            tx,
            Wheel {
                size: 24,
                pressure: 2,
                checks: Calls::default(),
                computes: Calls::default(),
            },
        )?;
        w.pump(tx, 1)?;
        Ok(w)
    });
    assert_eq!(pressure(&w), 3);
    assert!(atomically_or_failure(|tx| w.deflate(tx)).is_err());
}

#[test]
fn a_panicking_mutator_rolls_back_and_the_box_stays_usable() {
    let (w, _, _) = wheel(3);
    let r = catch_unwind(AssertUnwindSafe(|| atomically(|tx| w.burst(tx))));
    assert!(r.is_err());
    assert_eq!(pressure(&w), 3);
    assert_eq!(atomically(|tx| w.pump(tx, 1)), 4);
}

#[test]
fn lazy_caches_are_per_box_and_invalidated_by_its_changes() {
    let (a, _, a_computes) = wheel(2);
    let (b, _, b_computes) = wheel(3);
    let (a0, b0) = (a_computes.count(), b_computes.count());
    assert_eq!(atomically(|tx| a.load(tx)), 52);
    assert_eq!(atomically(|tx| b.load(tx)), 78);
    assert_eq!(atomically(|tx| a.load(tx)), 52);
    assert_eq!((a_computes.count(), b_computes.count()), (a0 + 1, b0 + 1));

    // Changing `a` (which also recomputes its `cache_now`) leaves `b`'s cache alone.
    atomically(|tx| a.pump(tx, 1));
    let a1 = a_computes.count();
    assert_eq!(atomically(|tx| a.load(tx)), 78);
    assert_eq!(atomically(|tx| b.load(tx)), 78);
    assert_eq!(a_computes.count(), a1 + 1, "a recomputed");
    assert_eq!(b_computes.count(), b0 + 1, "b still cached");

    // Inside the writing transaction, the cache is never stale.
    let seen = atomically(|tx| {
        let before = a.load(tx)?;
        a.update(tx, |raw| raw.size = 10)?;
        Ok((before, a.load(tx)?))
    });
    assert_eq!(seen, (78, 30));
    assert_eq!(atomically(|tx| a.load(tx)), 30);
}

#[test]
fn fallible_lazy_caches_keep_only_ok() {
    let (w, _, computes) = wheel(1);
    let c0 = computes.count();
    assert_eq!(
        atomically(|tx| w.rating(tx)),
        Err("too soft to rate".into())
    );
    assert_eq!(
        atomically(|tx| w.rating(tx)),
        Err("too soft to rate".into())
    );
    assert_eq!(computes.count(), c0 + 2, "errors are computed again");
    atomically(|tx| w.pump(tx, 1));
    let c1 = computes.count();
    assert_eq!(atomically(|tx| w.rating(tx)), Ok("26/2".into()));
    assert_eq!(atomically(|tx| w.rating(tx)), Ok("26/2".into()));
    assert_eq!(computes.count(), c1 + 1, "Ok is cached");
}

#[test]
fn cache_now_is_computed_by_the_factory_and_once_per_changing_commit() {
    let (w, _, computes) = wheel(3);
    assert_eq!(computes.count(), 1, "the factory computed `hard`");
    assert!(!atomically(|tx| w.hard(tx)));
    assert_eq!(computes.count(), 1, "reading never computes");
    let before = thread_stats();
    atomically(|tx| {
        w.pump(tx, 1)?;
        w.pump(tx, 1)?;
        w.pump(tx, 1)
    });
    assert_eq!((thread_stats() - before).eager_runs, 1);
    assert_eq!(computes.count(), 2);
    assert!(atomically(|tx| w.hard(tx)));
    assert_eq!(computes.count(), 2);
}

// ---- a mutator that works through the transaction -------------------------------

/// A counter that appends each value it reaches to a shared log.
#[derive(Clone, Boxed)]
#[boxed(handle = "Tally")]
struct Counter {
    n: u32,
    log: TVar<Vec<u32>>,
}

#[methods(boxed, handle = Tally)]
impl Counter {
    #[invariant]
    fn logged(&self, tx: &mut Transaction) -> StmResult<bool> {
        Ok(self.log.read(tx)?.last().copied().unwrap_or(0) == self.n)
    }

    /// Unlogged: breaks `logged` until `record` runs.
    #[mutator]
    fn bump(&mut self) {
        self.n += 1;
    }

    #[mutator]
    fn record(&mut self, tx: &mut Transaction) -> StmResult<usize> {
        let n = self.n;
        self.log.modify(tx, |mut log| {
            log.push(n);
            log
        })?;
        Ok(self.log.read(tx)?.len())
    }
}

#[test]
fn a_mutator_may_read_and_write_through_the_transaction() {
    let log = TVar::new(Vec::new());
    let tally = Tally::new(Counter {
        n: 0,
        log: log.clone(),
    })
    .unwrap();
    let entries = atomically(|tx| {
        tally.bump(tx)?;
        tally.bump(tx)?;
        tally.record(tx)
    });
    assert_eq!(entries, 1);
    assert_eq!(log.load(), vec![2]);
    // The check read the log: writing the log alone checks it too.
    let r = atomically_or_failure(|tx| log.write(tx, vec![7]));
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "Counter::logged"
    );
    let r = atomically_or_failure(|tx| tally.bump(tx));
    assert!(r.is_err(), "an unlogged bump cannot commit");
}

// ---- generic boxes and enums ---------------------------------------------------------

/// The `#[methods(boxed)]` block needs `T: PartialOrd`, which the derive
/// must know to link it.
#[derive(Clone, Debug, PartialEq, Boxed)]
#[boxed(bound = "T: PartialOrd")]
struct Interval<T> {
    low: T,
    high: T,
}

#[methods(boxed)]
impl<T: PartialOrd + Clone + Send + Sync + 'static> Interval<T> {
    #[invariant]
    fn ordered(&self) -> bool {
        self.low <= self.high
    }

    #[mutator]
    fn shift_to(&mut self, low: T, high: T) {
        self.high = high;
        self.low = low;
    }
}

#[test]
fn generic_boxes_check_every_instantiation() {
    let ints = IntervalBox::new(Interval { low: 1, high: 5 }).unwrap();
    let words = IntervalBox::new(Interval {
        low: "ant".to_string(),
        high: "bee".to_string(),
    })
    .unwrap();
    atomically(|tx| ints.shift_to(tx, 10, 20));
    assert_eq!(
        atomically(|tx| ints.snapshot(tx)),
        Interval { low: 10, high: 20 }
    );
    let r = atomically_or_failure(|tx| words.shift_to(tx, "cat".into(), "ant".into()));
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "Interval::ordered"
    );
    assert_eq!(
        format!("{ints:?}"),
        "IntervalBox(Interval { low: 10, high: 20 })"
    );
}

/// A state machine: an enum boxed whole.
#[derive(Clone, Debug, PartialEq, Boxed)]
enum Door {
    Open { angle: u32 },
    Closed,
    Locked { code: u32 },
}

#[methods(boxed)]
impl Door {
    #[invariant]
    fn sane(&self) -> bool {
        !matches!(self, Door::Open { angle } if *angle > 180)
    }

    #[mutator]
    fn lock(&mut self, code: u32) -> Result<(), String> {
        match self {
            Door::Closed => {
                *self = Door::Locked { code };
                Ok(())
            }
            other => Err(format!("cannot lock a door that is {other:?}")),
        }
    }
}

#[test]
fn an_enum_can_be_boxed() {
    let door = DoorBox::new(Door::Open { angle: 90 }).unwrap();
    assert!(atomically(|tx| door.lock(tx, 1)).is_err());
    atomically(|tx| door.update(tx, |d| *d = Door::Closed));
    assert_eq!(atomically(|tx| door.lock(tx, 42)), Ok(()));
    assert_eq!(
        atomically(|tx| door.snapshot(tx)),
        Door::Locked { code: 42 }
    );
    let r = atomically_or_failure(|tx| door.update(tx, |d| *d = Door::Open { angle: 270 }));
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "Door::sane"
    );
}

// ---- many threads ----------------------------------------------------------------------

/// A naive ledger: transfers are a withdrawal then a deposit, and the total
/// is wrong in between.
#[derive(Clone, Debug, Boxed)]
struct Ledger {
    balances: Vec<i64>,
    total: i64,
}

#[methods(boxed)]
impl Ledger {
    #[invariant]
    fn conserved(&self) -> Result<(), String> {
        let sum: i64 = self.balances.iter().sum();
        if sum != self.total {
            return Err(format!("balances sum to {sum}, not {}", self.total));
        }
        match self.balances.iter().position(|b| *b < 0) {
            Some(i) => Err(format!("account {i} is overdrawn")),
            None => Ok(()),
        }
    }

    #[cache_lazy]
    fn richest(&self) -> usize {
        let max = self.balances.iter().max().copied().unwrap_or(0);
        self.balances.iter().position(|b| *b == max).unwrap_or(0)
    }

    #[mutator]
    fn withdraw(&mut self, account: usize, amount: i64) {
        self.balances[account] -= amount;
    }

    #[mutator]
    fn deposit(&mut self, account: usize, amount: i64) {
        self.balances[account] += amount;
    }
}

#[test]
fn concurrent_transfers_break_the_invariant_inside_and_nobody_sees_it() {
    const ACCOUNTS: usize = 8;
    const THREADS: usize = 4;
    const TRANSFERS: usize = 1_500;
    let total = 1_000 * ACCOUNTS as i64;
    let ledger = LedgerBox::new(Ledger {
        balances: vec![1_000; ACCOUNTS],
        total,
    })
    .unwrap();
    let start = Arc::new(Barrier::new(THREADS + 1));
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (ledger, start) = (ledger.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let before = thread_stats();
                let mut refused = 0;
                for i in 0..TRANSFERS {
                    let from = (i * 7 + t) % ACCOUNTS;
                    let to = (i * 3 + t + 1) % ACCOUNTS;
                    let amount = ((i * 31 + t * 17) % 400) as i64;
                    let r = atomically_or_failure(|tx| {
                        ledger.withdraw(tx, from, amount)?; // broken here
                        ledger.deposit(tx, to, amount)
                    });
                    match r {
                        Ok(()) => {}
                        // Overdrawn: refused whole, by the invariant.
                        Err(e) => {
                            let v = e.invariant_violation().expect("an invariant failed");
                            assert_eq!(v.invariant, "Ledger::conserved");
                            assert!(v.message.contains("overdrawn"), "{}", v.message);
                            refused += 1;
                        }
                    }
                }
                (thread_stats() - before, refused)
            })
        })
        .collect();
    start.wait();
    let mut observed = 0;
    while writers.iter().any(|w| !w.is_finished()) || observed < 200 {
        let (sum, any_negative, at_richest, max) = atomically(|tx| {
            let richest = ledger.richest(tx)?;
            ledger.read(tx, |l| {
                (
                    l.balances.iter().sum::<i64>(),
                    l.balances.iter().any(|b| *b < 0),
                    l.balances[richest],
                    l.balances.iter().max().copied().unwrap(),
                )
            })
        });
        assert_eq!(sum, total, "a reader saw a transfer half done");
        assert!(!any_negative);
        assert_eq!(at_richest, max, "the cached `richest` is never stale");
        observed += 1;
    }
    let mut commits = 0;
    let mut refused = 0;
    for w in writers {
        let (stats, r) = w.join().unwrap();
        // Every commit ran the check once; attempts that started over may
        // have run it again.
        assert!(stats.invariant_runs >= stats.commits);
        commits += stats.commits as usize;
        refused += r;
    }
    assert_eq!(commits + refused, THREADS * TRANSFERS);
    let end = atomically(|tx| ledger.snapshot(tx));
    assert_eq!(end.balances.iter().sum::<i64>(), total);
    assert!(end.balances.iter().all(|b| *b >= 0));
}

/// A boxed value that counts its copies.
#[derive(Debug, Boxed)]
struct Scores {
    points: Vec<u32>,
    copies: Calls,
}

impl Clone for Scores {
    fn clone(&self) -> Self {
        self.copies.hit();
        Scores {
            points: self.points.clone(),
            copies: self.copies.clone(),
        }
    }
}

#[methods(boxed)]
impl Scores {
    #[invariant]
    fn capped(&self) -> bool {
        self.points.iter().all(|p| *p <= 100)
    }

    #[mutator]
    fn score(&mut self, points: u32) {
        self.points.push(points);
    }
}

#[test]
fn a_transaction_copies_a_box_once_however_many_changes_it_makes() {
    let copies = Calls::default();
    let scores = ScoresBox::new(Scores {
        points: vec![],
        copies: copies.clone(),
    })
    .unwrap();
    // Let this thread see the box's version: a first read newer than the
    // thread's snapshot looks twice.
    atomically(|tx| scores.score(tx, 1));
    let before = copies.count();
    atomically(|tx| {
        for p in 2..=10 {
            scores.score(tx, p)?;
        }
        scores.update(tx, |s| s.points.push(11))
    });
    assert_eq!(copies.count() - before, 1, "only the first change copies");
    assert_eq!(
        atomically(|tx| scores.read(tx, |s| s.points.clone())),
        (1..=11).collect::<Vec<_>>()
    );
    // A transaction that breaks the invariant changes nothing.
    let r = atomically_or_failure(|tx| {
        scores.score(tx, 5)?;
        scores.score(tx, 500)
    });
    assert!(r.unwrap_err().invariant_violation().is_some());
    assert_eq!(atomically(|tx| scores.read(tx, |s| s.points.len())), 11);
}
