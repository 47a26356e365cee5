//! Composition (seed 004, sections 3 and 4): a bike holding two boxed wheels
//! and a transactional chain. Its invariant reads through them (deep reads):
//! the two wheels are distinct objects in a physically sensible shape. Its
//! cache reads through nested caches and is invalidated when any part
//! changes, and only then. The same bike, boxed, composes the same way.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use steadfast::{atomically, atomically_or_failure, methods, thread_stats, Boxed, Transactional};
use steadfast::{Failure, StmResult, Transaction};

/// Counts calls of the functions that receive it.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A naive wheel, boxed.
#[derive(Clone, Boxed)]
struct Wheel {
    size: u32,
    pressure: u32,
    wear: u32,
}

#[methods(boxed)]
impl Wheel {
    #[invariant]
    fn inflated(&self) -> bool {
        self.pressure > 0
    }

    #[cache_lazy]
    fn weight(&self) -> u32 {
        self.size * 40 - self.wear
    }

    #[mutator]
    fn pump(&mut self, by: u32) {
        self.pressure += by;
    }

    #[mutator]
    fn deflate(&mut self) {
        self.pressure = 0;
    }

    #[mutator]
    fn rub(&mut self, by: u32) {
        self.wear += by;
    }

    #[mutator]
    fn resize(&mut self, size: u32) {
        self.size = size;
    }
}

#[derive(Clone, Transactional)]
struct Chain {
    links: u32,
}

#[methods]
impl Chain {
    #[cache_lazy]
    fn weight(links: &u32) -> u32 {
        links * 3
    }
}

/// The links a chain needs for wheels of a size.
fn links_for(size: u32) -> u32 {
    2 * size + 60
}

#[derive(Clone, Transactional)]
struct Bike {
    front: WheelBox,
    back: WheelBox,
    chain: TChain,
    checks: Calls,
    computes: Calls,
}

#[methods]
impl Bike {
    /// Seed 004, section 4: two distinct wheels (not one box in both
    /// places), of one size, with a chain that fits them.
    #[invariant]
    fn sound(
        front: &WheelBox,
        back: &WheelBox,
        chain: &TChain,
        checks: &Calls,
        tx: &mut Transaction,
    ) -> StmResult<Result<(), String>> {
        checks.hit();
        if front.ptr_eq(back) {
            return Ok(Err("the front and back wheels are the same wheel".into()));
        }
        let front_size = front.read(tx, |w| w.size)?;
        let back_size = back.read(tx, |w| w.size)?;
        if front_size != back_size {
            return Ok(Err(format!(
                "a {front_size}-inch front wheel with a {back_size}-inch back wheel"
            )));
        }
        let links = chain.links(tx)?;
        if links != links_for(front_size) {
            return Ok(Err(format!(
                "a {links}-link chain does not fit {front_size}-inch wheels"
            )));
        }
        Ok(Ok(()))
    }

    /// Reads through three nested caches.
    #[cache_lazy]
    fn weight(
        front: &WheelBox,
        back: &WheelBox,
        chain: &TChain,
        computes: &Calls,
        tx: &mut Transaction,
    ) -> StmResult<u32> {
        computes.hit();
        Ok(front.weight(tx)? + back.weight(tx)? + chain.weight(tx)? + 9_000)
    }
}

fn new_wheel(size: u32) -> WheelBox {
    WheelBox::new(Wheel {
        size,
        pressure: 3,
        wear: 0,
    })
    .unwrap()
}

fn new_bike(size: u32) -> (TBike, Calls, Calls) {
    let (checks, computes) = (Calls::default(), Calls::default());
    let bike = TBike::new(Bike {
        front: new_wheel(size),
        back: new_wheel(size),
        chain: TChain::new(Chain {
            links: links_for(size),
        })
        .unwrap(),
        checks: checks.clone(),
        computes: computes.clone(),
    })
    .unwrap();
    (bike, checks, computes)
}

fn parts(bike: &TBike) -> (WheelBox, WheelBox, TChain) {
    atomically(|tx| Ok((bike.front(tx)?, bike.back(tx)?, bike.chain(tx)?)))
}

fn violation<T: std::fmt::Debug>(r: Result<T, Failure>) -> (String, String) {
    let err = r.unwrap_err();
    let v = err.invariant_violation().expect("an invariant failed");
    (v.invariant.to_string(), v.message.clone())
}

#[test]
fn the_factory_refuses_one_wheel_in_both_places() {
    let wheel = new_wheel(26);
    let err = TBike::new(Bike {
        front: wheel.clone(),
        back: wheel,
        chain: TChain::new(Chain { links: 112 }).unwrap(),
        checks: Calls::default(),
        computes: Calls::default(),
    })
    .unwrap_err();
    assert_eq!(err.invariant(), Some("Bike::sound"));
    assert!(err.to_string().contains("the same wheel"), "{err}");
}

#[test]
fn pointing_both_wheel_fields_at_one_box_fails_naming_the_invariant() {
    let (bike, _, _) = new_bike(26);
    let (front, back, _) = parts(&bike);
    let r = atomically_or_failure(|tx| {
        let front = bike.front(tx)?;
        bike.set_back(tx, front)
    });
    assert_eq!(
        violation(r),
        (
            "Bike::sound".to_string(),
            "the front and back wheels are the same wheel".to_string()
        )
    );
    let (now_front, now_back, _) = parts(&bike);
    assert!(
        now_front.ptr_eq(&front) && now_back.ptr_eq(&back),
        "nothing written"
    );
    assert!(!now_front.ptr_eq(&now_back));
}

#[test]
fn the_shape_is_checked_through_the_parts_and_may_be_broken_inside_a_transaction() {
    let (bike, checks, _) = new_bike(26);
    let (front, back, chain) = parts(&bike);

    // A change to one part alone, through its own handle, is checked by the bike.
    let r = atomically_or_failure(|tx| front.resize(tx, 28));
    assert_eq!(
        violation(r),
        (
            "Bike::sound".to_string(),
            "a 28-inch front wheel with a 26-inch back wheel".to_string()
        )
    );
    let r = atomically_or_failure(|tx| chain.set_links(tx, 100));
    assert_eq!(
        violation(r).1,
        "a 100-link chain does not fit 26-inch wheels"
    );

    // All three together: broken twice in the middle, sound at the end,
    // checked once.
    let c0 = checks.count();
    let before = thread_stats();
    atomically(|tx| {
        front.resize(tx, 28)?;
        back.resize(tx, 28)?;
        chain.set_links(tx, links_for(28))
    });
    let runs = (thread_stats() - before).invariant_runs;
    assert_eq!(checks.count(), c0 + 1, "the bike is checked once");
    assert_eq!(runs, 3, "the bike once, each resized wheel once");
    assert_eq!(atomically(|tx| back.read(tx, |w| w.size)), 28);

    // A part's own invariant still guards it inside the bike.
    let r = atomically_or_failure(|tx| back.deflate(tx));
    assert_eq!(violation(r).0, "Wheel::inflated");
}

#[test]
fn a_cache_over_nested_objects_is_invalidated_by_any_of_them_and_only_them() {
    let (bike, _, computes) = new_bike(26);
    let (front, back, chain) = parts(&bike);
    let weight = |expected: u32| assert_eq!(atomically(|tx| bike.weight(tx)), expected);
    weight(26 * 40 * 2 + 112 * 3 + 9_000);
    weight(26 * 40 * 2 + 112 * 3 + 9_000);
    assert_eq!(computes.count(), 1);

    atomically(|tx| front.rub(tx, 5));
    weight(26 * 40 * 2 - 5 + 112 * 3 + 9_000);
    assert_eq!(computes.count(), 2, "the front wheel changed");

    atomically(|tx| back.rub(tx, 1));
    weight(26 * 40 * 2 - 6 + 112 * 3 + 9_000);
    assert_eq!(computes.count(), 3, "the back wheel changed");

    atomically(|tx| {
        front.resize(tx, 24)?;
        back.resize(tx, 24)?;
        chain.set_links(tx, links_for(24))
    });
    weight(24 * 40 * 2 - 6 + links_for(24) * 3 + 9_000);
    assert_eq!(
        computes.count(),
        4,
        "three parts changed in one transaction"
    );
    weight(24 * 40 * 2 - 6 + links_for(24) * 3 + 9_000);
    assert_eq!(computes.count(), 4);

    // Another bike's wheel is not an input.
    let (other, _, _) = new_bike(24);
    atomically(|tx| other.front(tx)?.rub(tx, 1));
    weight(24 * 40 * 2 - 6 + links_for(24) * 3 + 9_000);
    assert_eq!(computes.count(), 4, "another bike's wheel is not an input");

    // Pumping changes a wheel's value, not its weight: the bike's cache read
    // the wheel's cache, which is invalidated, so the bike recomputes (to the
    // same number).
    atomically(|tx| front.pump(tx, 1));
    weight(24 * 40 * 2 - 6 + links_for(24) * 3 + 9_000);
    assert_eq!(computes.count(), 5);

    // A replaced wheel is no longer an input; its replacement is.
    let spare = new_wheel(24);
    atomically(|tx| bike.set_front(tx, spare.clone()));
    weight(24 * 40 * 2 - 1 + links_for(24) * 3 + 9_000);
    assert_eq!(computes.count(), 6);
    let c = computes.count();
    let before = thread_stats();
    atomically(|tx| front.rub(tx, 100));
    assert_eq!(
        (thread_stats() - before).invariant_runs,
        1,
        "only the old wheel's own invariant: the bike no longer reads it"
    );
    weight(24 * 40 * 2 - 1 + links_for(24) * 3 + 9_000);
    assert_eq!(computes.count(), c, "the old wheel is no longer an input");
    atomically(|tx| spare.rub(tx, 4));
    weight(24 * 40 * 2 - 5 + links_for(24) * 3 + 9_000);
    assert_eq!(computes.count(), c + 1);
}

#[test]
fn mechanics_swap_wheels_between_bikes_and_every_snapshot_is_sound() {
    const MECHANICS: usize = 3;
    const JOBS: usize = 600;
    let bikes: Vec<TBike> = (0..2).map(|_| new_bike(26).0).collect();
    let wheels: Vec<WheelBox> = bikes
        .iter()
        .flat_map(|b| {
            let (front, back, _) = parts(b);
            [front, back]
        })
        .collect();

    let start = Arc::new(Barrier::new(MECHANICS + 1));
    let mechanics: Vec<_> = (0..MECHANICS)
        .map(|m| {
            let (bikes, start) = (bikes.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut refused = 0;
                for job in 0..JOBS {
                    let (a, b) = (&bikes[job % 2], &bikes[(job + 1) % 2]);
                    match (job + m) % 3 {
                        // Swap front wheels between the bikes: always sound.
                        0 => atomically(|tx| {
                            let (fa, fb) = (a.front(tx)?, b.front(tx)?);
                            a.set_front(tx, fb)?;
                            b.set_front(tx, fa)
                        }),
                        // Wear a wheel down: no shape change.
                        1 => atomically(|tx| a.back(tx)?.rub(tx, 1)),
                        // Put one wheel in both places: always refused.
                        _ => {
                            let r = atomically_or_failure(|tx| {
                                let front = a.front(tx)?;
                                a.set_back(tx, front)
                            });
                            assert_eq!(violation(r).0, "Bike::sound");
                            refused += 1;
                        }
                    }
                }
                refused
            })
        })
        .collect();
    start.wait();
    let mut observed = 0;
    while mechanics.iter().any(|m| !m.is_finished()) || observed < 100 {
        let (ids, weights) = atomically(|tx| {
            let mut ids = Vec::new();
            let mut weights = Vec::new();
            for bike in &bikes {
                let (front, back, chain) = (bike.front(tx)?, bike.back(tx)?, bike.chain(tx)?);
                ids.push(index_of(&front, &wheels));
                ids.push(index_of(&back, &wheels));
                let by_hand = front.read(tx, |w| w.size * 40 - w.wear)?
                    + back.read(tx, |w| w.size * 40 - w.wear)?
                    + chain.links(tx)? * 3
                    + 9_000;
                weights.push((bike.weight(tx)?, by_hand));
            }
            Ok((ids, weights))
        });
        let distinct: HashSet<usize> = ids.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            4,
            "every wheel in exactly one place: {ids:?}"
        );
        for (cached, by_hand) in weights {
            assert_eq!(cached, by_hand, "the cached weight is never stale");
        }
        observed += 1;
    }
    let refused: usize = mechanics.into_iter().map(|m| m.join().unwrap()).sum();
    let attempted: usize = (0..MECHANICS)
        .map(|m| (0..JOBS).filter(|j| (j + m) % 3 == 2).count())
        .sum();
    assert_eq!(
        refused, attempted,
        "every attempt to share a wheel was refused"
    );
}

/// Which of `wheels` this is (boxes have identity, compared with `ptr_eq`).
fn index_of(wheel: &WheelBox, wheels: &[WheelBox]) -> usize {
    wheels
        .iter()
        .position(|w| w.ptr_eq(wheel))
        .expect("one of the original wheels")
}

// ---- the box pattern composes: the same bike, boxed ------------------------------------

/// A naive bike: nothing stops it from sharing a wheel.
#[derive(Clone, Boxed)]
struct RawBike {
    front: WheelBox,
    back: WheelBox,
    chain: TChain,
}

#[methods(boxed)]
impl RawBike {
    #[invariant]
    fn sound(&self, tx: &mut Transaction) -> StmResult<Result<(), String>> {
        if self.front.ptr_eq(&self.back) {
            return Ok(Err("the front and back wheels are the same wheel".into()));
        }
        let size = self.front.read(tx, |w| w.size)?;
        if self.back.read(tx, |w| w.size)? != size || self.chain.links(tx)? != links_for(size) {
            return Ok(Err("the parts do not fit".into()));
        }
        Ok(Ok(()))
    }

    #[mutator]
    fn swap_wheels(&mut self) {
        std::mem::swap(&mut self.front, &mut self.back);
    }

    #[mutator]
    fn fit_front(&mut self, wheel: WheelBox) -> WheelBox {
        std::mem::replace(&mut self.front, wheel)
    }

    /// Resizes the wheels through their boxes and changes the chain, from
    /// inside the bike's mutator.
    #[mutator]
    fn refit(&mut self, size: u32, tx: &mut Transaction) -> StmResult<()> {
        self.front.resize(tx, size)?;
        self.back.resize(tx, size)?;
        self.chain.set_links(tx, links_for(size))
    }
}

#[test]
fn a_boxed_bike_checks_its_parts_once_per_transaction() {
    let bike = RawBikeBox::new(RawBike {
        front: new_wheel(26),
        back: new_wheel(26),
        chain: TChain::new(Chain {
            links: links_for(26),
        })
        .unwrap(),
    })
    .unwrap();
    atomically(|tx| {
        bike.swap_wheels(tx)?;
        bike.refit(tx, 20)?;
        bike.swap_wheels(tx)
    });
    assert_eq!(
        atomically(|tx| {
            let front = bike.read(tx, |b| b.front.clone())?;
            front.read(tx, |w| w.size)
        }),
        20
    );

    let shared = atomically(|tx| bike.read(tx, |b| b.back.clone()));
    let r = atomically_or_failure(|tx| {
        bike.fit_front(tx, shared.clone())?;
        Ok(())
    });
    assert_eq!(
        violation(r),
        (
            "RawBike::sound".to_string(),
            "the front and back wheels are the same wheel".to_string()
        )
    );
    let spare = new_wheel(20);
    let old = atomically(|tx| bike.fit_front(tx, spare.clone()));
    assert!(!old.ptr_eq(&spare));
    // The old wheel is free again: changing it checks nothing of the bike.
    let r = atomically_or_failure(|tx| old.resize(tx, 30));
    assert!(r.is_ok());
    let r = atomically_or_failure(|tx| spare.resize(tx, 30));
    assert_eq!(violation(r).0, "RawBike::sound");
}
