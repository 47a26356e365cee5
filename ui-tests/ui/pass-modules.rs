//! The struct and its `#[methods]` block in different modules; private fields;
//! a generic struct whose block reaches it by path, another by a `use` alias.
mod bank {
    use steadfast::Transactional;

    #[derive(Transactional)]
    pub struct Account {
        pub(crate) owner: String,
        balance: i64,
    }

    impl Account {
        pub fn open(owner: &str) -> Account {
            Account { owner: owner.into(), balance: 0 }
        }
    }

    pub mod rules {
        use steadfast::methods;

        #[methods]
        impl super::Account {
            #[invariant]
            pub(crate) fn solvent(balance: &i64) -> bool {
                *balance >= 0
            }

            #[cache_lazy]
            pub(crate) fn shout(owner: &String) -> String {
                owner.to_uppercase()
            }
        }
    }
}

mod stock {
    use std::fmt::Display;

    #[derive(Clone, steadfast::Transactional)]
    #[transactional(bound = "T: Display")]
    pub struct Shelf<T: Ord> {
        pub items: Vec<T>,
        pub capacity: usize,
    }

    pub mod rules {
        use std::fmt::Display;
        use steadfast::methods;

        #[methods]
        impl<T: Ord + Display + 'static> super::Shelf<T>
        where
            Vec<T>: Clone + Send + Sync,
        {
            #[invariant]
            pub(crate) fn fits(items: &Vec<T>, capacity: &usize) -> bool {
                items.len() <= *capacity
            }

            #[cache_lazy]
            pub(crate) fn first(items: &Vec<T>) -> String {
                items.iter().min().map(|x| x.to_string()).unwrap_or_default()
            }
        }
    }

    pub fn label<T: Display>(x: &T) -> String {
        x.to_string()
    }
}

mod aliased {
    use crate::stock::{Shelf as Rack, TShelf};
    use std::fmt::Display;
    use steadfast::methods;

    #[derive(Clone, steadfast::Boxed)]
    #[boxed(bound = "T: PartialEq")]
    pub struct Pair<T> {
        pub a: T,
        pub b: T,
    }

    #[methods(boxed)]
    impl<T: PartialEq + Clone + Send + Sync + 'static> Pair<T> {
        #[invariant]
        fn distinct(&self) -> bool {
            self.a != self.b
        }
    }

    pub fn new_rack<T: Ord + Display + Clone + Send + Sync + 'static>(items: Vec<T>) -> TShelf<T> {
        TShelf::new(Rack { items, capacity: 3 }).unwrap()
    }
}

use steadfast::atomically;

fn main() {
    let account = bank::TAccount::new(bank::Account::open("ann")).unwrap();
    assert_eq!(atomically(|tx| account.shout(tx)), "ANN");
    assert_eq!(atomically(|tx| account.owner(tx)), "ann");
    assert!(atomically(|tx| account.solvent(tx)));

    let shelf = aliased::new_rack(vec![3, 1]);
    assert_eq!(atomically(|tx| shelf.first(tx)), "1");
    assert_eq!(stock::label(&atomically(|tx| shelf.capacity(tx))), "3");
    let too_many = steadfast::atomically_or_failure(|tx| shelf.set_items(tx, vec![1, 2, 3, 4]));
    assert!(too_many.is_err());
    assert!(aliased::PairBox::new(aliased::Pair { a: 1, b: 1 }).is_err());
}
