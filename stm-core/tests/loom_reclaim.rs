//! Model of the reclamation protocol of `reclaim.rs`, explored by loom:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p steadfast-core --release --test loom_reclaim
//! ```
//!
//! A reader runs a transaction that reaches a variable through a borrowed
//! reference, gives the reference back (the owner may drop the variable from
//! then on), and keeps using the pointer its logs hold, as validation does at
//! commit. The owner, once the reference is back, drops the last handle:
//! it retires it, seals the batch and releases whatever is safe. Releasing
//! writes the variable's memory ("frees" it); loom reports that write as a
//! race if it is not ordered after every read the transaction made. The
//! transaction announces itself with plain stores only.

#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use steadfast_core::reclaim::{Bag, Registry};

/// A variable's memory.
struct Var {
    word: UnsafeCell<u64>,
}

impl Var {
    fn read(&self) -> u64 {
        // SAFETY: the protocol under test orders this read before `free`.
        self.word.with(|p| unsafe { *p })
    }
}

/// The last handle to a variable: dropping it frees the memory.
struct Handle(Arc<Var>);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: loom checks that no read races with this write.
        self.0.word.with_mut(|p| unsafe { *p = u64::MAX });
    }
}

fn run(reader_validates_after_giving_back: bool) {
    loom::model(move || {
        let registry = Arc::new(Registry::<Handle>::new());
        let var = Arc::new(Var {
            word: UnsafeCell::new(7),
        });
        let borrowed_back = Arc::new(AtomicBool::new(false));
        let mut reader = registry.register();

        let r = {
            let var = var.clone();
            let borrowed_back = borrowed_back.clone();
            thread::spawn(move || {
                reader.enter();
                // The body reads through the borrowed reference ...
                assert_eq!(var.read(), 7);
                // ... and gives it back: from here the owner may drop it.
                borrowed_back.store(true, Ordering::Release);
                if reader_validates_after_giving_back {
                    // The logs still point at the variable.
                    assert_eq!(var.read(), 7);
                }
                reader.leave();
            })
        };

        let owner = {
            let registry = registry.clone();
            let handle = Handle(var.clone());
            thread::spawn(move || {
                while !borrowed_back.load(Ordering::Acquire) {
                    thread::yield_now();
                }
                let mut bag = Bag::new();
                let _ = bag.retire(handle);
                bag.seal(&registry);
                let mut released = 0;
                for _ in 0..2 {
                    match bag.take_done(&registry) {
                        Some(batch) => {
                            released += batch.len();
                            drop(batch);
                        }
                        None => thread::yield_now(),
                    }
                }
                // Whatever is left waits for the reader.
                bag.abandon(&registry);
                released
            })
        };
        r.join().unwrap();
        let _ = owner.join().unwrap();
        // Everything is released once the reader has left.
        let mut bag = Bag::new();
        while let Some(batch) = bag.take_done(&registry) {
            drop(batch);
        }
        assert_eq!(var.read(), u64::MAX, "the variable was never released");
    });
}

#[test]
fn a_retired_variable_outlives_the_transactions_that_reach_it() {
    run(true);
}

#[test]
fn a_transaction_that_stops_using_it_does_not_hold_it_back() {
    run(false);
}
