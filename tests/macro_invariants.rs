//! `#[invariant]`: checked by the factory and at the end of every transaction
//! that wrote what it read; a failure aborts the transaction with nothing
//! visible and names the invariant; a transaction may break an invariant and
//! restore it before its end (L42's path/location example).

use steadfast::{atomically, atomically_or_failure, methods, thread_stats, Failure, Transactional};

#[derive(Clone, Debug, Transactional)]
struct Account {
    owner: String,
    balance: i64,
    limit: i64,
}

#[methods]
impl Account {
    #[invariant]
    fn solvent(balance: &i64, limit: &i64) -> Result<(), String> {
        if *balance >= -*limit {
            Ok(())
        } else {
            Err(format!("balance {balance} is below -{limit}"))
        }
    }

    #[invariant]
    fn named(owner: &str) -> bool {
        !owner.is_empty()
    }
}

fn account(balance: i64) -> TAccount {
    TAccount::new(Account {
        owner: "ann".into(),
        balance,
        limit: 0,
    })
    .unwrap()
}

#[test]
fn the_factory_names_the_violated_invariant() {
    let err = TAccount::new(Account {
        owner: "ann".into(),
        balance: -5,
        limit: 0,
    })
    .unwrap_err();
    assert_eq!(err.object(), "Account");
    assert_eq!(err.invariant(), Some("Account::solvent"));
    assert_eq!(
        err.invariant_violation().unwrap().message,
        "balance -5 is below -0"
    );
    assert_eq!(
        err.to_string(),
        "cannot build `Account`: invariant `Account::solvent` violated: balance -5 is below -0"
    );

    let err = TAccount::new(Account {
        owner: String::new(),
        balance: 0,
        limit: 0,
    })
    .unwrap_err();
    assert_eq!(err.invariant(), Some("Account::named"));
    assert_eq!(err.invariant_violation().unwrap().message, "returned false");
}

#[test]
fn the_factory_checks_each_invariant_once() {
    let before = thread_stats();
    let _acc = account(1);
    assert_eq!((thread_stats() - before).invariant_runs, 2);
}

#[test]
fn new_in_fails_the_enclosing_transaction() {
    let r = atomically_or_failure(|tx| {
        TAccount::new_in(
            tx,
            Account {
                owner: "x".into(),
                balance: -1,
                limit: 0,
            },
        )
    });
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "Account::solvent"
    );
}

#[test]
fn a_commit_that_breaks_an_invariant_fails_and_publishes_nothing() {
    let acc = account(10);
    let other = account(0);
    let r = atomically_or_failure(|tx| {
        other.set_balance(tx, 10)?;
        acc.set_owner(tx, "bob".into())?;
        acc.set_balance(tx, -1)?;
        Ok(())
    });
    let err = r.unwrap_err();
    assert_eq!(
        err.invariant_violation().unwrap().invariant,
        "Account::solvent"
    );
    assert!(matches!(err, Failure::InvariantViolated(_)));
    assert_eq!(atomically(|tx| acc.balance(tx)), 10);
    assert_eq!(atomically(|tx| acc.owner(tx)), "ann");
    assert_eq!(
        atomically(|tx| other.balance(tx)),
        0,
        "every write rolled back"
    );
}

#[test]
#[should_panic(expected = "invariant `Account::solvent` violated")]
fn atomically_panics_naming_the_invariant() {
    let acc = account(1);
    atomically(|tx| acc.set_balance(tx, -1));
}

#[test]
fn an_invariant_may_be_broken_and_restored_within_a_transaction() {
    let acc = account(10);
    atomically(|tx| {
        acc.set_balance(tx, -100)?; // broken here...
        acc.set_limit(tx, 200) // ...and fine at the end.
    });
    assert_eq!(atomically(|tx| acc.balance(tx)), -100);
}

#[test]
fn only_transactions_that_write_an_input_run_the_check() {
    let acc = account(10);
    atomically(|tx| acc.balance(tx)); // warm up this thread's counters
    let before = thread_stats();
    atomically(|tx| acc.balance(tx));
    assert_eq!(
        (thread_stats() - before).invariant_runs,
        0,
        "a reader runs nothing"
    );

    let before = thread_stats();
    atomically(|tx| acc.set_balance(tx, 11));
    assert_eq!(
        (thread_stats() - before).invariant_runs,
        1,
        "only `solvent`"
    );

    let before = thread_stats();
    atomically(|tx| acc.set_owner(tx, "cy".into()));
    assert_eq!((thread_stats() - before).invariant_runs, 1, "only `named`");
}

#[test]
fn the_handle_method_evaluates_the_check_on_current_values() {
    let acc = account(3);
    assert_eq!(atomically(|tx| acc.solvent(tx)), Ok(()));
    let inside = atomically(|tx| {
        acc.set_balance(tx, -3)?;
        let now = acc.solvent(tx)?;
        acc.set_balance(tx, 3)?;
        Ok(now)
    });
    assert_eq!(inside, Err("balance -3 is below -0".to_string()));
    assert!(atomically(|tx| acc.named(tx)));
}

// ---- L42's path/location example --------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Clone, Transactional)]
struct Walker {
    path: Vec<Point>,
    location: Point,
}

#[methods]
impl Walker {
    /// The current location is never on the path still to walk.
    #[invariant]
    fn off_path(path: &[Point], location: &Point) -> Result<(), String> {
        if path.contains(location) {
            Err(format!("{location:?} is still on the path"))
        } else {
            Ok(())
        }
    }
}

fn p(x: i32, y: i32) -> Point {
    Point { x, y }
}

#[test]
fn moving_to_the_next_point_sets_the_location_then_removes_it_from_the_path() {
    let w = TWalker::new(Walker {
        path: vec![p(1, 0), p(2, 0), p(3, 0)],
        location: p(0, 0),
    })
    .unwrap();
    // In L42 the check after the first setter fails: the location is still on
    // the path. Here both writes commit together and the check runs once.
    for expected in [p(1, 0), p(2, 0), p(3, 0)] {
        atomically(|tx| {
            let path = w.path(tx)?;
            w.set_location(tx, path[0])?;
            w.set_path(tx, path[1..].to_vec())
        });
        assert_eq!(atomically(|tx| w.location(tx)), expected);
    }
    assert!(atomically(|tx| w.path(tx)).is_empty());
}

#[test]
fn forgetting_to_remove_the_point_is_caught_at_commit() {
    let w = TWalker::new(Walker {
        path: vec![p(1, 0), p(2, 0)],
        location: p(0, 0),
    })
    .unwrap();
    let r = atomically_or_failure(|tx| {
        let path = w.path(tx)?;
        w.set_location(tx, path[0])?;
        Ok(())
    });
    let v = r.unwrap_err();
    let v = v.invariant_violation().unwrap();
    assert_eq!(v.invariant, "Walker::off_path");
    assert_eq!(v.message, "Point { x: 1, y: 0 } is still on the path");
    assert_eq!(atomically(|tx| w.location(tx)), p(0, 0));
}
