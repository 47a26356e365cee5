//! steadfast against peer STMs (`stm` 0.4, `async-stm` 0.5) and locks on a
//! 64-account bank: random one-unit transfers (1 and 2 threads) and a
//! read-only sum of every balance.
//!
//! After each contender is measured, its total is checked: a contender that
//! loses or invents money fails the run instead of looking fast.

mod bank;
mod common;

use bank::*;
use common::{config, on_threads, Rng};
use criterion::measurement::WallTime;
use criterion::{black_box, BenchmarkGroup};

/// Prints steadfast's commit and conflict counts for one benchmark; the table
/// script collects these lines.
fn with_stats(id: &str, name: &str, run: impl FnOnce()) {
    let before = steadfast::stats();
    run();
    if name == Steadfast::NAME {
        let d = steadfast::stats() - before;
        println!(
            "steadfast-stats {id}: commits {} conflicts {} lock_conflicts {} serial_runs {}",
            d.commits, d.conflicts, d.lock_conflicts, d.serial_runs
        );
    }
}

fn transfer<B: Bank>(group: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    let bank = B::new();
    let id = format!("transfer-{threads}t/{}", B::NAME);
    with_stats(&id, B::NAME, || {
        if threads == 1 {
            let mut rng = Rng::new(1);
            group.bench_function(B::NAME, |b| {
                b.iter(|| {
                    let (from, to) = rng.pair(ACCOUNTS);
                    bank.transfer(from, to)
                })
            });
        } else {
            group.bench_function(B::NAME, |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &bank, |bank, rng| {
                        let (from, to) = rng.pair(ACCOUNTS);
                        bank.transfer(from, to)
                    })
                })
            });
        }
    });
    assert_eq!(bank.total(), TOTAL, "{} lost or invented money", B::NAME);
}

fn read_only<B: Bank>(group: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    let bank = stirred::<B>();
    let id = format!("read-only-{threads}t/{}", B::NAME);
    let sum = |bank: &B| assert_eq!(black_box(bank.total()), TOTAL, "{} sums wrong", B::NAME);
    with_stats(&id, B::NAME, || {
        if threads == 1 {
            group.bench_function(B::NAME, |b| b.iter(|| sum(&bank)));
        } else {
            group.bench_function(B::NAME, |b| {
                b.iter_custom(|iters| on_threads(threads, iters, &bank, |bank, _| sum(bank)))
            });
        }
    });
}

fn main() {
    let mut c = config();
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("transfer-{threads}t"));
        transfer::<Steadfast>(&mut group, threads);
        transfer::<Stm04>(&mut group, threads);
        transfer::<AsyncStm>(&mut group, threads);
        transfer::<HandTl2>(&mut group, threads);
        transfer::<MutexVec>(&mut group, threads);
        transfer::<RwLockVec>(&mut group, threads);
        transfer::<MutexPerAccount>(&mut group, threads);
        group.finish();
    }
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("read-only-{threads}t"));
        read_only::<Steadfast>(&mut group, threads);
        read_only::<Stm04>(&mut group, threads);
        read_only::<AsyncStm>(&mut group, threads);
        read_only::<HandTl2>(&mut group, threads);
        read_only::<MutexVec>(&mut group, threads);
        read_only::<RwLockVec>(&mut group, threads);
        read_only::<MutexPerAccount>(&mut group, threads);
        group.finish();
    }
    c.final_summary();
}
