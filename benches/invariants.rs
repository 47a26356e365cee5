//! An invariant costs a commit only when the commit wrote what it reads: a
//! transaction that writes one account pays for that account's check, however
//! many other accounts and invariants exist.
//!
//! N accounts, each with its own `balance >= 0` invariant (or none, the
//! baseline); each transaction adds 1 to one random account. With N = 100 000
//! the accounts no longer fit in the CPU caches, which slows the baseline too;
//! the "hot" runs write only the first 10 of the 100 000 accounts to separate
//! that effect from the engine's.

mod common;
mod fixtures;

use common::{config, Rng};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId};
use fixtures::guarded::{accounts, INITIAL};
use steadfast::{atomically, thread_stats};

/// Measures one-account writes among the first `hot` of `n` accounts.
fn bench(group: &mut BenchmarkGroup<'_, WallTime>, n: usize, hot: usize, checked: bool) {
    let accounts = accounts(n, checked);
    let mut rng = Rng::new(1);
    let mut ops = 0u64;
    let before = thread_stats();
    let name = if checked { "checked" } else { "none" };
    let param = if hot == n {
        format!("N={n}")
    } else {
        format!("N={n}, {hot} hot")
    };
    group.bench_function(BenchmarkId::new(name, param), |b| {
        b.iter(|| {
            let account = &accounts[rng.below(hot)];
            atomically(|tx| account.modify(tx, |balance| balance + 1));
            ops += 1;
        })
    });
    // Every write committed, and each commit ran exactly the written account's
    // check: none of the other N - 1.
    let runs = (thread_stats() - before).invariant_runs;
    assert_eq!(runs, if checked { ops } else { 0 }, "invariant runs");
    let total: i64 = accounts.iter().map(|a| a.load()).sum();
    assert_eq!(total, n as i64 * INITIAL + ops as i64, "lost writes");
}

fn main() {
    let mut c = config();
    let mut group = c.benchmark_group("invariants");
    for (n, hot) in [(10, 10), (100_000, 100_000), (100_000, 10)] {
        bench(&mut group, n, hot, false);
        bench(&mut group, n, hot, true);
    }
    group.finish();
    c.final_summary();
}
