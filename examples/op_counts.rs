//! Runs one operation N times in a loop, for counting its instructions with
//! `valgrind --tool=callgrind` (see `scripts/count-instructions.sh`, which
//! runs it for two values of N and divides the difference, so start-up and
//! shutdown cancel out).
//!
//! ```text
//! cargo run --release --example op_counts -- <operation> <N>
//! ```
//!
//! Operations: `transfer`, `hand-transfer` (the benchmarks' hand-written
//! TL2), `empty`, `read-only-sum`, `checked-write`, `checked-write-of-100000`
//! (the same write, with 100,000 guarded accounts registered), `box-read`,
//! `cache-hit` and `field-read`. The banks, the guarded accounts, the wheel
//! and the ledger are the benchmarks' own (`benches/bank`,
//! `benches/fixtures`).

use std::hint::black_box;
use std::process::ExitCode;
use steadfast::atomically;

#[path = "../benches/bank/mod.rs"]
mod bank;
#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/fixtures/mod.rs"]
mod fixtures;

use bank::Bank;
use common::Rng;
use fixtures::guarded;
use fixtures::ledger::{history, Ledger, TLedger};
use fixtures::wheel::{Wheel, WheelBox};

fn transfers<B: Bank>(n: usize) {
    let bank = B::new();
    let mut rng = Rng::new(1);
    for _ in 0..n {
        let (from, to) = rng.pair(bank::ACCOUNTS);
        black_box(&bank).transfer(from, to);
    }
    assert_eq!(bank.total(), bank::TOTAL, "a transfer lost money");
}

/// Writes one of the first 10 of `n_accounts` accounts, each guarded by an
/// invariant that holds only a `Weak` to it (the invariant benchmark's).
fn checked_writes(n_accounts: usize, n: usize) {
    let accounts = guarded::accounts(n_accounts, true);
    let mut rng = Rng::new(1);
    for _ in 0..n {
        let account = &accounts[rng.below(10)];
        atomically(|tx| account.modify(tx, |b| b + 1));
    }
}

fn run(operation: &str, n: usize) -> bool {
    match operation {
        "transfer" => transfers::<bank::Steadfast>(n),
        "hand-transfer" => transfers::<bank::HandTl2>(n),
        "empty" => {
            for i in 0..n {
                black_box(atomically(|_| Ok(black_box(i))));
            }
        }
        "read-only-sum" => {
            let bank = bank::Steadfast::new();
            for _ in 0..n {
                black_box(black_box(&bank).total());
            }
        }
        "checked-write" => checked_writes(10, n),
        "checked-write-of-100000" => checked_writes(100_000, n),
        "box-read" => {
            let wheel = WheelBox::new(Wheel {
                size: 26,
                pressure: 3,
            })
            .expect("an inflated wheel");
            for _ in 0..n {
                black_box(atomically(|tx| wheel.read(tx, |w| w.pressure + w.size)));
            }
        }
        "cache-hit" | "field-read" => {
            let ledger = TLedger::new(Ledger {
                owner: "ann".into(),
                history: history(),
            })
            .expect("a ledger");
            let hit = operation == "cache-hit";
            for _ in 0..n {
                if hit {
                    black_box(atomically(|tx| ledger.summary(tx)));
                } else {
                    black_box(atomically(|tx| ledger.owner(tx)));
                }
            }
        }
        _ => return false,
    }
    true
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let operation = args.next().unwrap_or_default();
    let n = args.next().and_then(|n| n.parse().ok());
    match n {
        Some(n) if run(&operation, n) => ExitCode::SUCCESS,
        _ => {
            eprintln!("usage: op_counts <operation> <N>; operations: transfer, hand-transfer, empty, read-only-sum, checked-write, checked-write-of-100000, box-read, cache-hit, field-read");
            ExitCode::FAILURE
        }
    }
}
