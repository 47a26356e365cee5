//! The handle `#[derive(Transactional)]` generates, for a struct without a
//! `#[methods]` block: factory, getters, setters, modifiers, updaters,
//! lending readers, snapshot, identity, `Clone` and `Debug`, shared between
//! threads.

use std::sync::{Arc, Barrier};
use std::thread;
use steadfast::{abort, atomically, try_atomically, TVar, TransactionError, Transactional};

#[derive(Clone, Debug, PartialEq, Transactional)]
struct Account {
    owner: String,
    balance: i64,
}

fn ann(balance: i64) -> TAccount {
    TAccount::new(Account {
        owner: "ann".into(),
        balance,
    })
    .expect("no invariants to violate")
}

#[test]
fn getters_and_setters_read_and_write_each_field() {
    let acc = ann(10);
    assert_eq!(atomically(|tx| acc.owner(tx)), "ann");
    assert_eq!(atomically(|tx| acc.balance(tx)), 10);
    atomically(|tx| {
        acc.set_owner(tx, "bob".into())?;
        let b = acc.balance(tx)?;
        acc.set_balance(tx, b - 3)
    });
    assert_eq!(atomically(|tx| acc.owner(tx)), "bob");
    assert_eq!(atomically(|tx| acc.balance(tx)), 7);
    atomically(|tx| acc.modify_balance(tx, |b| b * 2));
    assert_eq!(atomically(|tx| acc.balance(tx)), 14);
    let len = atomically(|tx| {
        acc.update_owner(tx, |o| o.push_str(" jr"))?;
        acc.update_balance(tx, |b| *b += 1)?;
        acc.update_owner(tx, |o| o.len())
    });
    assert_eq!(len, 6);
    assert_eq!(atomically(|tx| acc.snapshot(tx)).owner, "bob jr");
    assert_eq!(atomically(|tx| acc.balance(tx)), 15);
    let seen = atomically(|tx| {
        let committed = acc.with_owner(tx, |o| o.len())?;
        acc.set_balance(tx, 20)?;
        // Its own write, lent the same way.
        Ok((committed, acc.with_balance(tx, |b| *b)?))
    });
    assert_eq!(seen, (6, 20));
}

/// A generic struct whose type parameter is named like the updater's own.
#[derive(Clone, Debug, Transactional)]
struct Slot<R> {
    value: R,
}

#[test]
fn updaters_work_on_generic_fields() {
    let slot = TSlot::new(Slot { value: vec![1u8] }).unwrap();
    let first = atomically(|tx| {
        slot.update_value(tx, |v| v.push(2))?;
        slot.update_value(tx, |v| v[0])
    });
    assert_eq!(first, 1);
    assert_eq!(atomically(|tx| slot.with_value(tx, |v| v.len())), 2);
    assert_eq!(atomically(|tx| slot.value(tx)), [1, 2]);
}

#[test]
fn snapshot_returns_the_plain_struct() {
    let acc = ann(5);
    atomically(|tx| acc.set_balance(tx, 6));
    assert_eq!(
        atomically(|tx| acc.snapshot(tx)),
        Account {
            owner: "ann".into(),
            balance: 6
        }
    );
}

#[test]
fn a_transaction_sees_its_own_writes_and_others_see_them_at_commit() {
    let acc = ann(1);
    let r = try_atomically(|tx| {
        acc.set_balance(tx, 50)?;
        assert_eq!(acc.balance(tx)?, 50, "own write visible inside");
        abort::<(), _>("changed my mind")
    });
    assert_eq!(r, Err(TransactionError::Aborted("changed my mind")));
    assert_eq!(atomically(|tx| acc.balance(tx)), 1, "rolled back");
}

#[test]
fn clones_are_handles_to_the_same_object() {
    let a = ann(1);
    let b = a.clone();
    let other = ann(1);
    assert!(a.ptr_eq(&b));
    assert!(!a.ptr_eq(&other));
    atomically(|tx| b.set_balance(tx, 99));
    assert_eq!(atomically(|tx| a.balance(tx)), 99);
    assert_eq!(atomically(|tx| other.balance(tx)), 1);
}

#[test]
fn new_in_builds_inside_a_transaction_and_is_undone_with_it() {
    let registry: TVar<Option<TAccount>> = TVar::new(None);
    let r = try_atomically(|tx| {
        let acc = TAccount::new_in(
            tx,
            Account {
                owner: "cat".into(),
                balance: 3,
            },
        )?;
        registry.write(tx, Some(acc))?;
        abort::<(), _>(())
    });
    assert!(r.is_err());
    assert!(
        registry.load().is_none(),
        "an aborted transaction published nothing"
    );

    atomically(|tx| {
        let acc = TAccount::new_in(
            tx,
            Account {
                owner: "cat".into(),
                balance: 3,
            },
        )?;
        registry.write(tx, Some(acc))
    });
    let acc = registry.load().expect("committed");
    assert_eq!(atomically(|tx| acc.owner(tx)), "cat");
}

#[test]
#[should_panic(expected = "inside a running transaction")]
fn new_inside_a_transaction_panics_with_advice() {
    atomically(|_tx| Ok(ann(1)));
}

#[test]
fn many_threads_update_one_object_without_losing_writes() {
    const THREADS: usize = 4;
    const ROUNDS: i64 = 2_000;
    let acc = ann(0);
    let start = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|i| {
            let (acc, start) = (acc.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..ROUNDS {
                    atomically(|tx| acc.modify_balance(tx, |b| b + 1));
                    if i == 0 {
                        // A reader that also writes another field.
                        atomically(|tx| {
                            let b = acc.balance(tx)?;
                            acc.set_owner(tx, format!("seen {b}"))
                        });
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(atomically(|tx| acc.balance(tx)), THREADS as i64 * ROUNDS);
}

/// Two fields whose sum a writer keeps constant: a snapshot always sees them
/// from one moment.
#[derive(Clone, Debug, Transactional)]
struct Scale {
    left: i64,
    right: i64,
}

#[test]
fn snapshots_are_consistent_while_another_thread_writes() {
    let scale = TScale::new(Scale {
        left: 500,
        right: 500,
    })
    .unwrap();
    let writer = {
        let scale = scale.clone();
        thread::spawn(move || {
            for i in 0..5_000i64 {
                atomically(|tx| {
                    let moved = i % 7 - 3;
                    scale.modify_left(tx, |l| l - moved)?;
                    scale.modify_right(tx, |r| r + moved)
                });
            }
        })
    };
    let mut seen = 0;
    while !writer.is_finished() || seen < 100 {
        let s = atomically(|tx| scale.snapshot(tx));
        assert_eq!(s.left + s.right, 1000, "torn snapshot {s:?}");
        seen += 1;
    }
    writer.join().unwrap();
}

/// A field type without `Debug`.
#[derive(Clone)]
struct Opaque;

#[derive(Clone, Transactional)]
struct Holder {
    name: &'static str,
    secret: Opaque,
    friend: Option<THolder>,
}

#[test]
fn debug_prints_committed_fields_and_never_panics_inside_a_transaction() {
    let acc = ann(7);
    assert_eq!(
        format!("{acc:?}"),
        r#"TAccount { owner: "ann", balance: 7 }"#
    );
    let inside = atomically(|tx| {
        acc.set_balance(tx, 8)?;
        // Debug reads the latest committed values, not this transaction's.
        Ok(format!("{acc:?}"))
    });
    assert_eq!(inside, r#"TAccount { owner: "ann", balance: 7 }"#);
    assert_eq!(
        format!("{acc:?}"),
        r#"TAccount { owner: "ann", balance: 8 }"#
    );

    let a = THolder::new(Holder {
        name: "a",
        secret: Opaque,
        friend: None,
    })
    .unwrap();
    let text = format!("{a:?}");
    assert!(
        text.contains("secret: <"),
        "a field without Debug shows its type: {text}"
    );
    assert!(text.contains("Opaque>"), "{text}");

    // A cycle of handles prints a few levels deep, then stops.
    let b = THolder::new(Holder {
        name: "b",
        secret: Opaque,
        friend: Some(a.clone()),
    })
    .unwrap();
    atomically(|tx| a.set_friend(tx, Some(b.clone())));
    let text = format!("{a:?}");
    assert!(text.contains("THolder { .. }"), "{text}");
    assert!(text.len() < 2_000, "bounded output: {text}");
    // Break the cycle so both objects are freed.
    atomically(|tx| a.set_friend(tx, None));
}
