//! Stress: the data structures under real contention. Every test must finish
//! (a lost wake-up would hang it; a watchdog turns a hang into a failure).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use steadfast_core::*;

const PRODUCERS: u8 = 2;
const CONSUMERS: usize = 2;
const ITEMS: u64 = 1_000_000;
const PER_PRODUCER: u64 = ITEMS / PRODUCERS as u64;

/// Far above the expected run time: only a stall reaches it.
const WATCHDOG: Duration = Duration::from_secs(240);

/// `None` tells a consumer to stop; `Some((producer, seq))` is an item.
type Item = Option<(u8, u64)>;

/// An item as a consumer saw it: the pop's position in the global pop order,
/// and the item.
type Received = (u64, Item);

/// Runs `f` on its own thread and fails the test if it does not finish in time.
fn with_watchdog<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(r) => {
            worker.join().unwrap();
            r
        }
        // The worker panicked: surface its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker sends before it finishes"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {WATCHDOG:?}: a lost wake-up or a livelock")
        }
    }
}

/// Checks the queue law on what the consumers received: taken in pop order,
/// each producer's items arrive exactly once and in the order it pushed them,
/// and the `CONSUMERS` stop markers come last.
fn check_fifo_exactly_once(received: Vec<Vec<Received>>, per_producer: u64) {
    let items = (per_producer * PRODUCERS as u64) as usize;
    let total = items + CONSUMERS;
    let mut in_pop_order: Vec<Option<Item>> = vec![None; total];
    for (ticket, item) in received.into_iter().flatten() {
        let slot = &mut in_pop_order[ticket as usize];
        assert!(slot.is_none(), "two pops got pop position {ticket}");
        *slot = Some(item);
    }
    let mut next = [0u64; PRODUCERS as usize];
    for (ticket, item) in in_pop_order.into_iter().enumerate() {
        let item = item.unwrap_or_else(|| panic!("no pop got position {ticket}"));
        match item {
            Some((p, seq)) => {
                assert!(ticket < items, "item {item:?} after a stop marker");
                let want = &mut next[p as usize];
                assert_eq!(seq, *want, "producer {p}: got seq {seq}, expected {want}");
                *want += 1;
            }
            None => assert!(ticket >= items, "stop marker before the last item"),
        }
    }
    assert_eq!(next, [per_producer; PRODUCERS as usize]);
}

/// Moves `ITEMS` items from `PRODUCERS` producers to `CONSUMERS` consumers
/// through `push`/`pop`, one item per transaction, and checks the law. Each pop
/// also takes a ticket from a shared counter in the same transaction, which
/// records the order in which the pops took effect. (The consumers already
/// contend on the queue's read end, so the ticket adds no new conflict.)
/// Returns what the producers' and the consumers' transactions did.
fn run_pipeline<Q>(queue: Q, push: PushFn<Q>, pop: PopFn<Q>) -> (Stats, Stats)
where
    Q: Clone + Send + 'static,
{
    let tickets = TVar::new(0u64);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let q = queue.clone();
            thread::spawn(move || {
                let before = thread_stats();
                for seq in 0..PER_PRODUCER {
                    atomically(|tx| push(&q, tx, Some((p, seq))));
                }
                thread_stats() - before
            })
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (q, tickets) = (queue.clone(), tickets.clone());
            thread::spawn(move || {
                let before = thread_stats();
                let mut got: Vec<Received> = Vec::with_capacity(ITEMS as usize / CONSUMERS + 1);
                loop {
                    let (ticket, item) = atomically(|tx| {
                        let item = pop(&q, tx)?;
                        let ticket = tickets.read(tx)?;
                        tickets.write(tx, ticket + 1)?;
                        Ok((ticket, item))
                    });
                    got.push((ticket, item));
                    if item.is_none() {
                        break;
                    }
                }
                (got, thread_stats() - before)
            })
        })
        .collect();
    let mut pushed = Stats::default();
    for p in producers {
        pushed = pushed + p.join().unwrap();
    }
    // Every item is in before the stop markers.
    for _ in 0..CONSUMERS {
        atomically(|tx| push(&queue, tx, None));
    }
    let mut received = Vec::new();
    let mut popped = Stats::default();
    for c in consumers {
        let (got, s) = c.join().unwrap();
        received.push(got);
        popped = popped + s;
    }
    check_fifo_exactly_once(received, PER_PRODUCER);
    (pushed, popped)
}

/// Pushes one item.
type PushFn<Q> = fn(&Q, &mut Transaction, Item) -> StmResult<()>;
/// Pops one item, retrying while the queue is empty.
type PopFn<Q> = fn(&Q, &mut Transaction) -> StmResult<Item>;

#[test]
fn tqueue_million_items_two_producers_two_consumers() {
    let start = Instant::now();
    let (pushed, popped) = with_watchdog("TQueue pipeline", || {
        run_pipeline(
            TQueue::new(),
            |q, tx, item| q.push(tx, item),
            |q, tx| q.pop(tx),
        )
    });
    eprintln!(
        "TQueue: {ITEMS} items in {:?}\n  producers: {pushed}\n  consumers: {popped}",
        start.elapsed()
    );
}

#[test]
fn tbqueue_million_items_through_a_small_capacity() {
    const CAPACITY: usize = 8;
    let start = Instant::now();
    let (pushed, popped) = with_watchdog("TBQueue pipeline", || {
        run_pipeline(
            TBQueue::new(CAPACITY),
            |q, tx, item| q.push(tx, item),
            |q, tx| q.pop(tx),
        )
    });
    eprintln!(
        "TBQueue({CAPACITY}): {ITEMS} items in {:?}\n  producers: {pushed}\n  consumers: {popped}",
        start.elapsed()
    );
    // With this little room, both sides blocked (and were woken) many times.
    assert!(pushed.retries > 0, "no push ever found the queue full");
    assert!(popped.retries > 0, "no pop ever found the queue empty");
}

#[test]
fn or_else_consumers_drain_two_queues() {
    // Each producer has its own queue; each consumer takes from whichever has
    // an item, and stops once both are empty and the producers are done. A
    // consumer blocked on both queues and the flag must be woken by any of them.
    const PER: u64 = if cfg!(debug_assertions) {
        100_000
    } else {
        500_000
    };
    const PAUSE_EVERY: u64 = PER / 16;
    let start = Instant::now();
    let popped = with_watchdog("or_else pipeline", || {
        let queues: [TQueue<(u8, u64)>; PRODUCERS as usize] = [TQueue::new(), TQueue::new()];
        let done = TVar::new(false);
        let tickets = TVar::new(0u64);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let queues = queues.clone();
                thread::spawn(move || {
                    for seq in 0..PER {
                        if seq % PAUSE_EVERY == 0 {
                            // Let the consumers drain both queues and block
                            // on all three branches.
                            atomically(|tx| {
                                if queues[0].is_empty(tx)? && queues[1].is_empty(tx)? {
                                    Ok(())
                                } else {
                                    retry()
                                }
                            });
                            thread::sleep(Duration::from_millis(2));
                        }
                        atomically(|tx| queues[p as usize].push(tx, (p, seq)));
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let (queues, done, tickets) = (queues.clone(), done.clone(), tickets.clone());
                thread::spawn(move || {
                    let before = thread_stats();
                    let mut got: Vec<Received> = Vec::new();
                    loop {
                        let (ticket, item) = atomically(|tx| {
                            let item = tx.or_else(
                                |tx| {
                                    tx.or_else(
                                        |tx| queues[0].pop(tx).map(Some),
                                        |tx| queues[1].pop(tx).map(Some),
                                    )
                                },
                                |tx| if done.read(tx)? { Ok(None) } else { retry() },
                            )?;
                            let ticket = tickets.read(tx)?;
                            tickets.write(tx, ticket + 1)?;
                            Ok((ticket, item))
                        });
                        got.push((ticket, item));
                        if item.is_none() {
                            break;
                        }
                    }
                    (got, thread_stats() - before)
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        atomically(|tx| done.write(tx, true));
        let mut received = Vec::new();
        let mut popped = Stats::default();
        for c in consumers {
            let (got, s) = c.join().unwrap();
            received.push(got);
            popped = popped + s;
        }
        check_fifo_exactly_once(received, PER);
        popped
    });
    eprintln!(
        "or_else over two TQueues: {} items in {:?}\n  consumers: {popped}",
        PER * PRODUCERS as u64,
        start.elapsed()
    );
    assert!(
        popped.retries > 0,
        "no consumer ever blocked on both queues"
    );
}

#[test]
fn tsem_never_lets_more_than_n_in() {
    const PERMITS: usize = 3;
    const THREADS: usize = 8;
    const ROUNDS: usize = if cfg!(debug_assertions) {
        2_000
    } else {
        20_000
    };
    let max = with_watchdog("TSem stress", || {
        let sem = TSem::new(PERMITS);
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let (sem, inside, max) = (sem.clone(), inside.clone(), max.clone());
                thread::spawn(move || {
                    for round in 0..ROUNDS {
                        // Some take two permits at once, to mix acquire_n in.
                        let n = if (i + round) % 5 == 0 { 2 } else { 1 };
                        atomically(|tx| sem.acquire_n(tx, n));
                        let now = inside.fetch_add(n, Ordering::SeqCst) + n;
                        max.fetch_max(now, Ordering::SeqCst);
                        thread::yield_now();
                        inside.fetch_sub(n, Ordering::SeqCst);
                        atomically(|tx| sem.release_n(tx, n));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(atomically(|tx| sem.available(tx)), PERMITS);
        max.load(Ordering::SeqCst)
    });
    assert!(
        max <= PERMITS,
        "{max} permits held at once, only {PERMITS} exist"
    );
}

#[test]
fn tmvar_ping_pong() {
    const ROUNDS: u64 = if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    let start = Instant::now();
    with_watchdog("TMVar ping-pong", || {
        let (ping, pong) = (TMVar::new_empty(), TMVar::new_empty());
        let echo = {
            let (ping, pong) = (ping.clone(), pong.clone());
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let v: u64 = atomically(|tx| ping.take(tx));
                    atomically(|tx| pong.put(tx, v + 1));
                }
            })
        };
        for i in 0..ROUNDS {
            atomically(|tx| ping.put(tx, i * 2));
            assert_eq!(atomically(|tx| pong.take(tx)), i * 2 + 1);
        }
        echo.join().unwrap();
        assert!(atomically(
            |tx| Ok(ping.is_empty(tx)? && pong.is_empty(tx)?)
        ));
    });
    eprintln!("TMVar: {ROUNDS} round trips in {:?}", start.elapsed());
}
