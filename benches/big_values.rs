//! A big value in one variable (a `Vec<i64>` of 1024 entries): what copying
//! it costs, and what lending and changing it in place save.
//!
//! - `read`: sum the entries; `read` clones the vector, `read_with` lends it.
//! - `change_x3`: three one-entry changes in one transaction; `modify` clones
//!   the vector for each, `update` clones it once.
//! - `field_change_x3`: the same through a transactional struct's field:
//!   `modify_entries` against `update_entries`.
//!
//! Each contender's result is checked, so one that skipped work would fail.

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

mod common;

use common::config;
use criterion::{criterion_group, criterion_main, Bencher, Criterion};
use std::hint::black_box;
use steadfast::{atomically, StmResult, TVar, Transaction, Transactional};

const LEN: usize = 1024;

#[derive(Clone, Transactional)]
struct Table {
    entries: Vec<i64>,
}

/// Three one-entry changes per transaction, at a position that moves.
#[derive(Default)]
struct Changes {
    next: usize,
    made: i64,
}

impl Changes {
    /// Measures transactions that each make three changes with `change`.
    fn bench(
        &mut self,
        b: &mut Bencher<'_>,
        change: impl Fn(&mut Transaction, usize) -> StmResult<()>,
    ) {
        b.iter(|| {
            let start = self.next;
            self.next = (self.next + 3) % (LEN - 2);
            self.made += 3;
            atomically(|tx| (start..start + 3).try_for_each(|i| change(tx, i)))
        })
    }
}

fn big_values(c: &mut Criterion) {
    let var = TVar::new(vec![1i64; LEN]);
    let mut group = c.benchmark_group("big_values");

    group.bench_function("read/read", |b| {
        b.iter(|| atomically(|tx| Ok(var.read(tx)?.iter().sum::<i64>())))
    });
    group.bench_function("read/read_with", |b| {
        b.iter(|| atomically(|tx| var.read_with(tx, |v| v.iter().sum::<i64>())))
    });
    assert_eq!(
        atomically(|tx| var.read_with(tx, |v| v.iter().sum::<i64>())),
        LEN as i64
    );

    // Where the next three changes go, and how many were made in all.
    let mut at = Changes::default();
    group.bench_function("change_x3/modify", |b| {
        at.bench(b, |tx, i| {
            var.modify(tx, |mut v| {
                v[i] += 1;
                v
            })
        })
    });
    group.bench_function("change_x3/update", |b| {
        at.bench(b, |tx, i| var.update(tx, |v| v[i] += 1))
    });
    let sum = atomically(|tx| var.read_with(tx, |v| v.iter().sum::<i64>()));
    assert_eq!(sum, LEN as i64 + at.made, "lost changes");

    let table = TTable::new(Table {
        entries: vec![0; LEN],
    })
    .unwrap();
    at.made = 0;
    group.bench_function("field_change_x3/modify_entries", |b| {
        at.bench(b, |tx, i| {
            table.modify_entries(tx, |mut v| {
                v[i] += 1;
                v
            })
        })
    });
    group.bench_function("field_change_x3/update_entries", |b| {
        at.bench(b, |tx, i| table.update_entries(tx, |v| v[i] += 1))
    });
    let sum: i64 = atomically(|tx| table.entries(tx)).iter().sum();
    assert_eq!(black_box(sum), at.made, "lost changes");
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = big_values
}
criterion_main!(benches);
