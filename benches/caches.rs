//! What a `#[cache_lazy]` costs next to what it saves, and next to the
//! hand-written alternative: a struct behind a `parking_lot::RwLock` with a
//! cache field that every setter must remember to clear.
//!
//! The cached function summarises a 256-entry history (count, mean, max,
//! formatted with the owner's name).
//! - `hit`: the value is cached. steadfast: one read-only transaction that
//!   reads the cache; RwLock: a read lock and a clone.
//! - `recompute`: a write to an input, then a read that recomputes. steadfast:
//!   a writing transaction, then a transaction that misses and refills;
//!   RwLock: a write lock that clears the field, then a read that upgrades.
//! - `compute`: the plain function on plain data: what a hit saves.
//! - `cache_now`: reading an eager cache (never computes).
//! - `field`: reading one field in a transaction, for scale.

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

mod common;
mod fixtures;

use common::config;
use criterion::{criterion_group, criterion_main, Criterion};
use fixtures::ledger::{history, summarise, Ledger, TLedger};
use parking_lot::{RwLock, RwLockUpgradableReadGuard};
use std::hint::black_box;
use steadfast::atomically;

/// The hand-written version: every setter must clear `summary`.
struct Locked {
    owner: String,
    history: Vec<i64>,
    summary: Option<String>,
}

impl Locked {
    fn summary(lock: &RwLock<Locked>) -> String {
        let guard = lock.upgradable_read();
        if let Some(s) = &guard.summary {
            return s.clone();
        }
        let mut guard = RwLockUpgradableReadGuard::upgrade(guard);
        let s = summarise(&guard.owner, &guard.history);
        guard.summary = Some(s.clone());
        s
    }

    fn hit(lock: &RwLock<Locked>) -> String {
        let guard = lock.read();
        match &guard.summary {
            Some(s) => s.clone(),
            None => {
                drop(guard);
                Locked::summary(lock)
            }
        }
    }

    fn push(lock: &RwLock<Locked>, value: i64) {
        let mut guard = lock.write();
        guard.history[0] = value;
        guard.summary = None; // the line everyone forgets once
    }
}

fn caches(c: &mut Criterion) {
    let ledger = TLedger::new(Ledger {
        owner: "ann".into(),
        history: history(),
    })
    .unwrap();
    let locked = RwLock::new(Locked {
        owner: "ann".into(),
        history: history(),
        summary: None,
    });

    let mut g = c.benchmark_group("caches/hit");
    g.bench_function("steadfast", |b| {
        b.iter(|| black_box(atomically(|tx| ledger.summary(tx))))
    });
    g.bench_function("rwlock", |b| b.iter(|| black_box(Locked::hit(&locked))));
    g.finish();

    let mut g = c.benchmark_group("caches/recompute");
    let mut i = 0i64;
    g.bench_function("steadfast", |b| {
        b.iter(|| {
            i += 1;
            atomically(|tx| {
                ledger.modify_history(tx, |mut h| {
                    h[0] = i % 1000;
                    h
                })
            });
            black_box(atomically(|tx| ledger.summary(tx)))
        })
    });
    g.bench_function("rwlock", |b| {
        b.iter(|| {
            i += 1;
            Locked::push(&locked, i % 1000);
            black_box(Locked::hit(&locked))
        })
    });
    g.finish();

    let plain = history();
    c.bench_function("caches/compute", |b| {
        b.iter(|| black_box(summarise(black_box("ann"), black_box(&plain))))
    });
    c.bench_function("caches/cache_now", |b| {
        b.iter(|| black_box(atomically(|tx| ledger.peak(tx))))
    });
    c.bench_function("caches/field", |b| {
        b.iter(|| black_box(atomically(|tx| ledger.owner(tx))))
    });
}

criterion_group! {
    name = benches;
    config = config();
    targets = caches
}
criterion_main!(benches);
