use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[invariant]
    fn solvent(balance: &u32) -> bool {
        *balance < 1_000_000
    }
}

fn main() {}
