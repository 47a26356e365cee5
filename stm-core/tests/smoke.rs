//! Quick end-to-end checks of the engine's main operations.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use steadfast_core::*;

#[test]
fn read_write_modify_replace_cas() {
    let a = TVar::new(10i64);
    assert_eq!(atomically(|tx| a.read(tx)), 10);
    atomically(|tx| a.write(tx, 5));
    atomically(|tx| a.modify(tx, |x| x + 1));
    assert_eq!(atomically(|tx| a.replace(tx, 7)), 6);
    assert!(atomically(|tx| a.compare_and_set(tx, &7, 8)));
    assert!(!atomically(|tx| a.compare_and_set(tx, &7, 9)));
    assert_eq!(a.load(), 8);
}

#[test]
fn retry_wakes_up() {
    let a = TVar::new(0i64);
    let a2 = a.clone();
    let t = std::thread::spawn(move || {
        atomically(|tx| {
            let v = a2.read(tx)?;
            if v < 100 {
                return retry();
            }
            Ok(v)
        })
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    atomically(|tx| a.write(tx, 100));
    assert_eq!(t.join().unwrap(), 100);
}

#[test]
fn or_else_rolls_back_first_branch() {
    let a = TVar::new(1);
    let b = TVar::new(2);
    let r = atomically(|tx| {
        tx.or_else(
            |tx| {
                a.write(tx, 100)?;
                retry()
            },
            |tx| {
                let x = a.read(tx)?;
                b.write(tx, x + 10)?;
                Ok(x)
            },
        )
    });
    assert_eq!(r, 1);
    assert_eq!(a.load(), 1);
    assert_eq!(b.load(), 11);
}

#[test]
fn invariant_blocks_bad_commit() {
    let bal = TVar::new(10i64);
    let b = bal.clone();
    atomically(|tx| {
        let b = b.clone();
        tx.invariant("solvent", move |tx| {
            if b.read(tx)? < 0 {
                Err("overdrawn".into())
            } else {
                Ok(())
            }
        })
    });
    let r: Result<(), TransactionError<()>> = try_atomically(|tx| Ok(bal.write(tx, -1)?));
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "solvent"
    );
    assert_eq!(bal.load(), 10);
    atomically(|tx| bal.write(tx, 3));
    assert_eq!(bal.load(), 3);
}

#[test]
fn lazy_cache_counts() {
    let x = TVar::new(2);
    let calls = Arc::new(AtomicUsize::new(0));
    let cache = LazyCache::new();
    let get = |cache: &LazyCache<i32>| {
        atomically(|tx| {
            cache.get(tx, |tx| {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(x.read(tx)? * 10)
            })
        })
    };
    assert_eq!(get(&cache), 20);
    assert_eq!(get(&cache), 20);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    atomically(|tx| x.write(tx, 3));
    assert_eq!(get(&cache), 30);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // inside a writing transaction: own writes seen
    let v = atomically(|tx| {
        x.write(tx, 4)?;
        cache.get(tx, |tx| Ok(x.read(tx)? * 10))
    });
    assert_eq!(v, 40);
    assert_eq!(get(&cache), 40);
}

#[test]
fn bank_two_threads() {
    let accounts: Arc<Vec<TVar<i64>>> = Arc::new((0..64).map(|_| TVar::new(100)).collect());
    let mut handles = vec![];
    for t in 0..2u64 {
        let accounts = accounts.clone();
        handles.push(std::thread::spawn(move || {
            let mut seed = 0x9E3779B97F4A7C15u64 ^ (t + 1);
            for _ in 0..20000 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let from = (seed % 64) as usize;
                let to = ((seed >> 8) % 64) as usize;
                atomically(|tx| {
                    accounts[from].modify(tx, |b| b - 1)?;
                    accounts[to].modify(tx, |b| b + 1)
                });
                if seed.is_multiple_of(16) {
                    let total: i64 = atomically(|tx| {
                        let mut s = 0;
                        for a in accounts.iter() {
                            s += a.read(tx)?;
                        }
                        Ok(s)
                    });
                    assert_eq!(total, 6400);
                }
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let total: i64 = accounts.iter().map(|a| a.load()).sum();
    assert_eq!(total, 6400);
}

/// Few accounts, two threads: the highest conflict rate. Guards against lost
/// updates when a snapshot is extended while another commit is publishing.
#[test]
fn hot_accounts_conserve_money() {
    const K: u64 = 4;
    for round in 0..4u64 {
        let accounts: Arc<Vec<TVar<i64>>> = Arc::new((0..K).map(|_| TVar::new(100)).collect());
        let handles: Vec<_> = (0..2u64)
            .map(|t| {
                let accounts = accounts.clone();
                std::thread::spawn(move || {
                    let mut seed = 0x9E3779B97F4A7C15u64 ^ (t * 7919 + round + 1);
                    for _ in 0..50_000 {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        let from = (seed % K) as usize;
                        let to = ((seed >> 8) % K) as usize;
                        atomically(|tx| {
                            accounts[from].modify(tx, |b| b - 1)?;
                            accounts[to].modify(tx, |b| b + 1)
                        });
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let total: i64 = accounts.iter().map(|a| a.load()).sum();
        assert_eq!(total, 100 * K as i64, "round {round}");
    }
}
