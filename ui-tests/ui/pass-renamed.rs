//! A renamed handle, and a renamed `steadfast` crate.
extern crate steadfast as sf;

use sf::{atomically, methods, Transactional};

#[derive(Transactional)]
#[transactional(handle = "AccountRef", crate = "::sf")]
struct Account {
    balance: i64,
}

#[methods(handle = AccountRef, crate = ::sf)]
impl Account {
    #[cache_lazy]
    fn doubled(balance: &i64) -> i64 {
        balance * 2
    }
}

// The old default name stays free for the user.
struct TAccount;

fn main() {
    let account: AccountRef = AccountRef::new(Account { balance: 4 }).unwrap();
    assert_eq!(atomically(|tx| account.doubled(tx)), 8);
    let _ = TAccount;
}
