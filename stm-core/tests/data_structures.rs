//! Behaviour of the transactional data structures: what each operation does,
//! blocking and waking, rollback, `or_else` composition, and which operations
//! keep producers and consumers out of each other's way.

use proptest::prelude::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use steadfast_core::*;

/// Long enough for a thread that is not blocked to finish its transaction.
const SETTLE: Duration = Duration::from_millis(100);

/// Runs `f` on a thread and reports whether it has finished after `SETTLE`;
/// returns the handle so the caller can unblock and join it.
fn spawn_and_settle<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> (thread::JoinHandle<R>, Arc<AtomicBool>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let handle = thread::spawn(move || {
        let r = f();
        flag.store(true, Ordering::SeqCst);
        r
    });
    thread::sleep(SETTLE);
    (handle, done)
}

/// Runs `body` on another thread in a transaction that, on its first attempt,
/// stops after `body` until `meanwhile` has committed on this thread. Returns
/// the result and the conflicts it saw (a re-run for any other reason, such
/// as another test's transaction running alone, does not count).
fn interleave<R: Send + 'static>(
    body: impl Fn(&mut Transaction) -> StmResult<R> + Send + 'static,
    meanwhile: impl FnOnce(),
) -> (R, u64) {
    let paused = Arc::new(Barrier::new(2));
    let resume = Arc::new(Barrier::new(2));
    let (p, r) = (paused.clone(), resume.clone());
    let t = thread::spawn(move || {
        let before = thread_stats();
        let mut attempts = 0;
        let value = atomically(|tx| {
            attempts += 1;
            let value = body(tx)?;
            if attempts == 1 {
                p.wait();
                r.wait();
            }
            Ok(value)
        });
        let seen = thread_stats() - before;
        (value, seen.conflicts + seen.lock_conflicts)
    });
    paused.wait();
    meanwhile();
    resume.wait();
    t.join().unwrap()
}

// ---- TMVar ------------------------------------------------------------------

#[test]
fn tmvar_take_put_read_swap() {
    let m = TMVar::new(1);
    assert!(!atomically(|tx| m.is_empty(tx)));
    assert_eq!(atomically(|tx| m.read(tx)), 1);
    assert_eq!(atomically(|tx| m.swap(tx, 2)), 1);
    assert_eq!(atomically(|tx| m.take(tx)), 2);
    assert!(atomically(|tx| m.is_empty(tx)));
    assert_eq!(atomically(|tx| m.try_take(tx)), None);
    assert_eq!(atomically(|tx| m.try_read(tx)), None);
    assert!(atomically(|tx| m.try_put(tx, 3)));
    assert_eq!(atomically(|tx| m.try_read(tx)), Some(3));
    assert_eq!(format!("{m:?}"), "TMVar(Some(3))");
}

#[test]
fn tmvar_try_put_on_full_keeps_the_old_value() {
    let m = TMVar::new(String::from("first"));
    assert!(!atomically(|tx| m.try_put(tx, "second".into())));
    assert_eq!(atomically(|tx| m.take(tx)), "first");
}

#[test]
fn tmvar_clone_is_the_same_slot() {
    let a: TMVar<u8> = TMVar::new_empty();
    let b = a.clone();
    atomically(|tx| a.put(tx, 9));
    assert_eq!(atomically(|tx| b.take(tx)), 9);
    assert!(atomically(|tx| a.is_empty(tx)));
}

#[test]
fn tmvar_take_blocks_until_put() {
    let m: TMVar<u32> = TMVar::new_empty();
    let m2 = m.clone();
    let (t, done) = spawn_and_settle(move || atomically(|tx| m2.take(tx)));
    assert!(
        !done.load(Ordering::SeqCst),
        "take returned from an empty TMVar"
    );
    atomically(|tx| m.put(tx, 5));
    assert_eq!(t.join().unwrap(), 5);
    assert!(atomically(|tx| m.is_empty(tx)));
}

#[test]
fn tmvar_put_blocks_until_take() {
    let m = TMVar::new(1u32);
    let m2 = m.clone();
    let (t, done) = spawn_and_settle(move || atomically(|tx| m2.put(tx, 2)));
    assert!(!done.load(Ordering::SeqCst), "put overwrote a full TMVar");
    assert_eq!(atomically(|tx| m.take(tx)), 1);
    t.join().unwrap();
    assert_eq!(atomically(|tx| m.take(tx)), 2);
}

#[test]
fn tmvar_read_and_swap_block_while_empty() {
    let m: TMVar<u32> = TMVar::new_empty();
    let (m2, m3) = (m.clone(), m.clone());
    let (reader, read_done) = spawn_and_settle(move || atomically(|tx| m2.read(tx)));
    let (swapper, swap_done) = spawn_and_settle(move || atomically(|tx| m3.swap(tx, 8)));
    assert!(!read_done.load(Ordering::SeqCst));
    assert!(!swap_done.load(Ordering::SeqCst));
    atomically(|tx| m.put(tx, 7));
    let read = reader.join().unwrap();
    let swapped = swapper.join().unwrap();
    // The swap happened before or after the read; either way the slot is full.
    assert!((read, swapped) == (7, 7) || (read, swapped) == (8, 7));
    assert_eq!(atomically(|tx| m.take(tx)), 8);
}

// ---- TQueue -----------------------------------------------------------------

#[test]
fn tqueue_is_fifo_across_the_two_stacks() {
    let q = TQueue::new();
    let mut expected = VecDeque::new();
    let mut next = 0;
    // Pushes and pops interleave so items cross from the write end to the
    // read end many times, at different depths.
    for round in 1..20 {
        for _ in 0..round {
            atomically(|tx| q.push(tx, next));
            expected.push_back(next);
            next += 1;
        }
        for _ in 0..round / 2 + 1 {
            assert_eq!(atomically(|tx| q.peek(tx)), expected[0]);
            assert_eq!(atomically(|tx| q.pop(tx)), expected.pop_front().unwrap());
            assert_eq!(atomically(|tx| q.len(tx)), expected.len());
        }
    }
    let rest = atomically(|tx| q.flush(tx));
    assert_eq!(rest, Vec::from(expected));
    assert!(atomically(|tx| q.is_empty(tx)));
    assert_eq!(atomically(|tx| q.try_pop(tx)), None);
    assert_eq!(atomically(|tx| q.try_peek(tx)), None);
}

#[test]
fn tqueue_many_operations_in_one_transaction() {
    let q = TQueue::new();
    let popped = atomically(|tx| {
        for i in 0..10 {
            q.push(tx, i)?;
        }
        let a = q.pop(tx)?;
        q.write(tx, 10)?;
        let b = q.pop(tx)?;
        Ok((a, b, q.len(tx)?))
    });
    assert_eq!(popped, (0, 1, 9));
    assert_eq!(atomically(|tx| q.flush(tx)), (2..=10).collect::<Vec<_>>());
}

#[test]
fn tqueue_debug_and_clone() {
    let q = TQueue::new();
    let q2 = q.clone();
    atomically(|tx| {
        q.push(tx, 1)?;
        q2.push(tx, 2)
    });
    assert_eq!(format!("{q:?}"), "TQueue([1, 2])");
    // Inside a transaction Debug cannot start another one.
    let inside = atomically(|tx| {
        q.push(tx, 3)?;
        Ok(format!("{q:?}"))
    });
    assert_eq!(inside, "TQueue { .. }");
    assert_eq!(atomically(|tx| q2.flush(tx)), [1, 2, 3]);
}

#[test]
fn tqueue_rolled_back_transaction_changes_nothing() {
    let q = TQueue::new();
    atomically(|tx| (0..3).try_for_each(|i| q.push(tx, i)));
    let r: Result<(), TransactionError<&str>> = try_atomically(|tx| {
        q.pop(tx)?;
        q.pop(tx)?;
        q.push(tx, 99)?;
        abort("changed my mind")
    });
    assert_eq!(r, Err(TransactionError::Aborted("changed my mind")));
    assert_eq!(atomically(|tx| q.flush(tx)), [0, 1, 2]);
}

#[test]
fn tqueue_pop_blocks_until_push() {
    let q: TQueue<u64> = TQueue::new();
    let q2 = q.clone();
    let (t, done) = spawn_and_settle(move || atomically(|tx| q2.pop(tx)));
    assert!(
        !done.load(Ordering::SeqCst),
        "pop returned from an empty queue"
    );
    atomically(|tx| q.push(tx, 42));
    assert_eq!(t.join().unwrap(), 42);
}

#[test]
fn tqueue_peek_blocks_until_push() {
    let q: TQueue<u64> = TQueue::new();
    let q2 = q.clone();
    let (t, done) = spawn_and_settle(move || atomically(|tx| q2.peek(tx)));
    assert!(!done.load(Ordering::SeqCst));
    atomically(|tx| q.push(tx, 1));
    assert_eq!(t.join().unwrap(), 1);
    assert_eq!(atomically(|tx| q.len(tx)), 1);
}

/// Waits until every clone of `item` but this one has been dropped. Old
/// versions of boxed values are freed through the epoch collector, which
/// makes progress only while threads pin it: a transaction over inline values
/// never does, and the engine pushes it along only a few times after the
/// last attempt that did (other tests' threads may hold it back meanwhile),
/// so this keeps pinning, as `lifetimes.rs` does.
fn assert_all_dropped<T>(item: &Arc<T>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while Arc::strong_count(item) > 1 && std::time::Instant::now() < deadline {
        for _ in 0..64 {
            crossbeam_epoch::pin().flush();
        }
        let _ = atomically(|tx| TVar::new(0).read(tx));
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(Arc::strong_count(item), 1, "a dropped queue leaked items");
}

#[test]
fn tqueue_items_are_dropped() {
    let item = Arc::new(());
    let q = TQueue::new();
    atomically(|tx| (0..10).try_for_each(|_| q.push(tx, item.clone())));
    for _ in 0..4 {
        atomically(|tx| q.pop(tx));
    }
    drop(q);
    assert_all_dropped(&item);
}

#[test]
fn tqueue_drops_a_long_queue_without_recursing() {
    // A recursive drop of a persistent list this long overflows a thread's stack.
    const N: usize = 300_000;
    let item = Arc::new(());
    let q = TQueue::new();
    atomically(|tx| (0..N).try_for_each(|_| q.push(tx, item.clone())));
    atomically(|tx| q.pop(tx));
    // The rest is now a detached stack on the read end; reverse it too.
    atomically(|tx| q.pop(tx));
    atomically(|tx| (0..N).try_for_each(|_| q.push(tx, item.clone())));
    assert_eq!(atomically(|tx| q.len(tx)), 2 * N - 2);
    drop(q);
    assert_all_dropped(&item);
}

#[test]
fn tqueue_pop_does_not_conflict_with_push() {
    let q = TQueue::new();
    atomically(|tx| (0..3).try_for_each(|i| q.push(tx, i)));
    assert_eq!(atomically(|tx| q.pop(tx)), 0); // the rest moves to the read end
    let q2 = q.clone();
    let (value, conflicts) = interleave(move |tx| q2.pop(tx), || atomically(|tx| q.push(tx, 10)));
    assert_eq!((value, conflicts), (1, 0));
    assert_eq!(atomically(|tx| q.flush(tx)), [2, 10]);
}

#[test]
fn tqueue_push_does_not_conflict_with_pop() {
    let q = TQueue::new();
    atomically(|tx| (0..3).try_for_each(|i| q.push(tx, i)));
    assert_eq!(atomically(|tx| q.pop(tx)), 0);
    let q2 = q.clone();
    let ((), conflicts) = interleave(
        move |tx| q2.push(tx, 10),
        || assert_eq!(atomically(|tx| q.pop(tx)), 1),
    );
    assert_eq!(conflicts, 0);
    assert_eq!(atomically(|tx| q.flush(tx)), [2, 10]);
}

#[test]
fn tqueue_peek_on_the_write_end_does_not_conflict_with_push() {
    // Peeking an item still on the write end reads it without moving it.
    let q = TQueue::new();
    atomically(|tx| q.push(tx, 1));
    let q2 = q.clone();
    let (value, conflicts) =
        interleave(move |tx| q2.try_peek(tx), || atomically(|tx| q.push(tx, 2)));
    // A read-only transaction commits on its snapshot: the push came later.
    assert_eq!((value, conflicts), (Some(1), 0));
}

// ---- TBQueue ----------------------------------------------------------------

#[test]
#[should_panic(expected = "TBQueue capacity must be at least 1")]
fn tbqueue_zero_capacity_panics_with_a_clear_message() {
    let _ = TBQueue::<u8>::new(0);
}

#[test]
fn tbqueue_counts_across_the_capacity_hand_over() {
    let q = TBQueue::new(3);
    assert_eq!(q.capacity(), 3);
    for round in 0..10 {
        for i in 0..3 {
            assert!(!atomically(|tx| q.is_full(tx)));
            assert!(atomically(|tx| q.try_push(tx, round * 10 + i)));
            assert_eq!(atomically(|tx| q.len(tx)), i as usize + 1);
        }
        assert!(atomically(|tx| q.is_full(tx)));
        assert!(!atomically(|tx| q.try_push(tx, -1)));
        // Pop fewer than we push next time round, so the free slots come
        // back to the producers in different amounts.
        let pops = 1 + round % 3;
        for i in 0..pops {
            assert_eq!(atomically(|tx| q.pop(tx)), round * 10 + i);
        }
        let rest = atomically(|tx| q.flush(tx));
        assert_eq!(rest.len(), 3 - pops as usize);
        assert!(atomically(|tx| q.is_empty(tx)));
    }
    assert_eq!(format!("{q:?}"), "TBQueue { capacity: 3, items: [] }");
}

#[test]
fn tbqueue_push_blocks_while_full() {
    let q = TBQueue::new(2);
    atomically(|tx| {
        q.push(tx, 1)?;
        q.push(tx, 2)
    });
    let q2 = q.clone();
    let (t, done) = spawn_and_settle(move || atomically(|tx| q2.push(tx, 3)));
    assert!(!done.load(Ordering::SeqCst), "push went past the capacity");
    assert_eq!(atomically(|tx| q.len(tx)), 2);
    assert_eq!(atomically(|tx| q.pop(tx)), 1);
    t.join().unwrap();
    assert!(atomically(|tx| q.is_full(tx)));
    assert_eq!(atomically(|tx| q.flush(tx)), [2, 3]);
}

#[test]
fn tbqueue_pop_blocks_while_empty() {
    let q: TBQueue<&str> = TBQueue::new(1);
    let q2 = q.clone();
    let (t, done) = spawn_and_settle(move || atomically(|tx| q2.pop(tx)));
    assert!(!done.load(Ordering::SeqCst));
    atomically(|tx| q.push(tx, "hi"));
    assert_eq!(t.join().unwrap(), "hi");
}

#[test]
fn tbqueue_pop_does_not_conflict_with_push_when_not_full() {
    let q = TBQueue::new(8);
    atomically(|tx| (0..3).try_for_each(|i| q.push(tx, i)));
    assert_eq!(atomically(|tx| q.pop(tx)), 0);
    let q2 = q.clone();
    let (value, conflicts) = interleave(move |tx| q2.pop(tx), || atomically(|tx| q.push(tx, 10)));
    assert_eq!((value, conflicts), (1, 0));
    assert_eq!(atomically(|tx| q.flush(tx)), [2, 10]);
}

#[test]
fn tbqueue_push_does_not_conflict_with_pop_when_not_full() {
    let q = TBQueue::new(8);
    atomically(|tx| (0..3).try_for_each(|i| q.push(tx, i)));
    assert_eq!(atomically(|tx| q.pop(tx)), 0);
    let q2 = q.clone();
    let ((), conflicts) = interleave(
        move |tx| q2.push(tx, 10),
        || assert_eq!(atomically(|tx| q.pop(tx)), 1),
    );
    assert_eq!(conflicts, 0);
    assert_eq!(atomically(|tx| q.len(tx)), 2);
}

// ---- TSem -------------------------------------------------------------------

#[test]
fn tsem_counts() {
    let s = TSem::new(2);
    atomically(|tx| s.acquire(tx));
    atomically(|tx| s.acquire_n(tx, 1));
    assert_eq!(atomically(|tx| s.available(tx)), 0);
    atomically(|tx| s.acquire_n(tx, 0)); // never blocks
    atomically(|tx| s.release_n(tx, 3));
    atomically(|tx| s.release(tx));
    assert_eq!(atomically(|tx| s.available(tx)), 4);
    assert_eq!(format!("{s:?}"), "TSem { available: 4 }");
}

#[test]
fn tsem_acquire_blocks_until_release() {
    let s = TSem::new(0);
    let s2 = s.clone();
    let (t, done) = spawn_and_settle(move || atomically(|tx| s2.acquire(tx)));
    assert!(
        !done.load(Ordering::SeqCst),
        "acquired a permit that was not there"
    );
    atomically(|tx| s.release(tx));
    t.join().unwrap();
    assert_eq!(atomically(|tx| s.available(tx)), 0);
}

#[test]
fn tsem_acquire_n_is_all_or_nothing() {
    let s = TSem::new(2);
    let s2 = s.clone();
    let (t, done) = spawn_and_settle(move || atomically(|tx| s2.acquire_n(tx, 3)));
    assert!(!done.load(Ordering::SeqCst));
    // The waiter holds nothing while it waits.
    assert_eq!(atomically(|tx| s.available(tx)), 2);
    atomically(|tx| s.release(tx));
    t.join().unwrap();
    assert_eq!(atomically(|tx| s.available(tx)), 0);
}

#[test]
fn tsem_lets_exactly_n_hold_at_once() {
    const N: usize = 3;
    let s = TSem::new(N);
    // N threads get a permit and hold it until all N have one...
    let all_in = Arc::new(Barrier::new(N + 1));
    let leave = Arc::new(Barrier::new(N + 1));
    let holders: Vec<_> = (0..N)
        .map(|_| {
            let (s, all_in, leave) = (s.clone(), all_in.clone(), leave.clone());
            thread::spawn(move || {
                atomically(|tx| s.acquire(tx));
                all_in.wait();
                leave.wait();
                atomically(|tx| s.release(tx));
            })
        })
        .collect();
    all_in.wait();
    // ...and one more does not get in until one of them leaves.
    assert!(!atomically(
        |tx| tx.or_else(|tx| s.acquire(tx).map(|()| true), |_| Ok(false))
    ));
    leave.wait();
    for h in holders {
        h.join().unwrap();
    }
    assert_eq!(atomically(|tx| s.available(tx)), N);
}

// ---- or_else composition -------------------------------------------------------

/// Takes from whichever queue has an item, preferring `a`.
fn take_either<T: Clone + Send + Sync>(
    tx: &mut Transaction,
    a: &TQueue<T>,
    b: &TQueue<T>,
) -> StmResult<T> {
    tx.or_else(|tx| a.pop(tx), |tx| b.pop(tx))
}

#[test]
fn or_else_takes_from_whichever_queue_has_an_item() {
    let (a, b) = (TQueue::new(), TQueue::new());
    atomically(|tx| b.push(tx, "b1"));
    assert_eq!(atomically(|tx| take_either(tx, &a, &b)), "b1");
    atomically(|tx| {
        a.push(tx, "a1")?;
        b.push(tx, "b2")
    });
    assert_eq!(atomically(|tx| take_either(tx, &a, &b)), "a1");
    assert_eq!(atomically(|tx| take_either(tx, &a, &b)), "b2");
    assert!(atomically(|tx| Ok(a.is_empty(tx)? && b.is_empty(tx)?)));
}

#[test]
fn or_else_blocks_on_both_queues_and_wakes_on_either() {
    for second in [false, true] {
        let (a, b): (TQueue<u32>, TQueue<u32>) = (TQueue::new(), TQueue::new());
        let (a2, b2) = (a.clone(), b.clone());
        let (t, done) = spawn_and_settle(move || atomically(|tx| take_either(tx, &a2, &b2)));
        assert!(!done.load(Ordering::SeqCst), "took from two empty queues");
        let target = if second { &b } else { &a };
        atomically(|tx| target.push(tx, 7));
        assert_eq!(t.join().unwrap(), 7);
        assert!(atomically(|tx| Ok(a.is_empty(tx)? && b.is_empty(tx)?)));
    }
}

#[test]
fn or_else_rolls_back_a_pop_whose_branch_retries() {
    // The first branch pops an item, then retries: the item must be back.
    let (a, b) = (TQueue::new(), TQueue::new());
    atomically(|tx| {
        a.push(tx, 1)?;
        b.push(tx, 2)
    });
    let got = atomically(|tx| {
        tx.or_else(
            |tx| {
                a.pop(tx)?;
                retry()
            },
            |tx| b.pop(tx),
        )
    });
    assert_eq!(got, 2);
    assert_eq!(atomically(|tx| a.flush(tx)), [1]);
}

#[test]
fn or_else_undoes_a_branch_on_a_queue_the_transaction_already_changed() {
    // The branch overwrites both ends, which the transaction had written
    // before the branch began (the write end) or had not (the read end).
    let q = TQueue::new();
    let got = atomically(|tx| {
        q.push(tx, 1)?;
        q.push(tx, 2)?;
        let r = tx.or_else(
            |tx| {
                q.pop(tx)?;
                q.pop(tx)?;
                q.push(tx, 3)?;
                retry()
            },
            |_| Ok("second"),
        )?;
        Ok((r, q.len(tx)?, q.peek(tx)?))
    });
    assert_eq!(got, ("second", 2, 1));
    assert_eq!(atomically(|tx| q.flush(tx)), [1, 2]);
}

#[test]
fn nested_or_else_takes_from_the_first_queue_with_an_item() {
    let queues: Vec<TQueue<usize>> = (0..3).map(|_| TQueue::new()).collect();
    let take_first = |tx: &mut Transaction| {
        tx.or_else(
            |tx| tx.or_else(|tx| queues[0].pop(tx), |tx| queues[1].pop(tx)),
            |tx| queues[2].pop(tx),
        )
    };
    atomically(|tx| {
        queues[2].push(tx, 20)?;
        queues[1].push(tx, 10)?;
        queues[2].push(tx, 21)
    });
    assert_eq!(atomically(take_first), 10);
    assert_eq!(atomically(take_first), 20);
    atomically(|tx| queues[0].push(tx, 0));
    assert_eq!(atomically(take_first), 0);
    assert_eq!(atomically(take_first), 21);
    let (q0, q2) = (queues[0].clone(), queues[2].clone());
    let (t, done) =
        spawn_and_settle(move || atomically(|tx| tx.or_else(|tx| q0.pop(tx), |tx| q2.pop(tx))));
    assert!(!done.load(Ordering::SeqCst));
    atomically(|tx| queues[2].push(tx, 22));
    assert_eq!(t.join().unwrap(), 22);
}

#[test]
fn or_else_moves_between_bounded_queue_and_mvar() {
    // Forward from a bounded queue into a TMVar, or report that neither side
    // can move, all in one transaction.
    let q = TBQueue::new(2);
    let slot = TMVar::new_empty();
    let forward = |tx: &mut Transaction| {
        tx.or_else(
            |tx| {
                let v = q.pop(tx)?;
                slot.put(tx, v)?;
                Ok(true)
            },
            |_| Ok(false),
        )
    };
    assert!(!atomically(forward)); // empty queue
    atomically(|tx| {
        q.push(tx, 1)?;
        q.push(tx, 2)
    });
    assert!(atomically(forward));
    assert!(!atomically(forward)); // slot full: the pop of 2 is undone
    assert_eq!(atomically(|tx| q.len(tx)), 1);
    assert_eq!(atomically(|tx| slot.take(tx)), 1);
    assert!(atomically(forward));
    assert_eq!(atomically(|tx| slot.take(tx)), 2);
}

// ---- against a model ------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Push(u16),
    Pop,
    Peek,
    Len,
    IsEmpty,
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u16>().prop_map(Op::Push),
        3 => Just(Op::Pop),
        1 => Just(Op::Peek),
        1 => Just(Op::Len),
        1 => Just(Op::IsEmpty),
        1 => Just(Op::Flush),
    ]
}

/// What an operation observed, comparable with the model.
#[derive(Debug, PartialEq)]
enum Seen {
    Pushed(bool),
    Item(Option<u16>),
    Len(usize),
    Empty(bool),
    Flushed(Vec<u16>),
}

fn model_step(model: &mut VecDeque<u16>, capacity: Option<usize>, op: &Op) -> Seen {
    match *op {
        Op::Push(v) => {
            let room = capacity.is_none_or(|c| model.len() < c);
            if room {
                model.push_back(v);
            }
            Seen::Pushed(room)
        }
        Op::Pop => Seen::Item(model.pop_front()),
        Op::Peek => Seen::Item(model.front().copied()),
        Op::Len => Seen::Len(model.len()),
        Op::IsEmpty => Seen::Empty(model.is_empty()),
        Op::Flush => Seen::Flushed(model.drain(..).collect()),
    }
}

fn tqueue_step(tx: &mut Transaction, q: &TQueue<u16>, op: &Op) -> StmResult<Seen> {
    Ok(match *op {
        Op::Push(v) => Seen::Pushed(q.push(tx, v).map(|()| true)?),
        Op::Pop => Seen::Item(q.try_pop(tx)?),
        Op::Peek => Seen::Item(q.try_peek(tx)?),
        Op::Len => Seen::Len(q.len(tx)?),
        Op::IsEmpty => Seen::Empty(q.is_empty(tx)?),
        Op::Flush => Seen::Flushed(q.flush(tx)?),
    })
}

fn tbqueue_step(tx: &mut Transaction, q: &TBQueue<u16>, op: &Op) -> StmResult<Seen> {
    Ok(match *op {
        Op::Push(v) => Seen::Pushed(q.try_push(tx, v)?),
        Op::Pop => Seen::Item(q.try_pop(tx)?),
        Op::Peek => Seen::Item(q.try_peek(tx)?),
        Op::Len => Seen::Len(q.len(tx)?),
        Op::IsEmpty => Seen::Empty(q.is_empty(tx)?),
        Op::Flush => Seen::Flushed(q.flush(tx)?),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Ops run in batches: each batch is one transaction, so both the
    /// committed state and the transaction's own writes are exercised.
    #[test]
    fn tqueue_behaves_like_a_vecdeque(
        batches in prop::collection::vec(prop::collection::vec(op(), 1..8), 1..40)
    ) {
        let q = TQueue::new();
        let mut model = VecDeque::new();
        for batch in &batches {
            let seen = atomically(|tx| batch.iter().map(|op| tqueue_step(tx, &q, op)).collect::<StmResult<Vec<_>>>());
            let expected: Vec<_> = batch.iter().map(|op| model_step(&mut model, None, op)).collect();
            prop_assert_eq!(seen, expected);
        }
        prop_assert_eq!(atomically(|tx| q.flush(tx)), Vec::from(model));
    }

    #[test]
    fn tbqueue_behaves_like_a_bounded_vecdeque(
        capacity in 1usize..6,
        batches in prop::collection::vec(prop::collection::vec(op(), 1..8), 1..40)
    ) {
        let q = TBQueue::new(capacity);
        let mut model = VecDeque::new();
        for batch in &batches {
            let seen = atomically(|tx| batch.iter().map(|op| tbqueue_step(tx, &q, op)).collect::<StmResult<Vec<_>>>());
            let expected: Vec<_> = batch.iter().map(|op| model_step(&mut model, Some(capacity), op)).collect();
            prop_assert_eq!(seen, expected);
            prop_assert_eq!(atomically(|tx| q.is_full(tx)), model.len() == capacity);
        }
        prop_assert_eq!(atomically(|tx| q.flush(tx)), Vec::from(model));
    }
}
