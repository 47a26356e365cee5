//! The classic STM intset workload: a sorted set of integers in 0..1024,
//! prefilled half, under 90% lookups, 5% inserts and 5% removes of random
//! keys, on 1 and 2 threads (the 2 threads each do half of the operations).
//!
//! Contenders: a skip list whose links are steadfast `TVar`s, in two forms
//! (nodes in `Arc`s, and an arena with `u32` links: see `skip_lists!`); the
//! same two skip lists on `stm` 0.4; and a `BTreeSet<u32>` behind a
//! `parking_lot::RwLock` (read lock for lookups) or a `std::sync::Mutex`.
//!
//! Before measuring, every contender replays a few thousand random operations
//! against a `BTreeSet` model. After measuring, each contender's size must be
//! its initial size plus the inserts that succeeded minus the removes that
//! succeeded: a set that loses or invents elements fails the run instead of
//! looking fast.

mod common;

use common::{config, Rng};
use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use std::collections::BTreeSet;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Keys are drawn from `0..KEYS`.
const KEYS: u32 = 1024;
/// Percentages of the operation mix; the rest are lookups.
const INSERT_PCT: u64 = 5;
const REMOVE_PCT: u64 = 5;
/// Tallest tower: enough levels for about 2^10 elements.
const MAX_LEVEL: usize = 10;

/// One way to keep the set. Every operation is atomic on its own.
trait IntSet: Sync {
    const NAME: &'static str;
    fn new() -> Self;
    fn contains(&self, key: u32) -> bool;
    /// Adds `key`; says whether it was absent. `height` is the tower height
    /// for a new node, drawn by the caller so that every contender consumes
    /// the same random sequence; only `ArcList` uses it.
    fn insert(&self, key: u32, height: usize) -> bool;
    /// Removes `key`; says whether it was present.
    fn remove(&self, key: u32) -> bool;
    /// Every element, in order, from one consistent snapshot.
    fn elements(&self) -> Vec<u32>;
}

/// A tower height with P(h) = 2^-h, capped at `MAX_LEVEL`.
fn height(bits: u64) -> usize {
    (bits.trailing_ones() as usize + 1).min(MAX_LEVEL)
}

/// Two skip lists over an STM whose API is `atomically(|tx| ..)`,
/// `TVar::new`, `read(tx)` and `write(tx, v)`: steadfast and `stm` 0.4 share
/// that shape, so both get the same code.
///
/// - `ArcList`: what one would write first. Nodes are `Arc`s allocated by
///   `insert`, linked by `TVar<Option<Arc<Node>>>`, one per level; every read
///   of a link clones an `Arc`.
/// - `ArenaList`: the same search over links that are `TVar<u32>` indices
///   into an arena holding one node per possible key (the key range is small
///   and fixed), each with a tower height drawn once. `insert` links the
///   key's node in, `remove` splices it out; lookups still walk the list.
///   This measures the transactions without reference counting.
macro_rules! skip_lists {
    ($module:ident, $stm:ident, $arc_name:expr, $arena_name:expr) => {
        mod $module {
            use super::{height, IntSet, Rng, KEYS, MAX_LEVEL};
            use std::sync::Arc;
            use $stm::{atomically, StmResult, TVar, Transaction};

            type Link = Option<Arc<Node>>;

            struct Node {
                key: u32,
                next: Box<[TVar<Link>]>,
            }

            pub struct ArcList {
                head: Box<[TVar<Link>]>,
            }

            impl ArcList {
                /// The links of `pred`, the head's when `pred` is `None`.
                fn links<'a>(&'a self, pred: &'a Link) -> &'a [TVar<Link>] {
                    match pred {
                        Some(node) => &node.next,
                        None => &self.head,
                    }
                }

                /// Per level, the last node before `key` (`None`: the head),
                /// and the node at level 0 right after it.
                fn find(
                    &self,
                    tx: &mut Transaction,
                    key: u32,
                ) -> StmResult<([Link; MAX_LEVEL], Link)> {
                    let mut preds: [Link; MAX_LEVEL] = Default::default();
                    let mut pred: Link = None;
                    let mut found = None;
                    for level in (0..MAX_LEVEL).rev() {
                        loop {
                            match self.links(&pred)[level].read(tx)? {
                                Some(node) if node.key < key => pred = Some(node),
                                next => {
                                    if level == 0 {
                                        found = next;
                                    }
                                    break;
                                }
                            }
                        }
                        preds[level] = pred.clone();
                    }
                    Ok((preds, found))
                }
            }

            impl IntSet for ArcList {
                const NAME: &'static str = $arc_name;

                fn new() -> Self {
                    ArcList {
                        head: (0..MAX_LEVEL).map(|_| TVar::new(None)).collect(),
                    }
                }

                fn contains(&self, key: u32) -> bool {
                    atomically(|tx| {
                        let mut pred: Link = None;
                        for level in (0..MAX_LEVEL).rev() {
                            loop {
                                match self.links(&pred)[level].read(tx)? {
                                    Some(node) if node.key < key => pred = Some(node),
                                    Some(node) if node.key == key => return Ok(true),
                                    _ => break,
                                }
                            }
                        }
                        Ok(false)
                    })
                }

                fn insert(&self, key: u32, height: usize) -> bool {
                    atomically(|tx| {
                        let (preds, found) = self.find(tx, key)?;
                        if found.is_some_and(|n| n.key == key) {
                            return Ok(false);
                        }
                        let mut next = Vec::with_capacity(height);
                        for (level, pred) in preds.iter().enumerate().take(height) {
                            next.push(TVar::new(self.links(pred)[level].read(tx)?));
                        }
                        let node = Arc::new(Node {
                            key,
                            next: next.into_boxed_slice(),
                        });
                        for (level, pred) in preds.iter().enumerate().take(height) {
                            self.links(pred)[level].write(tx, Some(node.clone()))?;
                        }
                        Ok(true)
                    })
                }

                fn remove(&self, key: u32) -> bool {
                    atomically(|tx| {
                        let (preds, found) = self.find(tx, key)?;
                        let node = match found {
                            Some(node) if node.key == key => node,
                            _ => return Ok(false),
                        };
                        // On each level of its tower the node follows that
                        // level's predecessor: splice it out.
                        for (level, pred) in preds.iter().enumerate().take(node.next.len()) {
                            let after = node.next[level].read(tx)?;
                            self.links(pred)[level].write(tx, after)?;
                        }
                        Ok(true)
                    })
                }

                fn elements(&self) -> Vec<u32> {
                    atomically(|tx| {
                        let mut keys = Vec::new();
                        let mut link = self.head[0].read(tx)?;
                        while let Some(node) = link {
                            keys.push(node.key);
                            link = node.next[0].read(tx)?;
                        }
                        Ok(keys)
                    })
                }
            }

            /// The end of a level in `ArenaList`.
            const NIL: u32 = u32::MAX;
            /// Stands for the head among predecessors in `ArenaList`.
            const HEAD: u32 = u32::MAX;

            pub struct ArenaList {
                head: Box<[TVar<u32>]>,
                /// `nodes[k]` is the node of key `k`; its links are read only
                /// while it is in the list.
                nodes: Box<[Box<[TVar<u32>]>]>,
            }

            impl ArenaList {
                fn links(&self, pred: u32) -> &[TVar<u32>] {
                    if pred == HEAD {
                        &self.head
                    } else {
                        &self.nodes[pred as usize]
                    }
                }

                /// Per level, the last node before `key` (`HEAD`: the head),
                /// and the node at level 0 right after it.
                fn find(
                    &self,
                    tx: &mut Transaction,
                    key: u32,
                ) -> StmResult<([u32; MAX_LEVEL], u32)> {
                    let mut preds = [HEAD; MAX_LEVEL];
                    let mut pred = HEAD;
                    let mut found = NIL;
                    for level in (0..MAX_LEVEL).rev() {
                        loop {
                            let next = self.links(pred)[level].read(tx)?;
                            if next != NIL && next < key {
                                pred = next;
                            } else {
                                if level == 0 {
                                    found = next;
                                }
                                break;
                            }
                        }
                        preds[level] = pred;
                    }
                    Ok((preds, found))
                }
            }

            impl IntSet for ArenaList {
                const NAME: &'static str = $arena_name;

                fn new() -> Self {
                    // Heights come from their own fixed sequence, so every
                    // arena has the same shape.
                    let mut rng = Rng::new(1_000);
                    ArenaList {
                        head: (0..MAX_LEVEL).map(|_| TVar::new(NIL)).collect(),
                        nodes: (0..KEYS)
                            .map(|_| {
                                (0..height(rng.next_u64()))
                                    .map(|_| TVar::new(NIL))
                                    .collect()
                            })
                            .collect(),
                    }
                }

                fn contains(&self, key: u32) -> bool {
                    atomically(|tx| {
                        let mut pred = HEAD;
                        for level in (0..MAX_LEVEL).rev() {
                            loop {
                                let next = self.links(pred)[level].read(tx)?;
                                if next == key {
                                    return Ok(true);
                                } else if next != NIL && next < key {
                                    pred = next;
                                } else {
                                    break;
                                }
                            }
                        }
                        Ok(false)
                    })
                }

                fn insert(&self, key: u32, _: usize) -> bool {
                    atomically(|tx| {
                        let (preds, found) = self.find(tx, key)?;
                        if found == key {
                            return Ok(false);
                        }
                        let node = &self.nodes[key as usize];
                        for (level, &pred) in preds.iter().enumerate().take(node.len()) {
                            let links = self.links(pred);
                            let after = links[level].read(tx)?;
                            node[level].write(tx, after)?;
                            links[level].write(tx, key)?;
                        }
                        Ok(true)
                    })
                }

                fn remove(&self, key: u32) -> bool {
                    atomically(|tx| {
                        let (preds, found) = self.find(tx, key)?;
                        if found != key {
                            return Ok(false);
                        }
                        let node = &self.nodes[key as usize];
                        for (level, &pred) in preds.iter().enumerate().take(node.len()) {
                            let after = node[level].read(tx)?;
                            self.links(pred)[level].write(tx, after)?;
                        }
                        Ok(true)
                    })
                }

                fn elements(&self) -> Vec<u32> {
                    atomically(|tx| {
                        let mut keys = Vec::new();
                        let mut next = self.head[0].read(tx)?;
                        while next != NIL {
                            keys.push(next);
                            next = self.nodes[next as usize][0].read(tx)?;
                        }
                        Ok(keys)
                    })
                }
            }
        }
    };
}

skip_lists!(steadfast_lists, steadfast, "steadfast", "steadfast, arena");
skip_lists!(stm04_lists, stm, "stm 0.4", "stm 0.4, arena");

struct RwLockSet(parking_lot::RwLock<BTreeSet<u32>>);

impl IntSet for RwLockSet {
    const NAME: &'static str = "RwLock<BTreeSet>";
    fn new() -> Self {
        RwLockSet(parking_lot::RwLock::new(BTreeSet::new()))
    }
    fn contains(&self, key: u32) -> bool {
        self.0.read().contains(&key)
    }
    fn insert(&self, key: u32, _: usize) -> bool {
        self.0.write().insert(key)
    }
    fn remove(&self, key: u32) -> bool {
        self.0.write().remove(&key)
    }
    fn elements(&self) -> Vec<u32> {
        self.0.read().iter().copied().collect()
    }
}

struct MutexSet(std::sync::Mutex<BTreeSet<u32>>);

impl MutexSet {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<u32>> {
        self.0
            .lock()
            .expect("a benchmark thread panicked holding the lock")
    }
}

impl IntSet for MutexSet {
    const NAME: &'static str = "Mutex<BTreeSet>";
    fn new() -> Self {
        MutexSet(std::sync::Mutex::new(BTreeSet::new()))
    }
    fn contains(&self, key: u32) -> bool {
        self.lock().contains(&key)
    }
    fn insert(&self, key: u32, _: usize) -> bool {
        self.lock().insert(key)
    }
    fn remove(&self, key: u32) -> bool {
        self.lock().remove(&key)
    }
    fn elements(&self) -> Vec<u32> {
        self.lock().iter().copied().collect()
    }
}

/// One operation of the mix, all drawn from one random number: the key from
/// the low bits, the kind from bits 32.., the tower height from bits 48...
/// Returns the change in size (+1 for an insert that added, -1 for a remove
/// that removed).
#[inline]
fn step<S: IntSet>(set: &S, rng: &mut Rng) -> i64 {
    let r = rng.next_u64();
    let key = (r % u64::from(KEYS)) as u32;
    let roll = (r >> 32) % 100;
    if roll < INSERT_PCT {
        i64::from(set.insert(key, height(r >> 48)))
    } else if roll < INSERT_PCT + REMOVE_PCT {
        -i64::from(set.remove(key))
    } else {
        black_box(set.contains(key));
        0
    }
}

/// A set holding half of the keys, picked by the same sequence every time.
fn prefilled<S: IntSet>() -> S {
    let set = S::new();
    let mut rng = Rng::new(7);
    let mut size = 0;
    while size < KEYS / 2 {
        let r = rng.next_u64();
        if set.insert((r % u64::from(KEYS)) as u32, height(r >> 48)) {
            size += 1;
        }
    }
    set
}

/// Replays random operations on `S` and on a `BTreeSet`, comparing every
/// answer and, now and then, the whole contents.
fn check_against_model<S: IntSet>() {
    let set = S::new();
    let mut model = BTreeSet::new();
    let mut rng = Rng::new(42);
    for i in 0..5_000 {
        let r = rng.next_u64();
        // A small key range, so inserts and removes often hit present keys.
        let key = (r % 128) as u32;
        match (r >> 32) % 3 {
            0 => assert_eq!(
                set.insert(key, height(r >> 48)),
                model.insert(key),
                "{}: insert {key}",
                S::NAME
            ),
            1 => assert_eq!(
                set.remove(key),
                model.remove(&key),
                "{}: remove {key}",
                S::NAME
            ),
            _ => assert_eq!(
                set.contains(key),
                model.contains(&key),
                "{}: contains {key}",
                S::NAME
            ),
        }
        if i % 500 == 0 {
            assert!(
                set.elements().iter().eq(model.iter()),
                "{}: contents",
                S::NAME
            );
        }
    }
    assert!(
        set.elements().iter().eq(model.iter()),
        "{}: contents",
        S::NAME
    );
}

/// Runs `iters` operations split over the threads (one per generator) and
/// returns the wall time from the moment all are ready until the last one
/// ends, with the net change in size. One generator runs on this thread.
fn drive<S: IntSet>(set: &S, rngs: &mut [Rng], iters: u64) -> (Duration, i64) {
    let threads = rngs.len() as u64;
    if threads == 1 {
        let start = Instant::now();
        let net = (0..iters).map(|_| step(set, &mut rngs[0])).sum();
        return (start.elapsed(), net);
    }
    let ready = Barrier::new(rngs.len() + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = rngs
            .iter_mut()
            .enumerate()
            .map(|(t, rng)| {
                let ready = &ready;
                let share = iters / threads + u64::from((t as u64) < iters % threads);
                s.spawn(move || {
                    ready.wait();
                    (0..share).map(|_| step(set, rng)).sum::<i64>()
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        let net = handles
            .into_iter()
            .map(|h| h.join().expect("benchmark thread panicked"))
            .sum();
        (start.elapsed(), net)
    })
}

fn intset<S: IntSet>(group: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    let set: S = prefilled();
    let initial = set.elements().len() as i64;
    // Thread `t` continues one sequence across samples, the same for every
    // contender.
    let mut rngs: Vec<Rng> = (0..threads).map(|t| Rng::new(t as u64 + 1)).collect();
    let mut net = 0i64;
    let before = steadfast::stats();
    group.bench_function(S::NAME, |b| {
        b.iter_custom(|iters| {
            let (time, change) = drive(&set, &mut rngs, iters);
            net += change;
            time
        })
    });
    if S::NAME.starts_with("steadfast") {
        // The same line format as the other benchmarks: the table script
        // collects these.
        let d = steadfast::stats() - before;
        println!(
            "steadfast-stats intset-{threads}t/{}: commits {} conflicts {} lock_conflicts {} serial_runs {}",
            S::NAME,
            d.commits,
            d.conflicts,
            d.lock_conflicts,
            d.serial_runs
        );
    }
    let elements = set.elements();
    assert!(
        elements.windows(2).all(|w| w[0] < w[1]),
        "{}: elements out of order or repeated",
        S::NAME
    );
    assert_eq!(
        elements.len() as i64,
        initial + net,
        "{}: size is not initial + inserted - removed",
        S::NAME
    );
}

fn main() {
    check_against_model::<steadfast_lists::ArcList>();
    check_against_model::<steadfast_lists::ArenaList>();
    check_against_model::<stm04_lists::ArcList>();
    check_against_model::<stm04_lists::ArenaList>();
    check_against_model::<RwLockSet>();
    check_against_model::<MutexSet>();

    let mut c = config();
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("intset-{threads}t"));
        intset::<steadfast_lists::ArcList>(&mut group, threads);
        intset::<steadfast_lists::ArenaList>(&mut group, threads);
        intset::<stm04_lists::ArcList>(&mut group, threads);
        intset::<stm04_lists::ArenaList>(&mut group, threads);
        intset::<RwLockSet>(&mut group, threads);
        intset::<MutexSet>(&mut group, threads);
        group.finish();
    }
    c.final_summary();
}
