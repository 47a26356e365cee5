//! Generic structs, with and without a `#[methods]` block, with bounds on the
//! struct or given to the derive.
use std::fmt::Display;
use steadfast::{atomically, atomically_or_failure, methods, Transactional};

#[derive(Transactional)]
struct Pair<T> {
    first: T,
    second: T,
}

#[methods]
impl<T: Clone + Send + Sync + 'static> Pair<T> {
    #[cache_lazy]
    fn both(first: &T, second: &T) -> (T, T) {
        (first.clone(), second.clone())
    }
}

#[derive(Transactional)]
struct Plain<K, V> {
    key: K,
    values: Vec<V>,
}

// The block needs `PartialOrd`, declared on the struct.
#[derive(Transactional)]
struct Range<T: PartialOrd> {
    low: T,
    high: T,
}

#[methods]
impl<T: PartialOrd + Clone + Send + Sync + 'static> Range<T> {
    #[invariant]
    fn ordered(low: &T, high: &T) -> bool {
        low <= high
    }
}

// The block needs `Display`, given to the derive.
#[derive(Transactional)]
#[transactional(bound = "T: Display")]
struct Labelled<T> {
    value: T,
}

#[methods]
impl<T: Display + Clone + Send + Sync + 'static> Labelled<T> {
    #[cache_now]
    fn label(value: &T) -> String {
        format!("<{value}>")
    }
}

fn main() {
    let pair = TPair::new(Pair { first: 1, second: 2 }).unwrap();
    assert_eq!(atomically(|tx| pair.both(tx)), (1, 2));

    let plain = TPlain::new(Plain { key: "k", values: vec![1.5] }).unwrap();
    atomically(|tx| plain.modify_values(tx, |mut v| { v.push(2.5); v }));
    assert_eq!(atomically(|tx| plain.values(tx)), vec![1.5, 2.5]);

    let range = TRange::new(Range { low: 1, high: 5 }).unwrap();
    assert!(TRange::new(Range { low: 5, high: 1 }).is_err());
    let r = atomically_or_failure(|tx| range.set_low(tx, 9));
    assert!(r.unwrap_err().invariant_violation().is_some());

    let labelled = TLabelled::new(Labelled { value: 7 }).unwrap();
    atomically(|tx| labelled.set_value(tx, 8));
    assert_eq!(atomically(|tx| labelled.label(tx)), "<8>");
}
