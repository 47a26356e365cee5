//! The world bank: threads move money between players and the bank while an
//! invariant guards the total.
//!
//! A world is created with a fixed amount of money, all of it in its bank.
//! Players join and take a stake from the bank. Three threads move money at
//! random between players and the bank; an auditor thread sums every purse in
//! its own transactions and asserts the total; a forger tries to mint money
//! and is stopped by the invariant, which names itself. Every quarter of a
//! second the program prints what the engine did.
//!
//! ```text
//! cargo run --release --example world_bank        # two seconds
//! cargo run --release --example world_bank -- 10  # ten seconds
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};
use steadfast::{
    atomically, atomically_or_failure, stats, thread_stats, CheckError, StmResult, TVar,
    Transaction,
};

// ANCHOR: types
/// Someone who holds money.
struct Player {
    name: String,
    purse: TVar<i64>,
}

/// A bank, the players, and the amount of money the world was created with.
struct World {
    bank: TVar<i64>,
    /// Behind an `Arc` so that reading the list copies one pointer.
    players: TVar<Arc<Vec<Arc<Player>>>>,
    created: i64,
}
// ANCHOR_END: types

// ANCHOR: new
impl World {
    /// A world whose bank holds all the money there will ever be.
    fn new(created: i64) -> Arc<World> {
        let world = Arc::new(World {
            bank: TVar::new(created),
            players: TVar::new(Arc::new(Vec::new())),
            created,
        });
        atomically(|tx| {
            // The check holds the world weakly: the world's variables keep
            // the check alive, never the other way round.
            tx.invariant_owned("money is conserved", &world, |world: &World, tx| {
                let held = world.money_held(tx)?;
                if held == world.created {
                    Ok(())
                } else {
                    Err(CheckError::violated(format!(
                        "{held} coins held, {} created",
                        world.created
                    )))
                }
            })?;
            tx.invariant_owned(
                "the bank is solvent",
                &world,
                |world: &World, tx| match world.bank.read(tx)? {
                    coins if coins >= 0 => Ok(()),
                    coins => Err(CheckError::violated(format!("the bank holds {coins}"))),
                },
            )
        });
        world
    }

    /// The bank's coins plus every player's.
    fn money_held(&self, tx: &mut Transaction) -> StmResult<i64> {
        let mut sum = self.bank.read(tx)?;
        for player in self.players.read(tx)?.iter() {
            sum += player.purse.read(tx)?;
        }
        Ok(sum)
    }
}
// ANCHOR_END: new

// ANCHOR: join
impl World {
    /// Adds a player whose stake comes out of the bank, in the caller's
    /// transaction.
    fn join(&self, tx: &mut Transaction, name: &str, stake: i64) -> StmResult<Arc<Player>> {
        let player = Arc::new(Player {
            name: name.to_string(),
            purse: TVar::new(0),
        });
        tx.invariant_owned(
            format!("{name} stays out of debt"),
            &player,
            |player: &Player, tx| match player.purse.read(tx)? {
                coins if coins >= 0 => Ok(()),
                coins => Err(CheckError::violated(format!(
                    "{} holds {coins}",
                    player.name
                ))),
            },
        )?;
        let mut players = self.players.read(tx)?.to_vec();
        players.push(player.clone());
        self.players.write(tx, Arc::new(players))?;
        move_coins(tx, &self.bank, &player.purse, stake)?;
        Ok(player)
    }
}
// ANCHOR_END: join

// ANCHOR: transfer
/// Moves `amount` coins from `from` to `to`. It does not check that `from`
/// can pay: if it cannot, an invariant fails the transaction at its end.
fn move_coins(
    tx: &mut Transaction,
    from: &TVar<i64>,
    to: &TVar<i64>,
    amount: i64,
) -> StmResult<()> {
    from.modify(tx, |coins| coins - amount)?;
    to.modify(tx, |coins| coins + amount)
}

/// One random trade: a payer chosen among the bank and the players pays
/// another, if they can afford it. Returns whether money moved.
fn trade(world: &World, rng: &mut Rng) -> bool {
    atomically(|tx| {
        let players = world.players.read(tx)?;
        // Account 0 is the bank, account i > 0 is player i - 1.
        let purse = |i: usize| match i {
            0 => &world.bank,
            i => &players[i - 1].purse,
        };
        let (from, to) = (rng.below(players.len() + 1), rng.below(players.len() + 1));
        let amount = 1 + rng.below(50) as i64;
        if from == to || purse(from).read(tx)? < amount {
            return Ok(false);
        }
        move_coins(tx, purse(from), purse(to), amount)?;
        Ok(true)
    })
}
// ANCHOR_END: transfer

// ANCHOR: audit
/// Sums every purse and checks the total, inside the transaction. A running
/// transaction only ever sees a consistent snapshot, so this never fails,
/// not even in an attempt that is about to be re-run.
fn audit(world: &World) {
    atomically(|tx| {
        let held = world.money_held(tx)?;
        assert_eq!(
            held, world.created,
            "the auditor saw money appear or vanish"
        );
        Ok(())
    })
}
// ANCHOR_END: audit

fn main() {
    let seconds: f64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().expect("usage: world_bank [SECONDS]"),
        None => 2.0,
    };
    assert!(seconds >= 1.0, "run for at least one second");
    let run_for = Duration::from_secs_f64(seconds);

    // ANCHOR: setup
    let world = World::new(100_000);
    let names = ["ann", "bob", "cyd", "dee", "eve", "fay", "gus", "hal"];
    for name in names {
        atomically(|tx| world.join(tx, name, 1_000));
    }
    // ANCHOR_END: setup
    println!(
        "A world with {} coins: {} in the bank, 1000 for each of {} players.",
        world.created,
        world.bank.load(),
        names.len()
    );
    println!("Three traders, one auditor and one forger run for {seconds} s.\n");

    let trades = AtomicU64::new(0);
    let audits = AtomicU64::new(0);
    let before = stats();
    let start = Instant::now();
    let end = start + run_for; // every thread stops on its own at `end`

    thread::scope(|s| {
        for seed in 1..=3 {
            let (world, trades) = (&world, &trades);
            s.spawn(move || {
                let mut rng = Rng::new(seed);
                while Instant::now() < end {
                    if trade(world, &mut rng) {
                        trades.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        s.spawn(|| {
            while Instant::now() < end {
                audit(&world);
                audits.fetch_add(1, Ordering::Relaxed);
            }
        });

        // ANCHOR: stats
        println!("   time   commits  conflicts  invariant runs   (each line: the last 0.25 s)");
        let mut last = stats();
        let mut tick = 0;
        while Instant::now() < end {
            thread::sleep(Duration::from_millis(250));
            tick += 1;
            if tick == 2 {
                forge(&world);
            }
            if tick == 4 {
                late_joiner(&world);
            }
            let now = stats();
            let delta = now - last;
            last = now;
            println!(
                "  {:>4.2} s {:>9} {:>10} {:>15}",
                start.elapsed().as_secs_f64(),
                delta.commits,
                delta.conflicts,
                delta.invariant_runs,
            );
        }
        // ANCHOR_END: stats
    });

    let run = stats() - before;
    let trades = trades.load(Ordering::Relaxed);
    let held = atomically(|tx| world.money_held(tx));
    assert_eq!(held, world.created);
    let registered = 2 + atomically(|tx| world.players.read(tx)).len();
    println!("\nEngine counters for the whole run: {run}.");

    // ANCHOR: per_trade
    // Alone, with no conflicts to re-run attempts: the checks one trade runs.
    let (mut rng, mut moved) = (Rng::new(99), 0);
    let quiet = thread_stats();
    while moved < 1_000 {
        moved += u64::from(trade(&world, &mut rng));
    }
    let per_trade = (thread_stats() - quiet).invariant_runs as f64 / moved as f64;
    // ANCHOR_END: per_trade

    // ANCHOR: freed
    // Every invariant holds what it guards weakly: dropping the last handle
    // frees the world, its players and their checks.
    let weak: Weak<World> = Arc::downgrade(&world);
    drop(world);
    assert!(weak.upgrade().is_none(), "something kept the world alive");
    // ANCHOR_END: freed

    println!(
        "\nOK: {held} coins conserved over {trades} trades and {} audits; \
         each trade runs {per_trade:.1} of the {registered} checks; \
         the forgery was rejected; the world was freed.",
        audits.load(Ordering::Relaxed),
    );
}

/// The bad transaction: ann finds 1000 coins nobody paid for.
fn forge(world: &World) {
    // ANCHOR: forge
    let forgery = atomically_or_failure(|tx| {
        let ann = world.players.read(tx)?[0].clone();
        ann.purse.modify(tx, |coins| coins + 1_000)?;
        Ok(())
    });
    let error = forgery.unwrap_err();
    let violation = error.invariant_violation().expect("an invariant said no");
    assert_eq!(violation.invariant, "money is conserved");
    println!(
        "  forger: rejected by `{}`: {}",
        violation.invariant, violation.message
    );
    // ANCHOR_END: forge

    // ANCHOR: bonus
    // In the middle of this transaction the world holds 500 coins too many;
    // the invariants run once, at the end, when the books balance again.
    atomically(|tx| {
        let players = world.players.read(tx)?;
        let bob = &players[1];
        bob.purse.modify(tx, |coins| coins + 500)?;
        world.bank.modify(tx, |coins| coins - 500)
    });
    println!("  bank: paid bob a bonus of 500 (credit first, debit second): committed");
    // ANCHOR_END: bonus
}

/// A ninth player joins while the traders run. The conservation check reads
/// the list of players, so it runs in that transaction and from then on
/// reads the newcomer's purse too.
fn late_joiner(world: &World) {
    atomically(|tx| world.join(tx, "ivy", 5_000));
    println!("  ivy joins with 5000 coins from the bank; the check now reads her purse too");
}

/// A small xorshift generator: enough to pick accounts at random.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
