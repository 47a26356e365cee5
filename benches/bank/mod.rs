//! The 64-account bank every peer benchmark runs: one `Bank` per contender
//! (steadfast, `stm` 0.4, `async-stm` 0.5, a hand-written TL2 and three
//! lock layouts), shared by `stm_peers` (criterion, one contender after the
//! other) and `ratios` (contenders in alternation).

// Each benchmark binary uses only part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::task::{Context, Poll, Waker};

pub const ACCOUNTS: usize = 64;
pub const INITIAL: i64 = 1_000;
pub const TOTAL: i64 = ACCOUNTS as i64 * INITIAL;

/// One way to keep the accounts.
pub trait Bank: Sync {
    const NAME: &'static str;
    fn new() -> Self;
    /// Moves one unit from `from` to `to` (distinct accounts), atomically.
    fn transfer(&self, from: usize, to: usize);
    /// Every balance summed in one consistent snapshot.
    fn total(&self) -> i64;
}

/// A new bank after 1,000 transfers, so a sum is not over untouched
/// initial values.
pub fn stirred<B: Bank>() -> B {
    let bank = B::new();
    let mut rng = crate::common::Rng::new(99);
    for _ in 0..1_000 {
        let (from, to) = rng.pair(ACCOUNTS);
        bank.transfer(from, to);
    }
    bank
}

// ANCHOR: steadfast
pub struct Steadfast(Vec<steadfast::TVar<i64>>);

impl Bank for Steadfast {
    const NAME: &'static str = "steadfast";
    fn new() -> Self {
        Steadfast(
            (0..ACCOUNTS)
                .map(|_| steadfast::TVar::new(INITIAL))
                .collect(),
        )
    }
    fn transfer(&self, from: usize, to: usize) {
        steadfast::atomically(|tx| {
            self.0[from].modify(tx, |b| b - 1)?;
            self.0[to].modify(tx, |b| b + 1)
        })
    }
    fn total(&self) -> i64 {
        steadfast::atomically(|tx| {
            let mut sum = 0;
            for account in &self.0 {
                sum += account.read(tx)?;
            }
            Ok(sum)
        })
    }
}
// ANCHOR_END: steadfast

pub struct Stm04(Vec<stm::TVar<i64>>);

impl Bank for Stm04 {
    const NAME: &'static str = "stm 0.4";
    fn new() -> Self {
        Stm04((0..ACCOUNTS).map(|_| stm::TVar::new(INITIAL)).collect())
    }
    fn transfer(&self, from: usize, to: usize) {
        stm::atomically(|tx| {
            self.0[from].modify(tx, |b| b - 1)?;
            self.0[to].modify(tx, |b| b + 1)
        })
    }
    fn total(&self) -> i64 {
        stm::atomically(|tx| {
            let mut sum = 0;
            for account in &self.0 {
                sum += account.read(tx)?;
            }
            Ok(sum)
        })
    }
}

/// Polls `future` to completion with a waker that does nothing. `async-stm`
/// only suspends in `retry`, which these workloads never call, so the first
/// poll completes (conflicts re-run inside that poll).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::hint::spin_loop();
    }
}

pub struct AsyncStm(Vec<async_stm::TVar<i64>>);

impl Bank for AsyncStm {
    const NAME: &'static str = "async-stm 0.5";
    fn new() -> Self {
        AsyncStm(
            (0..ACCOUNTS)
                .map(|_| async_stm::TVar::new(INITIAL))
                .collect(),
        )
    }
    fn transfer(&self, from: usize, to: usize) {
        block_on(async_stm::atomically(|| {
            self.0[from].update(|b| b - 1)?;
            self.0[to].update(|b| b + 1)
        }))
    }
    fn total(&self) -> i64 {
        block_on(async_stm::atomically(|| {
            let mut sum = 0;
            for account in &self.0 {
                sum += *account.read()?;
            }
            Ok(sum)
        }))
    }
}

/// The floor of the technique: the TL2 protocol steadfast runs (a global
/// version clock, a versioned lock word per variable, locking at commit),
/// hand-written for exactly this bank. No logs beyond two entries, no
/// nesting check, no reclamation, no invariants or caches, no panic safety:
/// what the same commit costs when nothing else is promised.
pub struct HandTl2 {
    clock: AtomicU64,
    accounts: Vec<HandTl2Account>,
}

/// A balance and its lock word: bit 0 set while a commit holds it, the
/// version of the last commit above it. One cache line each, so two threads
/// writing neighbouring accounts do not take the line from each other.
#[repr(align(64))]
pub struct HandTl2Account {
    word: AtomicU64,
    balance: AtomicI64,
}

impl HandTl2 {
    /// Reads an account in the snapshot `at`, with the lock word it read
    /// (`None`: locked, or changed since `at`).
    #[inline]
    fn read(account: &HandTl2Account, at: u64) -> Option<(i64, u64)> {
        let word = account.word.load(Acquire);
        if word & 1 != 0 || word >> 1 > at {
            return None;
        }
        let balance = account.balance.load(Acquire);
        (account.word.load(Acquire) == word).then_some((balance, word))
    }

    /// One attempt; `false` after a conflict, with nothing changed.
    #[inline]
    fn try_transfer(&self, from: usize, to: usize) -> bool {
        let at = self.clock.load(Acquire);
        let (a, b) = (&self.accounts[from], &self.accounts[to]);
        let (Some((va, wa)), Some((vb, wb))) = (Self::read(a, at), Self::read(b, at)) else {
            return false;
        };
        // Locking from the very words read also validates both reads.
        if a.word
            .compare_exchange(wa, wa | 1, Acquire, Relaxed)
            .is_err()
        {
            return false;
        }
        if b.word
            .compare_exchange(wb, wb | 1, Acquire, Relaxed)
            .is_err()
        {
            a.word.store(wa, Release);
            return false;
        }
        let version = self.clock.fetch_add(1, AcqRel) + 1;
        a.balance.store(va - 1, Relaxed);
        b.balance.store(vb + 1, Relaxed);
        a.word.store(version << 1, Release);
        b.word.store(version << 1, Release);
        true
    }
}

impl Bank for HandTl2 {
    const NAME: &'static str = "hand-written TL2";
    fn new() -> Self {
        HandTl2 {
            clock: AtomicU64::new(0),
            accounts: (0..ACCOUNTS)
                .map(|_| HandTl2Account {
                    word: AtomicU64::new(0),
                    balance: AtomicI64::new(INITIAL),
                })
                .collect(),
        }
    }
    fn transfer(&self, from: usize, to: usize) {
        while !self.try_transfer(from, to) {
            std::hint::spin_loop();
        }
    }
    fn total(&self) -> i64 {
        'attempt: loop {
            let at = self.clock.load(Acquire);
            let mut sum = 0;
            for account in &self.accounts {
                match Self::read(account, at) {
                    Some((balance, _)) => sum += balance,
                    None => continue 'attempt,
                }
            }
            return sum;
        }
    }
}

pub struct MutexVec(parking_lot::Mutex<Vec<i64>>);

impl Bank for MutexVec {
    const NAME: &'static str = "Mutex<Vec<i64>>";
    fn new() -> Self {
        MutexVec(parking_lot::Mutex::new(vec![INITIAL; ACCOUNTS]))
    }
    fn transfer(&self, from: usize, to: usize) {
        let mut accounts = self.0.lock();
        accounts[from] -= 1;
        accounts[to] += 1;
    }
    fn total(&self) -> i64 {
        self.0.lock().iter().sum()
    }
}

pub struct RwLockVec(parking_lot::RwLock<Vec<i64>>);

impl Bank for RwLockVec {
    const NAME: &'static str = "RwLock<Vec<i64>>";
    fn new() -> Self {
        RwLockVec(parking_lot::RwLock::new(vec![INITIAL; ACCOUNTS]))
    }
    fn transfer(&self, from: usize, to: usize) {
        let mut accounts = self.0.write();
        accounts[from] -= 1;
        accounts[to] += 1;
    }
    fn total(&self) -> i64 {
        self.0.read().iter().sum()
    }
}

/// One lock per account, taken in index order so two transfers never deadlock.
pub struct MutexPerAccount(Vec<parking_lot::Mutex<i64>>);

impl Bank for MutexPerAccount {
    const NAME: &'static str = "Vec<Mutex<i64>>";
    fn new() -> Self {
        MutexPerAccount(
            (0..ACCOUNTS)
                .map(|_| parking_lot::Mutex::new(INITIAL))
                .collect(),
        )
    }
    fn transfer(&self, from: usize, to: usize) {
        let (first, second) = (from.min(to), from.max(to));
        let mut first = self.0[first].lock();
        let mut second = self.0[second].lock();
        let (src, dst) = if from < to {
            (&mut *first, &mut *second)
        } else {
            (&mut *second, &mut *first)
        };
        *src -= 1;
        *dst += 1;
    }
    fn total(&self) -> i64 {
        // Hold every lock at once: a consistent snapshot, like a transaction.
        let guards: Vec<_> = self.0.iter().map(|m| m.lock()).collect();
        guards.iter().map(|g| **g).sum()
    }
}
