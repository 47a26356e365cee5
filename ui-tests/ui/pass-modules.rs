//! The struct and its `#[methods]` block in different modules; private fields.
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

use steadfast::atomically;

fn main() {
    let account = bank::TAccount::new(bank::Account::open("ann")).unwrap();
    assert_eq!(atomically(|tx| account.shout(tx)), "ANN");
    assert_eq!(atomically(|tx| account.owner(tx)), "ann");
    assert!(atomically(|tx| account.solvent(tx)));
}
