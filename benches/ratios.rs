//! Ratios that hold on a noisy machine.
//!
//! Criterion measures one contender after the other. On a machine whose speed
//! drifts by half or more within minutes (a shared virtual machine), that
//! moves their ratios as much as any change to the code does. Here steadfast
//! and one other contender take turns instead: short slices of about 10 ms
//! each, the order swapped every round, so both run on the same machine
//! within milliseconds of each other. Each round gives one ratio; the table
//! reports their median and interquartile range over 41 rounds.
//!
//! `cargo bench --bench ratios` prints a markdown table (under a minute).
//! Every contender's total is checked after its rounds, as in `stm_peers`.

mod bank;
mod common;

use bank::*;
use common::{on_threads, Rng};
use std::hint::black_box;
use std::time::{Duration, Instant};

const ROUNDS: usize = 41;
const SLICE: Duration = Duration::from_millis(10);

#[derive(Clone, Copy)]
enum Workload {
    Transfer,
    ReadOnly,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Transfer => "transfer",
            Workload::ReadOnly => "read-only sum",
        }
    }

    fn run<B: Bank>(self, bank: &B, rng: &mut Rng) {
        match self {
            Workload::Transfer => {
                let (from, to) = rng.pair(ACCOUNTS);
                bank.transfer(from, to);
            }
            Workload::ReadOnly => {
                assert_eq!(black_box(bank.total()), TOTAL, "{} sums wrong", B::NAME);
            }
        }
    }
}

/// One contender's bank, its random sequence and the operations per slice.
struct Side<B> {
    bank: B,
    rng: Rng,
    ops: u64,
}

impl<B: Bank> Side<B> {
    fn new(workload: Workload, threads: usize) -> Self {
        let mut side = Side {
            bank: stirred::<B>(),
            rng: Rng::new(1),
            ops: 64,
        };
        side.calibrate(workload, threads);
        side
    }

    /// Runs one slice of `ops` operations on `threads` threads; returns the
    /// wall time.
    fn slice(&mut self, workload: Workload, threads: usize) -> Duration {
        if threads == 1 {
            let start = Instant::now();
            for _ in 0..self.ops {
                workload.run(&self.bank, &mut self.rng);
            }
            start.elapsed()
        } else {
            on_threads(threads, self.ops, &self.bank, |bank, rng| {
                workload.run(bank, rng)
            })
        }
    }

    /// Grows `ops` until a slice takes about `SLICE` (this also warms up).
    fn calibrate(&mut self, workload: Workload, threads: usize) {
        loop {
            let took = self.slice(workload, threads);
            if took >= SLICE / 2 {
                let scale = SLICE.as_secs_f64() / took.as_secs_f64();
                self.ops = ((self.ops as f64 * scale) as u64).max(1);
                return;
            }
            self.ops *= 2;
        }
    }

    /// Nanoseconds per operation over one slice.
    fn ns_per_op(&mut self, workload: Workload, threads: usize) -> f64 {
        self.slice(workload, threads).as_nanos() as f64 / self.ops as f64
    }
}

/// The value at fraction `q` of sorted `xs`.
fn quantile(xs: &[f64], q: f64) -> f64 {
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

fn sorted(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_by(f64::total_cmp);
    xs
}

/// Alternates steadfast and `B` and prints one table row.
fn compare<B: Bank>(workload: Workload, threads: usize) {
    let mut ours = Side::<Steadfast>::new(workload, threads);
    let mut theirs = Side::<B>::new(workload, threads);
    let (mut ratios, mut our_times, mut their_times) = (vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        let (a, b) = if round % 2 == 0 {
            let a = ours.ns_per_op(workload, threads);
            (a, theirs.ns_per_op(workload, threads))
        } else {
            let b = theirs.ns_per_op(workload, threads);
            (ours.ns_per_op(workload, threads), b)
        };
        ratios.push(b / a);
        our_times.push(a);
        their_times.push(b);
    }
    assert_eq!(ours.bank.total(), TOTAL, "steadfast lost or invented money");
    assert_eq!(
        theirs.bank.total(),
        TOTAL,
        "{} lost or invented money",
        B::NAME
    );
    let (ratios, ours, theirs) = (sorted(ratios), sorted(our_times), sorted(their_times));
    let median = quantile(&ratios, 0.5);
    let verdict = if median >= 1.0 {
        format!("{median:.2}x faster")
    } else {
        format!("{:.2}x slower", 1.0 / median)
    };
    println!(
        "| {} | {threads} | `{}` | {verdict} | {:.2}-{:.2} | {:.1} | {:.1} |",
        workload.name(),
        B::NAME,
        quantile(&ratios, 0.25),
        quantile(&ratios, 0.75),
        quantile(&ours, 0.5),
        quantile(&theirs, 0.5),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a name given after `--` selects
    // workloads whose name contains it.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    println!(
        "| workload | threads | contender | steadfast is (median of {ROUNDS} rounds) \
         | contender time / steadfast time, p25-p75 | steadfast ns/op | contender ns/op |"
    );
    println!("|---|---:|---|---|---:|---:|---:|");
    for workload in [Workload::Transfer, Workload::ReadOnly] {
        if filter
            .as_deref()
            .is_some_and(|f| !workload.name().contains(f))
        {
            continue;
        }
        for threads in [1, 2] {
            compare::<Stm04>(workload, threads);
            compare::<AsyncStm>(workload, threads);
            compare::<HandTl2>(workload, threads);
            compare::<MutexVec>(workload, threads);
            compare::<RwLockVec>(workload, threads);
            compare::<MutexPerAccount>(workload, threads);
        }
    }
}
