//! Caches on a value that never changes: `#[derive(Immutable)]`.
//!
//! A polygon is built once and shared. Its perimeter is a lazily filled
//! cache: empty until the first call, then full for ever. Threads that race
//! on the first call may each compute it, one result is kept, and every
//! caller gets that one; nobody waits for anybody. Its description is an
//! eager cache, computed on a background thread as soon as the polygon is
//! built. No transaction is involved: nothing about the polygon can change.
//!
//! ```text
//! cargo run --example immutable
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use steadfast::{methods, Immutable};

/// How many times the perimeter was computed.
static COMPUTED: AtomicUsize = AtomicUsize::new(0);

// ANCHOR: polygon
/// `#[derive(Immutable)]` generates `ImmPolygon`, a shared handle.
#[derive(Debug, Immutable)]
struct Polygon {
    points: Vec<(f64, f64)>,
}

#[methods(immutable)]
impl Polygon {
    /// Computed on the first call and kept: the handle's `perimeter()`
    /// returns `&f64`.
    #[cache_lazy]
    fn perimeter(&self) -> f64 {
        COMPUTED.fetch_add(1, Ordering::Relaxed);
        let n = self.points.len();
        (0..n)
            .map(|i| {
                let ((x1, y1), (x2, y2)) = (self.points[i], self.points[(i + 1) % n]);
                (x2 - x1).hypot(y2 - y1)
            })
            .sum()
    }

    /// Computed on a background thread, queued when the polygon is built.
    #[cache_eager]
    fn describe(&self) -> String {
        format!("a polygon with {} corners", self.points.len())
    }
}
// ANCHOR_END: polygon

fn main() {
    // ANCHOR: share
    let square = ImmPolygon::new(Polygon {
        points: vec![(0.0, 0.0), (3.0, 0.0), (3.0, 3.0), (0.0, 3.0)],
    });
    println!("{}", square.describe());

    // Eight threads ask for the perimeter at once.
    let kept: Vec<&f64> = thread::scope(|s| {
        let askers: Vec<_> = (0..8).map(|_| s.spawn(|| square.perimeter())).collect();
        askers.into_iter().map(|a| a.join().unwrap()).collect()
    });
    let computed = COMPUTED.load(Ordering::Relaxed);
    assert!(
        kept.iter().all(|&p| std::ptr::eq(p, kept[0])),
        "one value is kept"
    );
    println!(
        "perimeter {}: asked 8 times at once, computed {computed} time(s), one value kept",
        square.perimeter()
    );

    // From now on, no call computes.
    for _ in 0..1000 {
        square.perimeter();
    }
    assert_eq!(COMPUTED.load(Ordering::Relaxed), computed);
    // The handle derefs to the plain value.
    println!(
        "corners: {}; 1000 more calls computed nothing",
        square.points.len()
    );
    // ANCHOR_END: share
}
