//! The world of the first design note: a world bank and players, each player
//! an object held by the world. The world's invariant deep-reads every
//! player's money: the bank plus the players' money is constant, whatever
//! several threads do at once. Transactions that would create or destroy money
//! fail, naming the invariant, and leave nothing behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use steadfast::{atomically, atomically_or_failure, methods};
use steadfast::{StmResult, Transaction, Transactional};

#[derive(Clone, Debug, Transactional)]
struct Player {
    name: String,
    money: i64,
}

#[methods]
impl Player {
    #[invariant]
    fn not_in_debt(money: &i64) -> Result<(), String> {
        if *money >= 0 {
            Ok(())
        } else {
            Err(format!("money {money} < 0"))
        }
    }
}

#[derive(Clone, Debug, Transactional)]
struct World {
    bank: i64,
    players: Vec<TPlayer>,
    /// The money created with the world: never written.
    total: i64,
}

#[methods]
impl World {
    #[invariant]
    fn conserved(
        bank: &i64,
        players: &[TPlayer],
        total: &i64,
        tx: &mut Transaction,
    ) -> StmResult<Result<(), String>> {
        let mut sum = *bank;
        for p in players {
            sum += p.money(tx)?;
        }
        Ok(if sum == *total {
            Ok(())
        } else {
            Err(format!("bank + players = {sum}, but {total} was created"))
        })
    }

    /// A cache over the same deep reads.
    #[cache_lazy]
    fn richest(players: &[TPlayer], tx: &mut Transaction) -> StmResult<Option<String>> {
        let mut best: Option<(i64, String)> = None;
        for p in players {
            let money = p.money(tx)?;
            if best.as_ref().is_none_or(|(m, _)| money > *m) {
                best = Some((money, p.name(tx)?));
            }
        }
        Ok(best.map(|(_, name)| name))
    }
}

const TOTAL: i64 = 10_000;
const PLAYERS: usize = 6;

/// A world whose bank paid each player 100 to start.
fn world() -> (TWorld, Vec<TPlayer>) {
    let world = TWorld::new(World {
        bank: TOTAL,
        players: Vec::new(),
        total: TOTAL,
    })
    .unwrap();
    let players = (0..PLAYERS)
        .map(|i| {
            atomically(|tx| {
                let p = TPlayer::new_in(
                    tx,
                    Player {
                        name: format!("p{i}"),
                        money: 0,
                    },
                )?;
                world.modify_players(tx, |mut ps| {
                    ps.push(p.clone());
                    ps
                })?;
                world.modify_bank(tx, |b| b - 100)?;
                p.set_money(tx, 100)?;
                Ok(p)
            })
        })
        .collect();
    (world, players)
}

fn money_in(world: &TWorld, tx: &mut Transaction) -> StmResult<i64> {
    let mut sum = world.bank(tx)?;
    for p in world.players(tx)? {
        sum += p.money(tx)?;
    }
    Ok(sum)
}

#[test]
fn money_is_conserved_while_threads_move_it() {
    const THREADS: usize = 3;
    const ROUNDS: u64 = 5_000;
    let (world, players) = world();
    let start = Arc::new(Barrier::new(THREADS + 1));
    let done = Arc::new(AtomicBool::new(false));

    let movers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (world, players, start) = (world.clone(), players.clone(), start.clone());
            thread::spawn(move || {
                let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1);
                let mut next = move || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                };
                let (mut minted, mut overdrawn) = (0, 0);
                start.wait();
                for round in 0..ROUNDS {
                    let a = &players[next() as usize % PLAYERS];
                    let b = &players[next() as usize % PLAYERS];
                    let amount = (next() % 40) as i64;
                    match round % 10 {
                        // A transfer between two players, never overdrawing.
                        0..=5 => atomically(|tx| {
                            let have = a.money(tx)?;
                            let moved = amount.min(have);
                            a.set_money(tx, have - moved)?;
                            b.modify_money(tx, |m| m + moved)
                        }),
                        // The bank pays a player, or a player pays the bank.
                        6 => atomically(|tx| {
                            let moved = amount.min(world.bank(tx)?);
                            world.modify_bank(tx, |bank| bank - moved)?;
                            a.modify_money(tx, |m| m + moved)
                        }),
                        7 => atomically(|tx| {
                            let moved = amount.min(a.money(tx)?);
                            a.modify_money(tx, |m| m - moved)?;
                            world.modify_bank(tx, |bank| bank + moved)
                        }),
                        // Money from nowhere: must fail.
                        8 => {
                            let r = atomically_or_failure(|tx| {
                                a.modify_money(tx, |m| m + 1 + amount)?;
                                Ok(())
                            });
                            let v = r.expect_err("minting must fail");
                            assert_eq!(
                                v.invariant_violation().unwrap().invariant,
                                "World::conserved"
                            );
                            minted += 1;
                        }
                        // A transfer that overdraws: must fail, naming the player's invariant.
                        _ => {
                            let r = atomically_or_failure(|tx| {
                                let have = a.money(tx)?;
                                a.set_money(tx, -1)?;
                                world.modify_bank(tx, |bank| bank + have + 1)?;
                                Ok(())
                            });
                            let v = r.expect_err("overdrawing must fail");
                            assert_eq!(
                                v.invariant_violation().unwrap().invariant,
                                "Player::not_in_debt"
                            );
                            overdrawn += 1;
                        }
                    }
                }
                (minted, overdrawn)
            })
        })
        .collect();

    let auditor = {
        let (world, start, done) = (world.clone(), start.clone(), done.clone());
        thread::spawn(move || {
            start.wait();
            let mut audits = 0u64;
            while !done.load(Ordering::SeqCst) || audits < 100 {
                assert_eq!(atomically(|tx| money_in(&world, tx)), TOTAL);
                let richest = atomically(|tx| world.richest(tx));
                assert!(richest.is_some());
                audits += 1;
            }
            audits
        })
    };

    let mut failures = (0, 0);
    for m in movers {
        let (minted, overdrawn) = m.join().unwrap();
        failures.0 += minted;
        failures.1 += overdrawn;
    }
    done.store(true, Ordering::SeqCst);
    assert!(auditor.join().unwrap() >= 100);
    assert_eq!(
        failures,
        (THREADS as u64 * ROUNDS / 10, THREADS as u64 * ROUNDS / 10)
    );
    assert_eq!(atomically(|tx| money_in(&world, tx)), TOTAL);
    for p in &players {
        assert!(atomically(|tx| p.money(tx)) >= 0);
    }
}

#[test]
fn the_richest_player_follows_the_money() {
    let (world, players) = world();
    atomically(|tx| {
        players[0].modify_money(tx, |m| m - 50)?;
        players[3].modify_money(tx, |m| m + 50)
    });
    assert_eq!(atomically(|tx| world.richest(tx)), Some("p3".to_string()));
    atomically(|tx| {
        players[3].modify_money(tx, |m| m - 100)?;
        players[5].modify_money(tx, |m| m + 100)
    });
    assert_eq!(atomically(|tx| world.richest(tx)), Some("p5".to_string()));
}

#[test]
fn a_new_player_brought_in_with_money_from_nowhere_is_refused() {
    let (world, _players) = world();
    let r = atomically_or_failure(|tx| {
        let rich = TPlayer::new_in(
            tx,
            Player {
                name: "rich".into(),
                money: 1_000,
            },
        )?;
        world.modify_players(tx, |mut ps| {
            ps.push(rich);
            ps
        })?;
        Ok(())
    });
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "World::conserved"
    );
    assert_eq!(atomically(|tx| world.players(tx)).len(), PLAYERS);
}
