//! Generic transactional structs, with and without a `#[methods]` block.

use std::fmt::Display;
use std::thread;
use steadfast::{atomically, atomically_or_failure, methods, Transactional};

/// No methods block.
#[derive(Clone, Debug, PartialEq, Transactional)]
struct Pair<T> {
    first: T,
    second: T,
}

#[test]
fn a_generic_struct_without_methods() {
    let p = TPair::new(Pair {
        first: "a".to_string(),
        second: "b".to_string(),
    })
    .unwrap();
    atomically(|tx| {
        let first = p.first(tx)?;
        let second = p.second(tx)?;
        p.set_first(tx, second)?;
        p.set_second(tx, first)
    });
    assert_eq!(
        atomically(|tx| p.snapshot(tx)),
        Pair {
            first: "b".to_string(),
            second: "a".to_string()
        }
    );
    assert_eq!(format!("{p:?}"), r#"TPair { first: "b", second: "a" }"#);
}

/// With a methods block whose bounds the derive knows (fields are `Clone +
/// Send + Sync + 'static`; `PartialOrd` is declared on the struct).
#[derive(Clone, Debug, Transactional)]
struct Bounded<T: PartialOrd> {
    low: T,
    high: T,
}

#[methods]
impl<T: PartialOrd + Clone + Send + Sync + 'static> Bounded<T> {
    #[invariant]
    fn ordered(low: &T, high: &T) -> bool {
        low <= high
    }

    #[cache_lazy]
    fn span(low: &T, high: &T) -> (T, T) {
        (low.clone(), high.clone())
    }
}

#[test]
fn a_generic_struct_with_methods_checks_and_caches_for_every_instance() {
    let ints = TBounded::new(Bounded { low: 1, high: 9 }).unwrap();
    let words = TBounded::new(Bounded {
        low: "ant".to_string(),
        high: "bee".to_string(),
    })
    .unwrap();
    assert_eq!(atomically(|tx| ints.span(tx)), (1, 9));
    assert_eq!(
        TBounded::new(Bounded {
            low: 2.5,
            high: 1.0
        })
        .unwrap_err()
        .invariant(),
        Some("Bounded::ordered")
    );
    let r = atomically_or_failure(|tx| words.set_low(tx, "cat".into()));
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "Bounded::ordered"
    );

    // Two threads keep the range ordered by moving both ends together.
    let workers: Vec<_> = (0..2)
        .map(|t| {
            let ints = ints.clone();
            thread::spawn(move || {
                for i in 0..1_000 {
                    atomically(|tx| {
                        let (low, high) = (ints.low(tx)?, ints.high(tx)?);
                        let shift = if (i + t) % 2 == 0 { 100 } else { -100 };
                        // Broken in between (low above high), whole at the end.
                        ints.set_low(tx, high + 1)?;
                        ints.set_high(tx, high + shift)?;
                        ints.set_low(tx, low + shift)
                    });
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let (low, high) = atomically(|tx| ints.span(tx));
    assert!(low <= high);
    assert_eq!(high - low, 8, "every transaction kept the width");
}

/// A methods block needing `Display`, a bound given to the derive.
#[derive(Clone, Transactional)]
#[transactional(bound = "T: Display")]
struct Labelled<T> {
    value: T,
}

#[methods]
impl<T: Display + Clone + Send + Sync + 'static> Labelled<T> {
    #[cache_now]
    fn label(value: &T) -> String {
        format!("[{value}]")
    }
}

#[test]
fn bounds_given_to_the_derive_link_the_methods_block() {
    let l = TLabelled::new(Labelled { value: 3.5 }).unwrap();
    atomically(|tx| l.set_value(tx, 4.25));
    assert_eq!(atomically(|tx| l.label(tx)), "[4.25]");
}

/// A struct whose fields wrap its type parameter, with its methods block in
/// another module that names it through an alias: the derive knows
/// `Vec<T>: Clone + Send + Sync`, not `T: Clone`, so the block asks only
/// what follows from the fields, and its checks carry the name it uses. (A
/// block asking `T: Clone` here is refused at compile time: see the ui
/// cases.)
mod stock {
    #[derive(Clone, steadfast::Transactional)]
    pub struct Shelf<T> {
        pub items: Vec<T>,
        pub capacity: usize,
    }
}

mod stock_rules {
    use super::stock::{Shelf as Rack, TShelf};
    use steadfast::methods;

    #[methods(handle = TShelf)]
    impl<T: 'static> Rack<T>
    where
        Vec<T>: Clone + Send + Sync,
    {
        #[invariant]
        fn fits(items: &Vec<T>, capacity: &usize) -> bool {
            items.len() <= *capacity
        }
    }
}

#[test]
fn a_block_in_another_module_is_linked_and_checks_every_instance() {
    use stock::{Shelf, TShelf};
    let shelf = TShelf::new(Shelf {
        items: vec!['a'],
        capacity: 2,
    })
    .unwrap();
    atomically(|tx| {
        shelf.modify_items(tx, |mut v| {
            v.push('b');
            v
        })
    });
    let r = atomically_or_failure(|tx| {
        shelf.modify_items(tx, |mut v| {
            v.push('c');
            v
        })
    });
    assert_eq!(
        r.unwrap_err().invariant_violation().unwrap().invariant,
        "Rack::fits"
    );
    assert_eq!(atomically(|tx| shelf.items(tx)), vec!['a', 'b']);
    let refused = TShelf::new(Shelf {
        items: vec![1, 2, 3],
        capacity: 2,
    });
    assert_eq!(refused.unwrap_err().invariant(), Some("Rack::fits"));
}
