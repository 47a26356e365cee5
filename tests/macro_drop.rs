//! Dropping every handle frees the object: its fields' values, its caches and
//! its invariants. Invariants and eager caches hold their object weakly, so no
//! reference cycle keeps anything alive. A field type counts its live values.

use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use steadfast::{atomically, methods, StmResult, TVar, Transaction, Transactional};

/// Counts its live instances in a shared counter.
struct Tracked {
    live: Arc<AtomicIsize>,
    value: i64,
}

impl Tracked {
    fn new(live: &Arc<AtomicIsize>, value: i64) -> Tracked {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            live: live.clone(),
            value,
        }
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Tracked {
        Tracked::new(&self.live, self.value)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Transactional)]
struct Gauge {
    reading: Tracked,
    label: String,
}

#[methods]
impl Gauge {
    #[invariant]
    fn in_range(reading: &Tracked) -> bool {
        reading.value >= 0
    }

    #[cache_lazy]
    fn describe(reading: &Tracked, label: &str) -> String {
        format!("{label}={}", reading.value)
    }

    /// Caches a value that itself counts.
    #[cache_now]
    fn copy(reading: &Tracked) -> Tracked {
        reading.clone()
    }
}

/// Old values are freed through the engine's epoch collector: let it run.
fn wait_until_zero(live: &AtomicIsize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.load(Ordering::SeqCst) != 0 && Instant::now() < deadline {
        let _ = atomically(|tx| TVar::new(0u8).read(tx));
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn dropping_every_handle_frees_fields_caches_and_invariants() {
    let live = Arc::new(AtomicIsize::new(0));
    {
        let g = TGauge::new(Gauge {
            reading: Tracked::new(&live, 1),
            label: "t".into(),
        })
        .unwrap();
        let g2 = g.clone();
        for i in 2..20 {
            atomically(|tx| g.set_reading(tx, Tracked::new(&live, i)));
            assert_eq!(atomically(|tx| g2.describe(tx)), format!("t={i}"));
            assert_eq!(atomically(|tx| g2.copy(tx)).value, i);
        }
        assert!(live.load(Ordering::SeqCst) > 0);
    }
    wait_until_zero(&live);
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "a dropped object leaked values"
    );
}

#[derive(Clone, Transactional)]
struct Sensor {
    reading: Tracked,
}

#[derive(Clone, Transactional)]
struct Panel {
    sensors: Vec<TSensor>,
    name: Tracked,
}

#[methods]
impl Panel {
    /// Deep-reads each sensor: the check is attached to the sensors' variables.
    #[invariant]
    fn calibrated(sensors: &[TSensor], tx: &mut Transaction) -> StmResult<bool> {
        for s in sensors {
            if s.reading(tx)?.value < 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[test]
fn an_object_held_by_another_is_freed_with_it_and_a_survivor_stops_checking() {
    let live = Arc::new(AtomicIsize::new(0));
    let kept = {
        let sensors: Vec<TSensor> = (0..3)
            .map(|i| {
                TSensor::new(Sensor {
                    reading: Tracked::new(&live, i),
                })
                .unwrap()
            })
            .collect();
        let panel = TPanel::new(Panel {
            sensors: sensors.clone(),
            name: Tracked::new(&live, 0),
        })
        .unwrap();
        // While the panel lives, its invariant guards the sensors.
        let r = steadfast::atomically_or_failure(|tx| {
            sensors[0].set_reading(tx, Tracked::new(&live, -1))
        });
        assert!(r.is_err());
        drop(panel);
        sensors[0].clone()
    };
    // The panel is gone: its check retired with it, and the survivor is free.
    atomically(|tx| kept.set_reading(tx, Tracked::new(&live, -5)));
    assert_eq!(atomically(|tx| kept.reading(tx)).value, -5);
    drop(kept);
    wait_until_zero(&live);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}
