//! Every public item the macros generate is documented: a crate that denies
//! missing docs compiles with a public transactional struct and caches.
#![deny(missing_docs)]

use steadfast::{methods, Transactional};

/// A bank account.
#[derive(Clone, Debug, Transactional)]
pub struct Account {
    /// Who owns it.
    pub owner: String,
    /// How much is in it.
    pub balance: i64,
    secret: u64,
}

#[methods]
impl Account {
    /// The account's label.
    #[cache_lazy]
    pub fn label(owner: &str, balance: &i64) -> String {
        format!("{owner}: {balance}")
    }

    /// Never below zero.
    #[invariant]
    pub fn solvent(balance: &i64) -> bool {
        *balance >= 0
    }

    /// The secret, hashed.
    #[cache_now]
    pub fn fingerprint(secret: &u64) -> u64 {
        secret.rotate_left(7) ^ 0x5DEE_CE66
    }
}

/// A generic pair, with no methods block.
#[derive(Transactional)]
pub struct Pair<T> {
    /// The first.
    pub first: T,
    /// The second.
    pub second: T,
}

fn main() {
    let account = TAccount::new(Account { owner: "ann".into(), balance: 1, secret: 9 }).unwrap();
    let pair = TPair::new(Pair { first: 1u8, second: 2u8 }).unwrap();
    let _ = (account, pair);
}
