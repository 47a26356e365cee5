//! The quick start's accounts written by hand with locks, for comparison.
//!
//! Each account sits behind its own `Mutex`. The cached statement must be
//! cleared by every setter, the invariant must be checked by every method
//! that changes a balance, and every operation that locks two accounts must
//! lock them in the same global order, or two opposite transfers deadlock.
//! All of it works; none of it is checked by anything but care.
//!
//! ```text
//! cargo run --example by_hand
//! ```

use std::sync::{Mutex, MutexGuard};
use std::thread;

// ANCHOR: account
struct State {
    owner: String,
    balance: i64,
    /// Must be cleared whenever `owner` or `balance` changes.
    statement: Option<String>,
}

struct Account(Mutex<State>);

impl Account {
    fn new(owner: &str, balance: i64) -> Account {
        Account(Mutex::new(State {
            owner: owner.into(),
            balance,
            statement: None,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    fn statement(&self) -> String {
        let mut state = self.lock();
        if state.statement.is_none() {
            state.statement = Some(format!("{} holds {}", state.owner, state.balance));
        }
        state.statement.clone().unwrap()
    }
}

/// Locks two accounts in one global order (by address), so two transfers
/// in opposite directions cannot each hold one lock and wait for the other.
fn lock_both<'a>(a: &'a Account, b: &'a Account) -> (MutexGuard<'a, State>, MutexGuard<'a, State>) {
    if (a as *const Account) < (b as *const Account) {
        let first = a.lock();
        (first, b.lock())
    } else {
        let second = b.lock();
        (a.lock(), second)
    }
}

fn transfer(from: &Account, to: &Account, amount: i64) -> Result<(), String> {
    let (mut from, mut to) = lock_both(from, to);
    // The invariant, checked by hand, before anything changes.
    if from.balance < amount {
        return Err(format!("{} would be overdrawn", from.owner));
    }
    from.balance -= amount;
    to.balance += amount;
    // The caches, cleared by hand.
    from.statement = None;
    to.statement = None;
    Ok(())
}
// ANCHOR_END: account

fn main() {
    let ann = Account::new("ann", 100);
    let bob = Account::new("bob", 100);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1_000 {
                    transfer(&ann, &bob, 10).unwrap();
                    transfer(&bob, &ann, 10).unwrap();
                }
            });
        }
    });
    println!("{}", ann.statement());
    println!("{}", bob.statement());
    println!("refused: {}", transfer(&ann, &bob, 500).unwrap_err());

    // ANCHOR: total
    // A consistent total must hold both locks at once, in the same order.
    let total = {
        let (a, b) = lock_both(&ann, &bob);
        a.balance + b.balance
    };
    // ANCHOR_END: total
    assert_eq!(total, 200);
}
