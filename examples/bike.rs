//! The box pattern: a bike with two wheels and a chain.
//!
//! `Bike` is written naively: plain public fields and methods that leave it
//! unroadworthy halfway through (servicing takes the chain off and lets the
//! tyres down before putting everything back). `#[derive(Boxed)]` keeps the
//! whole bike in one transactional variable, and `BikeBox` checks the
//! invariant once per transaction, when it commits, however many changes the
//! transaction made. A rental, a transactional struct, holds a box and adds a
//! rule of its own about it.
//!
//! ```text
//! cargo run --example bike
//! ```

use std::thread;
use steadfast::{atomically, atomically_or_failure, methods, thread_stats, Boxed, Transactional};
use steadfast::{BuildError, StmResult, Transaction};

// ANCHOR: raw
#[derive(Clone, Debug)]
struct Wheel {
    size: u32,
    /// kPa
    pressure: u32,
    /// Per mille: 1000 is worn through.
    wear: u32,
}

#[derive(Clone, Debug)]
struct Chain {
    fitted: bool,
    /// Tenths of a percent.
    stretch: u32,
}

/// A plain, deeply mutable bike. Nothing in this type keeps it roadworthy.
#[derive(Clone, Debug, Boxed)]
struct Bike {
    front: Wheel,
    back: Wheel,
    chain: Chain,
    km: u32,
}
// ANCHOR_END: raw

// ANCHOR: methods
#[methods(boxed)]
impl Bike {
    /// Functions of a boxed struct see the raw value whole, as `&self`.
    #[invariant]
    fn roadworthy(&self) -> Result<(), String> {
        if self.front.size != self.back.size {
            return Err("the wheels are of different sizes".into());
        }
        for (name, wheel) in [("front", &self.front), ("back", &self.back)] {
            if !(200..=600).contains(&wheel.pressure) {
                return Err(format!("{name} tyre at {} kPa", wheel.pressure));
            }
            if wheel.wear >= 1000 {
                return Err(format!("{name} tyre worn through"));
            }
        }
        match (self.chain.fitted, self.chain.stretch) {
            (false, _) => Err("no chain".into()),
            (true, stretch) if stretch > 30 => Err(format!("chain stretched {stretch}/1000")),
            _ => Ok(()),
        }
    }

    #[cache_lazy]
    fn condition(&self) -> String {
        format!(
            "{} km; tyres {}/{} kPa, wear {}/{}; chain stretch {}/1000",
            self.km,
            self.front.pressure,
            self.back.pressure,
            self.front.wear,
            self.back.wear,
            self.chain.stretch
        )
    }

    /// A ride wears the tyres, lets them down and stretches the chain.
    #[mutator]
    fn ride(&mut self, km: u32) {
        self.km += km;
        for wheel in [&mut self.front, &mut self.back] {
            wheel.wear += km;
            wheel.pressure -= km / 5;
        }
        self.chain.stretch += km / 10;
    }

    /// Written the naive way: the chain comes off and the tyres go flat
    /// before everything is put back.
    #[mutator]
    fn service(&mut self) {
        self.chain.fitted = false;
        for wheel in [&mut self.front, &mut self.back] {
            wheel.pressure = 0; // off with the old tyre
            wheel.wear = 0; // on with a new one
            wheel.pressure = 450;
        }
        self.chain = Chain {
            fitted: false,
            stretch: 0,
        };
        self.chain.fitted = true;
    }
}
// ANCHOR_END: methods

// ANCHOR: rental
/// A transactional struct that holds a box and adds a rule about it.
#[derive(Clone, Debug, Transactional)]
struct Rental {
    rider: String,
    bike: BikeBox,
    start_km: u32,
    allowance: u32,
}

#[methods]
impl Rental {
    /// Reads the bike through its box: a deep read, so every change to the
    /// bike is checked against the rental too.
    #[invariant]
    fn within_allowance(
        bike: &BikeBox,
        start_km: &u32,
        allowance: &u32,
        tx: &mut Transaction,
    ) -> StmResult<Result<(), String>> {
        let ridden = bike.read(tx, |bike| bike.km)? - start_km;
        Ok(match ridden <= *allowance {
            true => Ok(()),
            false => Err(format!("{ridden} km ridden, {allowance} allowed")),
        })
    }
}
// ANCHOR_END: rental

// ANCHOR: ride_or_service
/// Rides, or services the bike first if the ride would leave it
/// unroadworthy. Returns whether it serviced.
fn ride_or_service(bike: &BikeBox, km: u32) -> bool {
    let ride = atomically_or_failure(|tx| bike.ride(tx, km));
    match ride {
        Ok(()) => false,
        Err(error) => {
            let violation = error
                .invariant_violation()
                .expect("only the invariant refuses a ride");
            assert_eq!(violation.invariant, "Bike::roadworthy");
            atomically(|tx| {
                bike.service(tx)?;
                bike.ride(tx, km)
            });
            true
        }
    }
}
// ANCHOR_END: ride_or_service

fn main() -> Result<(), BuildError> {
    // ANCHOR: build
    let wheel = || Wheel {
        size: 28,
        pressure: 450,
        wear: 0,
    };
    let new_bike = || Bike {
        front: wheel(),
        back: wheel(),
        chain: Chain {
            fitted: true,
            stretch: 0,
        },
        km: 0,
    };
    let bike = BikeBox::new(new_bike())?;
    println!("new bike: {}", atomically(|tx| bike.condition(tx)));

    // A mismatched pair of wheels is refused by the factory.
    let odd = Bike {
        front: Wheel {
            size: 26,
            ..wheel()
        },
        ..new_bike()
    };
    println!("refused: {}", BikeBox::new(odd).unwrap_err());
    // ANCHOR_END: build

    // ANCHOR: share
    // Two riders share the bike; each ride is one transaction, and a ride
    // that would leave the bike unroadworthy is preceded by a service.
    let services: usize = thread::scope(|s| {
        let riders = ["ann", "bob"].map(|rider| {
            let bike = &bike;
            s.spawn(move || {
                let mut services = 0;
                for _ in 0..40 {
                    if ride_or_service(bike, 10) {
                        println!("  {rider} had the bike serviced before riding");
                        services += 1;
                    }
                }
                services
            })
        });
        riders.into_iter().map(|r| r.join().unwrap()).sum()
    });
    println!(
        "after 80 rides and {services} services: {}",
        atomically(|tx| bike.condition(tx))
    );
    // ANCHOR_END: share

    // ANCHOR: once
    // The service leaves the bike unroadworthy several times over before it
    // is done, and a ride follows in the same transaction: one check.
    let before_service = thread_stats();
    atomically(|tx| {
        bike.service(tx)?;
        bike.ride(tx, 10)
    });
    let checks = (thread_stats() - before_service).invariant_runs;
    println!("service and ride in one transaction: {checks} check(s)");
    // ANCHOR_END: once
    assert_eq!(checks, 1);

    // ANCHOR: update
    // `update` lends the raw bike mutably inside the transaction (here to
    // swap the wheels); the `&mut Bike` cannot leave the closure.
    atomically(|tx| bike.update(tx, |raw| std::mem::swap(&mut raw.front, &mut raw.back)));
    // ANCHOR_END: update

    // ANCHOR: rent
    let km = atomically(|tx| bike.read(tx, |raw| raw.km));
    let rental = TRental::new(Rental {
        rider: "cyd".into(),
        bike: bike.clone(),
        start_km: km,
        allowance: 25,
    })?;
    atomically(|tx| bike.ride(tx, 20));
    let too_far = atomically_or_failure(|tx| bike.ride(tx, 10));
    println!(
        "{}'s rental: 20 km ridden; 10 more refused: {}",
        atomically(|tx| rental.rider(tx)),
        too_far.unwrap_err()
    );
    // ANCHOR_END: rent
    Ok(())
}
