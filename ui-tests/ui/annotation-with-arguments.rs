use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[invariant(name = "solvent")]
    fn solvent(balance: &i64) -> bool {
        *balance >= 0
    }
}

fn main() {}
