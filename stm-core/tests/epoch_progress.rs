//! Old versions of boxed values are freed through the epoch collector, which
//! frees only what no pinned thread can still see. A thread that wrote boxed
//! values keeps pushing the collector along afterwards, even if it then runs
//! only transactions over inline values and another thread held the epoch
//! back meanwhile.
//!
//! Alone in its file: other tests' transactions would push the collector too
//! and hide a thread that stopped doing so.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use steadfast_core::{atomically, TVar};

/// Counts its drops.
#[derive(Clone)]
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn old_boxed_values_are_freed_after_a_pinned_thread_lets_go() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = TVar::new(0u64);
    let var = TVar::new(Tracked(drops.clone()));

    // Another thread pins the collector and holds it there.
    let (pinned, wait_pinned) = mpsc::channel();
    let (release, wait_release) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let guard = crossbeam_epoch::pin();
        pinned.send(()).unwrap();
        wait_release.recv().unwrap();
        drop(guard);
    });
    wait_pinned.recv().unwrap();

    // Each write retires the version it replaces; none can be freed while
    // the other thread stays pinned.
    const WRITES: usize = 10;
    for _ in 0..WRITES {
        atomically(|tx| var.write(tx, Tracked(drops.clone())));
    }
    let run_inline = |attempts: usize| {
        for _ in 0..attempts {
            atomically(|tx| counter.modify(tx, |c| c + 1));
        }
    };
    // Many collections pass while the epoch is held back.
    run_inline(64 * 20);
    let held_back = drops.load(Ordering::SeqCst);

    release.send(()).unwrap();
    holder.join().unwrap();
    // Only inline transactions from here on: the collector must still move.
    let mut attempts = 0;
    while drops.load(Ordering::SeqCst) < WRITES && attempts < 64 * 200 {
        run_inline(64);
        attempts += 64;
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        WRITES,
        "old versions still alive after {attempts} more transactions \
         ({held_back} freed while the other thread was pinned)"
    );
}
