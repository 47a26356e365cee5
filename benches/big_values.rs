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
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use steadfast::{atomically, TVar, Transactional};

const LEN: usize = 1024;

#[derive(Clone, Transactional)]
struct Table {
    entries: Vec<i64>,
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

    let mut i = 0;
    let mut changes = 0i64;
    group.bench_function("change_x3/modify", |b| {
        b.iter(|| {
            i = (i + 3) % (LEN - 2);
            changes += 3;
            atomically(|tx| {
                for k in 0..3 {
                    var.modify(tx, |mut v| {
                        v[i + k] += 1;
                        v
                    })?;
                }
                Ok(())
            })
        })
    });
    group.bench_function("change_x3/update", |b| {
        b.iter(|| {
            i = (i + 3) % (LEN - 2);
            changes += 3;
            atomically(|tx| {
                for k in 0..3 {
                    var.update(tx, |v| v[i + k] += 1)?;
                }
                Ok(())
            })
        })
    });
    let sum = atomically(|tx| var.read_with(tx, |v| v.iter().sum::<i64>()));
    assert_eq!(sum, LEN as i64 + changes, "lost changes");

    let table = TTable::new(Table {
        entries: vec![0; LEN],
    })
    .unwrap();
    let mut changes = 0i64;
    group.bench_function("field_change_x3/modify_entries", |b| {
        b.iter(|| {
            i = (i + 3) % (LEN - 2);
            changes += 3;
            atomically(|tx| {
                for k in 0..3 {
                    table.modify_entries(tx, |mut v| {
                        v[i + k] += 1;
                        v
                    })?;
                }
                Ok(())
            })
        })
    });
    group.bench_function("field_change_x3/update_entries", |b| {
        b.iter(|| {
            i = (i + 3) % (LEN - 2);
            changes += 3;
            atomically(|tx| {
                for k in 0..3 {
                    table.update_entries(tx, |v| v[i + k] += 1)?;
                }
                Ok(())
            })
        })
    });
    let sum: i64 = atomically(|tx| table.entries(tx)).iter().sum();
    assert_eq!(black_box(sum), changes, "lost changes");
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = big_values
}
criterion_main!(benches);
