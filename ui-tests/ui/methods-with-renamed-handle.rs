use steadfast::{methods, Transactional};

#[derive(Transactional)]
#[transactional(handle = "AccountRef")]
struct Account {
    balance: i64,
}

// The handle was renamed: `#[methods]` must be told, `#[methods(handle = AccountRef)]`.
#[methods]
impl Account {
    #[invariant]
    fn solvent(balance: &i64) -> bool {
        *balance >= 0
    }
}

fn main() {}
