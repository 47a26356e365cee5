//! What the quick commit leaves behind when it stands aside: nothing taken
//! when it cannot start, and, when it hands over midway, the entries it
//! published left alone (another committer may hold them by then).

use crate::lease::Lease;
use crate::transaction::{Published, QuickCommit};
use crate::TVar;

#[test]
fn a_hand_over_midway_leaves_what_it_published_alone() {
    let a = TVar::new(0i64);
    let b = TVar::new(String::new());
    let c = TVar::new(0i64);
    let mut tx = Lease::take();
    for round in 1..=100 {
        tx.begin();
        a.write(&mut tx, round).unwrap();
        b.write(&mut tx, format!("round {round}")).unwrap();
        c.write(&mut tx, -round).unwrap();
        match tx.commit_quick() {
            QuickCommit::Ticked {
                published: Published::Plain,
            } => {
                // The inline values are out and free: another committer may
                // take them now. The boxed one waits for the general way.
                assert_eq!((a.load(), c.load()), (round, -round));
                let held = a.core().lock.try_lock().expect("published and unlocked");
                assert!(!c.core().lock.load().is_locked());
                assert!(b.core().lock.load().is_locked(), "not published yet");
                assert!(tx.finish_ticked(Published::Plain).is_ok());
                assert!(a.core().lock.load().is_locked(), "the other lock survives");
                a.core().lock.unlock_unchanged(held);
                drop(tx.finish_commit());
                drop(tx);
                assert_eq!((a.load(), c.load()), (round, -round));
                assert_eq!(b.load(), format!("round {round}"));
                assert!(!b.core().lock.load().is_locked());
                return;
            }
            // Another test's commit came between snapshot and version.
            QuickCommit::Ticked {
                published: Published::None,
            } => assert!(tx.finish_ticked(Published::None).is_ok()),
            _ => panic!("an uncontended attempt commits or hands over ticked"),
        }
        drop(tx.finish_commit());
    }
    panic!("never handed over midway in 100 rounds");
}

#[test]
fn a_lock_held_elsewhere_sends_the_commit_the_usual_way_holding_nothing() {
    let vars: Vec<TVar<i64>> = (0..3).map(TVar::new).collect();
    let words: Vec<_> = vars.iter().map(|v| v.core().lock.load()).collect();
    let held = vars[2].core().lock.try_lock().expect("unlocked");
    let mut tx = Lease::take();
    tx.begin();
    for v in &vars {
        v.write(&mut tx, 10).unwrap();
    }
    assert!(matches!(tx.commit_quick(), QuickCommit::Untouched));
    // The two it locked are back as they were; the held one stays held.
    assert_eq!(vars[0].core().lock.load(), words[0]);
    assert_eq!(vars[1].core().lock.load(), words[1]);
    assert!(vars[2].core().lock.load().is_locked());
    drop(tx.abort_attempt());
    drop(tx);
    vars[2].core().lock.unlock_unchanged(held);
    assert_eq!(vars.iter().map(TVar::load).collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn a_hand_over_before_publishing_validates_and_releases_on_conflict() {
    let read = TVar::new(0i64);
    let written = TVar::new(0i64);
    let word = written.core().lock.load();
    let mut tx = Lease::take();
    tx.begin();
    assert_eq!(read.read(&mut tx).unwrap(), 0);
    written.write(&mut tx, 1).unwrap();
    // A commit elsewhere changes what the attempt read.
    let other = read.clone();
    std::thread::spawn(move || crate::atomically(|tx| other.write(tx, 5)))
        .join()
        .unwrap();
    assert!(matches!(
        tx.commit_quick(),
        QuickCommit::Ticked {
            published: Published::None
        }
    ));
    assert!(
        tx.finish_ticked(Published::None).is_err(),
        "the read changed"
    );
    assert_eq!(written.core().lock.load(), word, "released unchanged");
    drop(tx.abort_attempt());
    drop(tx);
    assert_eq!((read.load(), written.load()), (5, 0));
}
