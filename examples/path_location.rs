//! A route: where we are, and the points still to visit. Its invariant says
//! the current location is never one of the points still to visit.
//!
//! In L42 (seed 004), moving along such a route by first setting the
//! location and then removing it from the path fails: the invariant is
//! checked after each setter, and the first check sees the location still on
//! the path. Here invariants run when the transaction commits, so the two
//! writes can come in either order. Two drivers advance the same route from
//! two threads; each step is one transaction.
//!
//! ```text
//! cargo run --example path_location
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;
use steadfast::{
    atomically, atomically_or_failure, methods, StmResult, Transaction, Transactional,
};

/// How many times `remaining` was computed.
static COMPUTED: AtomicUsize = AtomicUsize::new(0);

// ANCHOR: route
#[derive(Clone, Copy, Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

impl Point {
    fn distance(self, to: Point) -> f64 {
        f64::from(to.x - self.x).hypot(f64::from(to.y - self.y))
    }
}

/// `#[derive(Transactional)]` generates `TRoute`: a shared handle with one
/// transactional variable per field.
#[derive(Clone, Debug, Transactional)]
struct Route {
    location: Point,
    path: Vec<Point>,
}

#[methods]
impl Route {
    /// Checked when a route is built and at the end of every transaction
    /// that writes `location` or `path`.
    #[invariant]
    fn not_on_path(location: &Point, path: &[Point]) -> Result<(), String> {
        match path.contains(location) {
            false => Ok(()),
            true => Err(format!("{location:?} is both the location and on the path")),
        }
    }

    /// The distance left to travel: computed on first use, stored, and
    /// recomputed only after `location` or `path` changes.
    #[cache_lazy]
    fn remaining(location: &Point, path: &[Point]) -> f64 {
        COMPUTED.fetch_add(1, Ordering::Relaxed);
        let mut from = *location;
        let mut total = 0.0;
        for &point in path {
            total += from.distance(point);
            from = point;
        }
        total
    }

    /// Recomputed by every transaction that writes `path`, before it
    /// commits: reading it never computes.
    #[cache_now]
    fn stops_left(path: &[Point]) -> usize {
        path.len()
    }
}
// ANCHOR_END: route

// ANCHOR: advance
/// Moves to the next point of the path, if there is one, and returns it.
fn advance(route: &TRoute, tx: &mut Transaction) -> StmResult<Option<Point>> {
    let mut path = route.path(tx)?;
    if path.is_empty() {
        return Ok(None);
    }
    let next = path.remove(0);
    // L42's order: the location first. Right now `next` is both the location
    // and on the stored path, and nothing checks that yet.
    route.set_location(tx, next)?;
    route.set_path(tx, path)?;
    Ok(Some(next))
}
// ANCHOR_END: advance

fn main() {
    // ANCHOR: build
    let start = Point { x: 0, y: 0 };
    let stops = [(3, 4), (6, 8), (6, 0), (12, 0), (12, 5), (0, 5)];
    let path: Vec<Point> = stops.iter().map(|&(x, y)| Point { x, y }).collect();

    // The factory checks the invariants: a route that starts on its own path
    // is refused, and the error names the invariant.
    let looped = Route {
        location: path[1],
        path: path.clone(),
    };
    let refused = TRoute::new(looped).unwrap_err();
    println!("refused: {refused}");

    let route = TRoute::new(Route {
        location: start,
        path,
    })
    .expect("a valid route");
    // ANCHOR_END: build
    println!(
        "route: {} stops, {:.1} to go\n",
        atomically(|tx| route.stops_left(tx)),
        atomically(|tx| route.remaining(tx))
    );

    // ANCHOR: drivers
    thread::scope(|s| {
        for driver in ["ann", "bob"] {
            let route = route.clone(); // another handle to the same route
            s.spawn(move || {
                while let Some(point) = atomically(|tx| advance(&route, tx)) {
                    // Both reads in one transaction: a consistent pair.
                    let (left, stops) =
                        atomically(|tx| Ok((route.remaining(tx)?, route.stops_left(tx)?)));
                    println!("  {driver} drove to {point:?}; stops left {stops}, distance left {left:.1}");
                    thread::sleep(Duration::from_millis(2)); // driving
                }
            });
        }
    });
    // ANCHOR_END: drivers

    // ANCHOR: reject
    // Putting the current location back on the path breaks the invariant:
    // the transaction fails and its write is discarded.
    let undo = atomically_or_failure(|tx| {
        let here = route.location(tx)?;
        route.set_path(tx, vec![here])?;
        Ok(())
    });
    let error = undo.unwrap_err();
    println!("\nrejected: {error}");
    assert_eq!(
        error.invariant_violation().unwrap().invariant,
        "Route::not_on_path"
    );
    assert!(atomically(|tx| route.path(tx)).is_empty());
    // ANCHOR_END: reject

    let end = atomically(|tx| route.snapshot(tx));
    println!(
        "arrived at {:?} with {} stops left; `remaining` was computed {} times in all",
        end.location,
        end.path.len(),
        COMPUTED.load(Ordering::Relaxed)
    );

    // ANCHOR: plain
    // The annotated functions stay ordinary functions on plain values.
    let plain = Route::remaining(&start, &[Point { x: 3, y: 4 }]);
    assert_eq!(plain, 5.0);
    // ANCHOR_END: plain
}
