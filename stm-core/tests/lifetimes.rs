//! Drop counting: values, invariants and caches are freed once nothing can
//! reach them, and never before.
//!
//! The engine frees retired values through an epoch collector, so a test
//! polls (flushing the collector and running transactions) until the count
//! it expects arrives, with a generous time limit.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};
use steadfast_core::*;

/// An allocator that accounts for the memory a thread allocates while it
/// measures, wherever that memory is freed later (the engine frees through
/// an epoch collector, possibly on another thread). Measured blocks carry a
/// header that marks them.
struct Accounting;

const HEADER: usize = 16;
const MARK: usize = 0x5EED_F00D_CAFE_BEEF;
static MEASURED_BYTES: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

/// Where the caller's part of a block starts: after room for the mark, and
/// aligned as the caller asked.
fn offset(layout: Layout) -> usize {
    HEADER.max(layout.align())
}

// SAFETY: every block is allocated by `System` with a layout `dealloc`
// recomputes from the caller's layout (`offset` bytes larger, same
// alignment), and the pointer handed out is `offset` bytes into it, so the
// mark word just before it lies inside the block.
unsafe impl GlobalAlloc for Accounting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let measuring = MEASURING.try_with(|m| m.get()).unwrap_or(false);
        let off = offset(layout);
        // SAFETY: a valid layout grown by `off` (a multiple of its alignment).
        let base = unsafe {
            System.alloc(Layout::from_size_align_unchecked(
                layout.size() + off,
                layout.align(),
            ))
        };
        if base.is_null() {
            return base;
        }
        // SAFETY: `off >= HEADER`, so both stay inside the block; the mark is
        // word-aligned because `off` and the block are.
        let ptr = unsafe { base.add(off) };
        // SAFETY: as above.
        unsafe { (ptr.sub(HEADER) as *mut usize).write(if measuring { MARK } else { 0 }) };
        if measuring {
            MEASURED_BYTES.fetch_add(layout.size() as isize, Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above: its mark precedes it.
        if unsafe { (ptr.sub(HEADER) as *const usize).read() } == MARK {
            MEASURED_BYTES.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        }
        let off = offset(layout);
        // SAFETY: the block and layout `alloc` used.
        unsafe {
            System.dealloc(
                ptr.sub(off),
                Layout::from_size_align_unchecked(layout.size() + off, layout.align()),
            )
        }
    }
}

#[global_allocator]
static ALLOCATOR: Accounting = Accounting;

/// Runs `f` with this thread's allocations measured.
fn measured(f: impl FnOnce()) {
    MEASURING.with(|m| m.set(true));
    f();
    MEASURING.with(|m| m.set(false));
}

/// Counts live instances: +1 when made or cloned, -1 when dropped.
#[derive(Debug)]
struct Tracked {
    live: Arc<AtomicIsize>,
    tag: u64,
}

impl Tracked {
    fn new(live: &Arc<AtomicIsize>, tag: u64) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            live: live.clone(),
            tag,
        }
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(&self.live, self.tag)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.tag == other.tag
    }
}

fn counter() -> Arc<AtomicIsize> {
    Arc::new(AtomicIsize::new(0))
}

fn live(c: &AtomicIsize) -> isize {
    c.load(Ordering::SeqCst)
}

/// Pushes this thread's retired objects to the collector and lets it run,
/// until `done` holds; fails after 20 seconds.
fn settle(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let scratch = TVar::new(0u64);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: still not freed after 20s"
        );
        for _ in 0..64 {
            crossbeam_epoch::pin().flush();
        }
        atomically(|tx| scratch.modify(tx, |v| v + 1));
        thread::yield_now();
    }
}

/// Gives the collector every chance to free what it may, then checks that
/// `live` is still exactly `expected` (nothing freed too early).
fn still_live(c: &AtomicIsize, expected: isize, what: &str) {
    for _ in 0..20 {
        for _ in 0..64 {
            crossbeam_epoch::pin().flush();
        }
        atomically(|_tx| Ok(()));
    }
    assert_eq!(live(c), expected, "{what}");
}

// ---- variables ------------------------------------------------------------------

#[test]
fn dropping_every_handle_frees_the_value() {
    let c = counter();
    let a = TVar::new(Tracked::new(&c, 1));
    let handles: Vec<_> = (0..3).map(|_| a.clone()).collect();
    drop(a);
    still_live(&c, 1, "the value of a variable with live handles");
    assert_eq!(handles[2].load().tag, 1);
    drop(handles);
    settle("the value of a dropped variable", || live(&c) == 0);
}

#[test]
fn replaced_values_are_freed_and_the_current_one_kept() {
    let c = counter();
    let a = TVar::new(Tracked::new(&c, 0));
    for i in 1..=1_000 {
        let t = Tracked::new(&c, i);
        atomically(|tx| a.write(tx, t.clone()));
    }
    settle("1000 overwritten values", || live(&c) == 1);
    still_live(&c, 1, "the current value");
    assert_eq!(a.load().tag, 1_000);
    drop(a);
    settle("the last value", || live(&c) == 0);
}

#[test]
fn values_of_failed_attempts_are_freed() {
    let c = counter();
    let a = TVar::new(Tracked::new(&c, 0));
    // A user abort, a panic and a retry that gives way to another branch.
    let _ = try_atomically(|tx| {
        a.write(tx, Tracked::new(&c, 1))?;
        abort::<(), _>(())
    });
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        atomically(|tx| -> StmResult<()> {
            a.write(tx, Tracked::new(&c, 2))?;
            panic!("dropped with the attempt")
        })
    }));
    atomically(|tx| {
        tx.or_else(
            |tx| {
                a.write(tx, Tracked::new(&c, 3))?;
                retry()
            },
            |_tx| Ok(()),
        )
    });
    // Attempts that lose a conflict.
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (a, c) = (a.clone(), c.clone());
            thread::spawn(move || {
                for i in 0..2_000 {
                    atomically(|tx| {
                        let old = a.read(tx)?;
                        a.write(tx, Tracked::new(&c, old.tag + 10 + t + i))
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    settle("values written by failed attempts", || live(&c) == 1);
    drop(a);
    settle("the last value", || live(&c) == 0);
}

/// A variable holding variables: dropping the outer one frees the inner
/// ones it held, unless someone else still holds them.
#[test]
fn nested_variables_are_freed_with_their_holder() {
    let c = counter();
    let kept = TVar::new(Tracked::new(&c, 1));
    let outer = TVar::new(vec![kept.clone(), TVar::new(Tracked::new(&c, 2))]);
    atomically(|tx| {
        outer.modify(tx, |mut v| {
            v.push(TVar::new(Tracked::new(&c, 3)));
            v
        })
    });
    assert_eq!(live(&c), 3);
    drop(outer);
    settle("the inner variables", || live(&c) == 1);
    assert_eq!(kept.load().tag, 1);
    drop(kept);
    settle("the kept variable", || live(&c) == 0);
}

// ---- invariants -------------------------------------------------------------------

/// Seed 000's world: players keep their world alive, the world lists its
/// players weakly, and the world's rule is an invariant owned by the world.
struct World {
    bank: TVar<i64>,
    players: TVar<Vec<Weak<Player>>>,
    motto: TVar<Tracked>,
    total: i64,
    _tag: Tracked,
}

struct Player {
    money: TVar<i64>,
    world: Arc<World>,
    _tag: Tracked,
}

impl World {
    fn new(total: i64, live: &Arc<AtomicIsize>) -> Arc<World> {
        let world = Arc::new(World {
            bank: TVar::new(total),
            players: TVar::new(Vec::new()),
            motto: TVar::new(Tracked::new(live, 100)),
            total,
            _tag: Tracked::new(live, 101),
        });
        let closure_tag = Tracked::new(live, 102);
        atomically(|tx| {
            let closure_tag = closure_tag.clone();
            tx.invariant_owned("money is conserved", &world, move |w: &World, tx| {
                let _keep = &closure_tag; // freed with the check
                let mut sum = w.bank.read(tx)?;
                for p in w.players.read(tx)? {
                    if let Some(p) = p.upgrade() {
                        sum += p.money.read(tx)?;
                    }
                }
                if sum == w.total {
                    Ok(())
                } else {
                    Err(CheckError::violated(format!("{sum} != {}", w.total)))
                }
            })
        });
        world
    }
}

impl Player {
    /// Joins `world` with no money; the world lists the player weakly
    /// (built with `Arc::new_cyclic`, seed 003).
    fn join(world: &Arc<World>, live: &Arc<AtomicIsize>) -> Arc<Player> {
        Arc::new_cyclic(|me: &Weak<Player>| {
            atomically(|tx| {
                world.players.modify(tx, |mut v| {
                    v.push(me.clone());
                    v
                })
            });
            Player {
                money: TVar::new(0),
                world: world.clone(),
                _tag: Tracked::new(live, 200),
            }
        })
    }

    fn grant(&self, amount: i64) -> Result<(), TransactionError<()>> {
        try_atomically(|tx| {
            self.world.bank.modify(tx, |b| b - amount)?;
            Ok(self.money.modify(tx, |m| m + amount)?)
        })
    }

    fn mint(&self, amount: i64) -> Result<(), TransactionError<()>> {
        try_atomically(|tx| Ok(self.money.modify(tx, |m| m + amount)?))
    }
}

#[test]
fn a_player_keeps_obeying_its_world_after_the_world_handle_is_dropped() {
    let c = counter();
    let world = World::new(1_000, &c);
    let player = Player::join(&world, &c);
    player.grant(300).unwrap();
    assert_eq!((world.bank.load(), player.money.load()), (700, 300));
    let e = player.mint(50).unwrap_err();
    assert_eq!(
        e.invariant_violation().unwrap().invariant,
        "money is conserved"
    );

    // The world handle goes; the player still holds the world, and with it
    // the world's rule.
    drop(world);
    still_live(
        &c,
        4,
        "world, motto, check and player while the player lives",
    );
    let e = player.mint(50).unwrap_err();
    assert_eq!(e.invariant_violation().unwrap().message, "1050 != 1000");
    assert_eq!(player.money.load(), 300);
    player.grant(-100).unwrap(); // giving back to the bank is fine
    assert_eq!(player.world.bank.load(), 800);
    assert_eq!(player.world.motto.load().tag, 100);

    // The last player goes: world, bank, motto, check closure and player are
    // all freed (no cycle through the check).
    drop(player);
    settle("the world, its player and its check", || live(&c) == 0);
}

#[test]
fn a_world_with_several_players_is_freed_when_the_last_one_goes() {
    let c = counter();
    let world = World::new(90, &c);
    let players: Vec<_> = (0..3).map(|_| Player::join(&world, &c)).collect();
    for p in &players {
        p.grant(30).unwrap();
    }
    assert_eq!(world.bank.load(), 0);
    // Transfers between players keep the total.
    atomically(|tx| {
        players[0].money.modify(tx, |m| m - 10)?;
        players[1].money.modify(tx, |m| m + 10)
    });
    assert!(players[2].mint(1).is_err());
    drop(world);
    let mut players = players;
    let last = players.pop().unwrap();
    drop(players);
    // The world lives on through the last player (the invariant now sums only
    // the players still alive, which the test does not exercise further).
    settle("the first two players", || live(&c) == 4);
    drop(last);
    settle("everything", || live(&c) == 0);
}

/// When the owner of a check goes while the variables it read live on, the
/// check retires at the next write of one of them and its closure is freed.
#[test]
fn an_owned_check_retires_when_its_owner_is_dropped() {
    let c = counter();
    struct Owner {
        a: TVar<i64>,
    }
    let owner = Arc::new(Owner { a: TVar::new(1) });
    let a = owner.a.clone(); // the variable outlives its owner
    let tag = Tracked::new(&c, 1);
    atomically(|tx| {
        let tag = tag.clone();
        tx.invariant_owned("positive", &owner, move |o: &Owner, tx| {
            let _keep = &tag;
            if o.a.read(tx)? > 0 {
                Ok(())
            } else {
                Err(CheckError::violated("not positive"))
            }
        })
    });
    drop(tag);
    let r: Result<(), TransactionError<()>> = try_atomically(|tx| Ok(a.write(tx, -1)?));
    assert!(r.is_err());
    drop(owner);
    still_live(&c, 1, "the check closure, before anything ran it");
    // The owner is gone: the write is allowed and the check detaches.
    atomically(|tx| a.write(tx, -1));
    settle("the retired check's closure", || live(&c) == 0);
    atomically(|tx| a.write(tx, -2));
    assert_eq!(a.load(), -2);
}

/// A plain invariant whose closure holds only a weak handle to what it
/// guards lives exactly as long as the variables it read: dropping them
/// frees it, without any further transaction running it.
#[test]
fn an_invariant_is_freed_with_the_variables_it_read() {
    let c = counter();
    struct Range {
        low: TVar<i64>,
        high: TVar<Tracked>,
    }
    let range = Arc::new(Range {
        low: TVar::new(1),
        high: TVar::new(Tracked::new(&c, 5)),
    });
    let weak = Arc::downgrade(&range);
    let tag = Tracked::new(&c, 0);
    atomically(|tx| {
        let (weak, tag) = (weak.clone(), tag.clone());
        tx.invariant("ordered", move |tx| {
            let _keep = &tag;
            let Some(r) = weak.upgrade() else {
                return Ok(());
            };
            if r.low.read(tx)? <= r.high.read(tx)?.tag as i64 {
                Ok(())
            } else {
                Err(CheckError::violated("low > high"))
            }
        })
    });
    drop(tag);
    assert!(atomically_or_failure(|tx| range.low.write(tx, 9)).is_err());
    still_live(&c, 2, "the check and the value while the range lives");
    drop(range);
    settle("the range's variables and their check", || live(&c) == 0);
}

// ---- caches -------------------------------------------------------------------------

#[test]
fn a_lazy_cache_frees_its_value_when_dropped_or_invalidated() {
    let c = counter();
    let x = TVar::new(1u64);
    let cache: LazyCache<Tracked> = LazyCache::new();
    let get = |cache: &LazyCache<Tracked>| {
        atomically(|tx| cache.get(tx, |tx| Ok(Tracked::new(&c, x.read(tx)?))))
    };
    drop(get(&cache));
    drop(get(&cache));
    still_live(&c, 1, "the cached value");
    atomically(|tx| x.write(tx, 2)); // invalidates
    settle("an invalidated value", || live(&c) == 0);
    drop(get(&cache));
    assert_eq!(live(&c), 1);
    drop(cache);
    settle("a dropped cache's value", || live(&c) == 0);
    // The input outlives the cache and can still be written.
    atomically(|tx| x.write(tx, 3));
}

/// A cache does not keep its inputs alive: it depends on them weakly.
#[test]
fn a_lazy_cache_does_not_keep_its_inputs_alive() {
    let c = counter();
    let input = TVar::new(Tracked::new(&c, 5));
    let cache: LazyCache<u64> = LazyCache::new();
    assert_eq!(
        atomically(|tx| cache.get(tx, |tx| Ok(input.read(tx)?.tag))),
        5
    );
    drop(input);
    settle("an input of a live cache", || live(&c) == 0);
    assert!(cache.is_filled());
}

#[test]
fn an_owned_eager_cache_is_freed_with_its_owner() {
    let c = counter();
    struct Shop {
        stock: TVar<u32>,
        name: TVar<Tracked>,
    }
    let shop = Arc::new(Shop {
        stock: TVar::new(3),
        name: TVar::new(Tracked::new(&c, 1)),
    });
    let tag = Tracked::new(&c, 2);
    let cache = atomically(|tx| {
        let tag = tag.clone();
        EagerCache::new_owned(tx, &shop, move |s: &Shop, tx| {
            let _keep = &tag;
            Ok(Tracked::new(
                &tag.live,
                u64::from(s.stock.read(tx)?) + s.name.read(tx)?.tag,
            ))
        })
    });
    drop(tag);
    assert_eq!(atomically(|tx| cache.get(tx)).tag, 4);
    atomically(|tx| shop.stock.write(tx, 10));
    assert_eq!(atomically(|tx| cache.get(tx)).tag, 11);
    // name, the compute closure's tag, the cached value.
    settle("old cached values", || live(&c) == 3);
    drop(cache);
    drop(shop);
    settle("the shop and its eager cache", || live(&c) == 0);
}

/// An eager cache dropped while its owner lives: it stops recomputing and its
/// value and closure are freed; the owner's variables stay usable.
#[test]
fn a_dropped_eager_cache_retires() {
    let c = counter();
    struct Counter {
        n: TVar<u64>,
    }
    let owner = Arc::new(Counter { n: TVar::new(1) });
    let tag = Tracked::new(&c, 0);
    let cache = atomically(|tx| {
        let tag = tag.clone();
        EagerCache::new_owned(tx, &owner, move |o: &Counter, tx| {
            Ok(Tracked::new(&tag.live, o.n.read(tx)?))
        })
    });
    drop(tag);
    assert_eq!(live(&c), 2); // the closure's tag and the value
    drop(cache);
    let before = thread_stats();
    atomically(|tx| owner.n.write(tx, 2)); // the node runs once, finds the cache gone
    atomically(|tx| owner.n.write(tx, 3)); // and no longer runs
    assert!((thread_stats() - before).eager_runs <= 1);
    settle("a dropped eager cache", || live(&c) == 0);
    assert_eq!(owner.n.load(), 3);
}

/// Caches created over a long-lived input and dropped: their bookkeeping
/// goes with them. (The input keeps a list of what depends on it; a dropped
/// cache must not stay in it, written or not.)
#[test]
fn dropped_lazy_caches_do_not_pile_up_on_a_long_lived_input() {
    const CACHES: u64 = 2_000;
    let input = TVar::new(1u64);
    let quiet = TVar::new(1u64); // never written after the caches read it
    let churn = |n: u64| {
        for i in 0..n {
            let cache: LazyCache<u64> = LazyCache::new();
            let v = atomically(|tx| cache.get(tx, |tx| Ok(input.read(tx)? + quiet.read(tx)?)));
            assert!(v >= 2);
            drop(cache);
            if i % 100 == 99 {
                atomically(|tx| input.modify(tx, |v| v + 1));
            }
        }
    };
    churn(100); // warm up this thread's logs and the collector
    let before = MEASURED_BYTES.load(Ordering::SeqCst);
    measured(|| churn(CACHES));
    // A leak keeps at least a node per cache (well over 100 bytes each).
    let limit = 16 * CACHES as isize;
    settle("the bookkeeping of dropped caches", || {
        MEASURED_BYTES.load(Ordering::SeqCst) - before < limit
    });
}

/// An eager cache dropped while its inputs live on, and are never written
/// again: its computation (and what it captured) is freed with it.
#[test]
fn a_dropped_eager_cache_frees_its_computation_at_once() {
    let c = counter();
    let input = TVar::new(5u64);
    let tag = Tracked::new(&c, 0);
    let cache = atomically(|tx| {
        let (input, tag) = (input.clone(), tag.clone());
        EagerCache::new(tx, move |tx| {
            let _keep = &tag;
            input.read(tx)
        })
    });
    drop(tag);
    assert_eq!(atomically(|tx| cache.get(tx)), 5);
    assert_eq!(live(&c), 1);
    drop(cache);
    settle("a dropped eager cache's computation", || live(&c) == 0);
    assert_eq!(input.load(), 5);
}
