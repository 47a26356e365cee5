//! `#[derive(Immutable)]` and `#[methods(immutable)]`: caches on values that
//! never change, with no transactions. `#[cache_lazy]` is a lazily filled,
//! thread-safe cell (seed 001: it only goes from empty to full; racing
//! fillers may both compute, one result is kept, no thread waits for
//! another); `#[cache_eager]` (L42's `Cache.Eager`) is computed on a
//! background thread after `new`, and a read before it is ready computes it
//! rather than see a missing value.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use steadfast::{methods, Immutable};

/// Counts calls of the functions that receive it, and names the threads
/// that made them.
#[derive(Clone, Default)]
struct Calls {
    count: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<String>>>,
}

impl Calls {
    fn hit(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        let name = thread::current().name().unwrap_or("<unnamed>").to_string();
        self.threads.lock().unwrap().push(name);
    }
    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
    fn threads(&self) -> Vec<String> {
        self.threads.lock().unwrap().clone()
    }
}

/// Waits until `done` holds, for at most ten seconds.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

struct Text {
    body: String,
    lazy: Calls,
    eager: Calls,
    /// Makes `shout` panic while set.
    explode: AtomicBool,
}

// By hand, to leave the counters out.
impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Text").field("body", &self.body).finish()
    }
}

#[derive(Immutable)]
#[immutable(handle = "SharedText")]
struct TextValue(Text);

#[derive(Debug, Immutable)]
struct Doc {
    text: Text,
}

#[methods(immutable)]
impl Doc {
    #[cache_lazy]
    fn words(&self) -> Vec<String> {
        self.text.lazy.hit();
        self.text
            .body
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// Only `Ok` is kept.
    #[cache_lazy]
    fn number(&self) -> Result<u64, String> {
        self.text.lazy.hit();
        self.text.body.trim().parse().map_err(|e| format!("{e}"))
    }

    #[cache_lazy]
    fn shout(&self) -> String {
        self.text.lazy.hit();
        assert!(!self.text.explode.load(Ordering::SeqCst), "boom");
        self.text.body.to_uppercase()
    }

    #[cache_eager]
    fn letters(&self) -> usize {
        self.text.eager.hit();
        self.text.body.chars().filter(|c| c.is_alphabetic()).count()
    }
}

fn doc(body: &str) -> (ImmDoc, Calls, Calls) {
    let (lazy, eager) = (Calls::default(), Calls::default());
    let d = ImmDoc::new(Doc {
        text: Text {
            body: body.into(),
            lazy: lazy.clone(),
            eager: eager.clone(),
            explode: AtomicBool::new(false),
        },
    });
    (d, lazy, eager)
}

#[test]
fn a_lazy_cache_computes_once_and_hands_out_the_kept_value() {
    let (d, lazy, _) = doc("stay steadfast");
    assert_eq!(lazy.count(), 0, "lazy: `new` computes nothing");
    let first: *const Vec<String> = d.words();
    assert_eq!(d.words(), &["stay", "steadfast"]);
    let again = d.clone();
    assert!(std::ptr::eq(first, again.words()), "clones share the cache");
    assert_eq!(lazy.count(), 1);
    // The plain function stays callable on the plain value, uncached.
    assert_eq!(Doc::words(&d).len(), 2);
    assert_eq!(lazy.count(), 2);
    // The handle is the value.
    assert_eq!(d.text.body, "stay steadfast");
    assert!(d.ptr_eq(&again));
    assert_eq!(
        format!("{d:?}"),
        r#"ImmDoc(Doc { text: Text { body: "stay steadfast" } })"#
    );
}

#[test]
fn two_threads_racing_on_first_use_see_one_value() {
    for _ in 0..200 {
        let (d, lazy, _) = doc("one two three");
        let start = Arc::new(Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let (d, start) = (d.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let words = d.words();
                    (words.clone(), words as *const Vec<String> as usize)
                })
            })
            .collect();
        let seen: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        assert_eq!(seen[0], seen[1], "same value, same address");
        assert_eq!(seen[0].1, d.words() as *const Vec<String> as usize);
        assert!(
            (1..=2).contains(&lazy.count()),
            "each racer computes at most once"
        );
    }
}

/// A value whose computation only finishes once two threads are computing
/// it at the same time: a cache that made one filler wait for the other
/// would never finish.
#[derive(Immutable)]
struct Rendezvous {
    arrived: AtomicUsize,
    calls: Calls,
}

#[methods(immutable)]
impl Rendezvous {
    #[cache_lazy]
    fn meet(&self) -> Box<u64> {
        self.calls.hit();
        let me = self.arrived.fetch_add(1, Ordering::SeqCst);
        eventually("both fillers compute", || {
            self.arrived.load(Ordering::SeqCst) >= 2
        });
        Box::new(me as u64)
    }
}

#[test]
fn racing_fillers_both_compute_and_neither_waits_for_the_other() {
    let r = ImmRendezvous::new(Rendezvous {
        arrived: AtomicUsize::new(0),
        calls: Calls::default(),
    });
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let r = r.clone();
            thread::spawn(move || {
                let kept: &u64 = r.meet();
                (*kept, kept as *const u64 as usize)
            })
        })
        .collect();
    let seen: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(r.calls.count(), 2, "both computed");
    assert_eq!(seen[0], seen[1], "one result was kept, and both got it");
    assert_eq!(**r.meet(), seen[0].0);
    assert_eq!(r.calls.count(), 2, "kept for good");
}

#[test]
fn errors_and_panics_are_not_kept() {
    let (d, lazy, _) = doc("forty-two");
    assert!(d.number().is_err());
    assert!(d.number().is_err());
    assert_eq!(lazy.count(), 2, "an `Err` is computed again");
    let (n, lazy, _) = doc(" 42 ");
    assert_eq!(n.number(), Ok(&42));
    assert_eq!(n.number(), Ok(&42));
    assert_eq!(lazy.count(), 1, "`Ok` is kept");

    let (d, lazy, _) = doc("quiet");
    d.text.explode.store(true, Ordering::SeqCst);
    assert!(catch_unwind(AssertUnwindSafe(|| d.shout().len())).is_err());
    d.text.explode.store(false, Ordering::SeqCst);
    assert_eq!(d.shout(), "QUIET");
    assert_eq!(lazy.count(), 2, "the panic kept nothing");
}

// ---- eager caches ------------------------------------------------------------------------

#[test]
fn an_eager_cache_is_computed_in_the_background_after_new() {
    let (d, _, eager) = doc("a b c");
    eventually("the background thread computed it", || eager.count() == 1);
    assert_ne!(
        eager.threads()[0],
        thread::current().name().unwrap_or("<unnamed>"),
        "not computed by the thread that built the value"
    );
    assert_eq!(*d.letters(), 3);
    assert_eq!(eager.count(), 1, "reading it did not compute again");
}

/// Holds the background thread until released (or ten seconds pass), so
/// eager values queued behind it are not ready.
#[derive(Immutable)]
struct Gate {
    release: Mutex<mpsc::Receiver<()>>,
}

#[methods(immutable)]
impl Gate {
    #[cache_eager]
    fn held(&self) -> bool {
        let release = self.release.lock().unwrap();
        release.recv_timeout(Duration::from_secs(10)).is_ok()
    }
}

/// Builds a gate that holds the background thread; dropping the sender
/// releases it.
fn hold_background_thread() -> (ImmGate, mpsc::Sender<()>) {
    let (send, receive) = mpsc::channel();
    let gate = ImmGate::new(Gate {
        release: Mutex::new(receive),
    });
    (gate, send)
}

/// Waits until the background thread has worked through everything queued
/// so far.
fn drain_background_thread() {
    let (marker, _, eager) = doc("x");
    eventually("the background thread reached the marker", || {
        eager.count() == 1
    });
    drop(marker);
}

#[test]
fn a_read_before_the_eager_value_is_ready_computes_it_and_never_sees_it_missing() {
    let (gate, release) = hold_background_thread();
    let (d, _, eager) = doc("hello world");
    // The background thread is held: the reader computes it itself.
    assert_eq!(*d.letters(), 10);
    assert_eq!(eager.count(), 1);
    assert_eq!(
        eager.threads()[0],
        thread::current().name().unwrap_or("<unnamed>")
    );
    drop(release);
    drop(gate);
    drain_background_thread();
    assert_eq!(eager.count(), 1, "the queued computation found it done");
    assert_eq!(*d.letters(), 10);
}

#[test]
fn many_readers_right_after_new_all_see_the_value() {
    for _ in 0..50 {
        let (d, _, eager) = doc("abc def");
        let start = Arc::new(Barrier::new(4));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (d, start) = (d.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let letters = d.letters();
                    (*letters, letters as *const usize as usize)
                })
            })
            .collect();
        let seen: Vec<_> = readers.into_iter().map(|r| r.join().unwrap()).collect();
        assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
        assert_eq!(seen[0].0, 6);
        // The background thread and each reader compute at most once.
        assert!((1..=5).contains(&eager.count()));
    }
}

// ---- lifetimes -----------------------------------------------------------------------

/// Counts its live instances.
struct Tracked(Arc<AtomicIsize>);

impl Tracked {
    fn new(live: &Arc<AtomicIsize>) -> Tracked {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked(live.clone())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Immutable)]
struct Heavy {
    payload: Tracked,
    calls: Calls,
}

#[methods(immutable)]
impl Heavy {
    #[cache_eager]
    fn summary(&self) -> Tracked {
        self.calls.hit();
        Tracked::new(&self.payload.0)
    }
}

#[test]
fn dropping_the_last_handle_frees_the_value_and_its_caches() {
    let live = Arc::new(AtomicIsize::new(0));
    let calls = Calls::default();
    let h = ImmHeavy::new(Heavy {
        payload: Tracked::new(&live),
        calls: calls.clone(),
    });
    eventually("computed", || calls.count() == 1);
    assert_eq!(
        live.load(Ordering::SeqCst),
        2,
        "the value and its cached summary"
    );
    let clone = h.clone();
    drop(h);
    assert_eq!(live.load(Ordering::SeqCst), 2, "a clone keeps both");
    drop(clone);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[test]
fn dropping_a_value_before_its_eager_cache_ran_cancels_the_computation() {
    let live = Arc::new(AtomicIsize::new(0));
    let calls = Calls::default();
    let (gate, release) = hold_background_thread();
    let h = ImmHeavy::new(Heavy {
        payload: Tracked::new(&live),
        calls: calls.clone(),
    });
    drop(h);
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "the queued job does not keep it"
    );
    drop(release);
    drop(gate);
    drain_background_thread();
    assert_eq!(calls.count(), 0, "nothing left to compute");
}

// ---- other shapes ------------------------------------------------------------------------

#[test]
fn a_struct_without_methods_and_a_tuple_struct_can_be_shared() {
    let shared = SharedText::new(TextValue(Text {
        body: "plain".into(),
        lazy: Calls::default(),
        eager: Calls::default(),
        explode: AtomicBool::new(false),
    }));
    assert_eq!(shared.0.body, "plain");
    assert_eq!(format!("{shared:?}"), "SharedText(<immutable::TextValue>)");
    let from: ImmDoc = Doc {
        text: Text {
            body: "x y".into(),
            lazy: Calls::default(),
            eager: Calls::default(),
            explode: AtomicBool::new(false),
        },
    }
    .into();
    assert_eq!(from.words().len(), 2);
    let as_ref: &Doc = from.as_ref();
    assert_eq!(as_ref.text.body, "x y");
}

/// Generic: the block needs `T: Ord + Clone`, declared for the derive.
#[derive(Debug, Immutable)]
#[immutable(bound = "T: Ord + Clone")]
struct Bag<T> {
    items: Vec<T>,
}

#[methods(immutable)]
impl<T: Ord + Clone + Send + Sync + 'static> Bag<T> {
    #[cache_lazy]
    fn sorted(&self) -> Vec<T> {
        let mut items = self.items.clone();
        items.sort();
        items
    }

    #[cache_eager]
    fn largest(&self) -> Option<T> {
        self.items.iter().max().cloned()
    }
}

#[test]
fn generic_immutable_values_cache_per_instantiation() {
    let numbers = ImmBag::new(Bag {
        items: vec![3, 1, 2],
    });
    let words = ImmBag::new(Bag {
        items: vec!["pear".to_string(), "apple".to_string()],
    });
    assert_eq!(numbers.sorted(), &[1, 2, 3]);
    assert_eq!(words.sorted(), &["apple", "pear"]);
    assert_eq!(numbers.largest(), &Some(3));
    assert_eq!(words.largest().as_deref(), Some("pear"));
    assert_eq!(format!("{numbers:?}"), "ImmBag(Bag { items: [3, 1, 2] })");
}
