//! What the benchmarks share: the random sequence, the thread driver and the
//! criterion settings.

// Each benchmark binary uses only part of this module.
#![allow(dead_code)]

use criterion::Criterion;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// xorshift64: a few instructions per number, and the same sequence for every
/// contender, so they all do the same work.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n`.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Two distinct numbers below `n` (`n >= 2`): the per-account locks
    /// would deadlock on a self-transfer.
    #[inline]
    pub fn pair(&mut self, n: usize) -> (usize, usize) {
        let r = self.next_u64();
        let a = (r % n as u64) as usize;
        let b = (a + 1 + ((r >> 32) % (n as u64 - 1)) as usize) % n;
        (a, b)
    }
}

/// Runs `iters` calls of `op` split over `threads` threads and returns the
/// wall time from the moment all of them are ready until the last one ends.
/// Thread `t` draws from `Rng::new(t)`, so runs are repeatable.
pub fn on_threads<S, F>(threads: usize, iters: u64, state: &S, op: F) -> Duration
where
    S: Sync,
    F: Fn(&S, &mut Rng) + Sync,
{
    let ready = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (ready, op) = (&ready, &op);
                let share = iters / threads as u64 + u64::from((t as u64) < iters % threads as u64);
                s.spawn(move || {
                    let mut rng = Rng::new(t as u64 + 1);
                    ready.wait();
                    for _ in 0..share {
                        op(state, &mut rng);
                    }
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        for h in handles {
            h.join().expect("benchmark thread panicked");
        }
        start.elapsed()
    })
}

/// Short runs: the whole suite takes a few minutes on a small machine.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(25)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .configure_from_args()
}
