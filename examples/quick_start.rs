//! The quick start: a transactional account with an invariant and a cached
//! statement, shared by four threads.
//!
//! ```text
//! cargo run --example quick_start
//! ```

// ANCHOR: all
use std::thread;
use steadfast::{atomically, atomically_or_failure, methods, Transactional};
use steadfast::{BuildError, StmResult, Transaction};

// ANCHOR: account
/// A plain struct. The derive generates `TAccount`, a shared handle that
/// keeps each field in a transactional variable.
#[derive(Clone, Debug, Transactional)]
struct Account {
    owner: String,
    balance: i64,
}

#[methods]
impl Account {
    /// Must hold whenever a transaction commits.
    #[invariant]
    fn solvent(balance: &i64) -> Result<(), String> {
        match *balance >= 0 {
            true => Ok(()),
            false => Err(format!("balance {balance} is negative")),
        }
    }

    /// Computed on first use, then cached until `owner` or `balance` changes.
    #[cache_lazy]
    fn statement(owner: &str, balance: &i64) -> String {
        format!("{owner} holds {balance}")
    }
}

// ANCHOR_END: account

// ANCHOR: transfer
/// Composes: callers decide which transaction it is part of.
fn transfer(tx: &mut Transaction, from: &TAccount, to: &TAccount, amount: i64) -> StmResult<()> {
    from.modify_balance(tx, |b| b - amount)?;
    to.modify_balance(tx, |b| b + amount)
}
// ANCHOR_END: transfer

fn main() -> Result<(), BuildError> {
    let ann = TAccount::new(Account {
        owner: "ann".into(),
        balance: 100,
    })?;
    let bob = TAccount::new(Account {
        owner: "bob".into(),
        balance: 100,
    })?;

    // Four threads move money back and forth; each transfer is atomic.
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1_000 {
                    atomically(|tx| transfer(tx, &ann, &bob, 10));
                    atomically(|tx| transfer(tx, &bob, &ann, 10));
                }
            });
        }
    });
    println!("{}", atomically(|tx| ann.statement(tx)));
    println!("{}", atomically(|tx| bob.statement(tx)));

    // A transfer that would overdraw ann fails as a whole, naming the invariant.
    let overdraft = atomically_or_failure(|tx| transfer(tx, &ann, &bob, 500));
    println!("refused: {}", overdraft.unwrap_err());
    assert_eq!(
        atomically(|tx| Ok(ann.balance(tx)? + bob.balance(tx)?)),
        200
    );
    Ok(())
}
// ANCHOR_END: all
