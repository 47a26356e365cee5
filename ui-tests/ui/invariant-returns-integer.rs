use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[invariant]
    fn solvent(balance: &i64) -> i64 {
        *balance
    }
}

fn main() {}
