use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[derive(Debug)]
struct Overdrawn;

#[methods]
impl Account {
    #[invariant]
    fn solvent(balance: &i64) -> Result<(), Overdrawn> {
        if *balance >= 0 { Ok(()) } else { Err(Overdrawn) }
    }
}

fn main() {}
