//! What a box costs next to a transactional struct, and what a cache on an
//! immutable value costs next to one on a transactional struct.
//!
//! The same wheel (`size`, `pressure`, a `pressure > 0` invariant, a lazy
//! `load`) as a box (`WheelBox`) and as a transactional struct (`TWheel`):
//! - `read`: one field in a transaction (`read(tx, |w| w.pressure)` against
//!   the getter).
//! - `change`: one change in a transaction, with its invariant check at
//!   commit (a mutator: clone, change, write back; a setter: one variable).
//! - `change_x3`: three changes in one transaction: still one check.
//! - `cache_hit`: the lazy cache, already filled.
//! - `ledger_change`: a 256-account ledger, one account changed: the box
//!   clones the whole value, as a setter of a `Vec` field does.
//! - `immutable_hit`: a `#[cache_lazy]` of an immutable value: no
//!   transaction at all.

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

mod common;
mod fixtures;

use common::config;
use criterion::{criterion_group, criterion_main, Criterion};
use fixtures::wheel::{Wheel, WheelBox};
use std::hint::black_box;
use steadfast::{atomically, methods, Boxed, Immutable, Transactional};

#[derive(Clone, Transactional)]
struct Tyre {
    size: u32,
    pressure: u32,
}

#[methods]
impl Tyre {
    #[invariant]
    fn inflated(pressure: &u32) -> bool {
        *pressure > 0
    }

    #[cache_lazy]
    fn load(size: &u32, pressure: &u32) -> u32 {
        size * pressure
    }
}

#[derive(Clone, Boxed)]
struct Ledger {
    balances: Vec<i64>,
}

#[methods(boxed)]
impl Ledger {
    #[invariant]
    fn solvent(&self) -> bool {
        self.balances.iter().all(|b| *b >= 0)
    }

    #[mutator]
    fn deposit(&mut self, account: usize, amount: i64) {
        self.balances[account] += amount;
    }
}

#[derive(Clone, Transactional)]
struct Book {
    balances: Vec<i64>,
}

#[methods]
impl Book {
    #[invariant]
    fn solvent(balances: &[i64]) -> bool {
        balances.iter().all(|b| *b >= 0)
    }
}

#[derive(Immutable)]
struct Point {
    x: f64,
    y: f64,
}

#[methods(immutable)]
impl Point {
    #[cache_lazy]
    fn norm(&self) -> f64 {
        (self.x * self.x + self.y * self.y).sqrt()
    }
}

fn boxes(c: &mut Criterion) {
    let boxed = WheelBox::new(Wheel {
        size: 26,
        pressure: 3,
    })
    .unwrap();
    let fields = TTyre::new(Tyre {
        size: 26,
        pressure: 3,
    })
    .unwrap();
    let mut group = c.benchmark_group("boxes");

    group.bench_function("read/box", |b| {
        b.iter(|| atomically(|tx| boxed.read(tx, |w| black_box(w.pressure))))
    });
    group.bench_function("read/transactional", |b| {
        b.iter(|| atomically(|tx| fields.pressure(tx)))
    });

    group.bench_function("change/box", |b| {
        b.iter(|| atomically(|tx| boxed.cycle(tx)))
    });
    group.bench_function("change/transactional", |b| {
        b.iter(|| atomically(|tx| fields.modify_pressure(tx, |p| p % 100 + 1)))
    });

    group.bench_function("change_x3/box", |b| {
        b.iter(|| {
            atomically(|tx| {
                boxed.cycle(tx)?;
                boxed.cycle(tx)?;
                boxed.cycle(tx)
            })
        })
    });
    group.bench_function("change_x3/transactional", |b| {
        b.iter(|| {
            atomically(|tx| {
                fields.modify_pressure(tx, |p| p % 100 + 1)?;
                fields.modify_pressure(tx, |p| p % 100 + 1)?;
                fields.modify_pressure(tx, |p| p % 100 + 1)
            })
        })
    });

    atomically(|tx| boxed.load(tx));
    atomically(|tx| fields.load(tx));
    group.bench_function("cache_hit/box", |b| {
        b.iter(|| atomically(|tx| boxed.load(tx)))
    });
    group.bench_function("cache_hit/transactional", |b| {
        b.iter(|| atomically(|tx| fields.load(tx)))
    });

    let ledger = LedgerBox::new(Ledger {
        balances: vec![100; 256],
    })
    .unwrap();
    let book = TBook::new(Book {
        balances: vec![100; 256],
    })
    .unwrap();
    let mut i = 0;
    group.bench_function("ledger_change/box", |b| {
        b.iter(|| {
            i = (i + 1) % 256;
            atomically(|tx| ledger.deposit(tx, i, 1))
        })
    });
    group.bench_function("ledger_change/transactional", |b| {
        b.iter(|| {
            i = (i + 1) % 256;
            atomically(|tx| {
                book.modify_balances(tx, |mut v| {
                    v[i] += 1;
                    v
                })
            })
        })
    });

    let point = ImmPoint::new(Point { x: 3.0, y: 4.0 });
    point.norm();
    group.bench_function("immutable_hit", |b| b.iter(|| *point.norm()));
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = boxes
}
criterion_main!(benches);
