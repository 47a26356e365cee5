use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[invariant]
    fn solvent(balance: &i64) {
        assert!(*balance >= 0);
    }
}

fn main() {}
