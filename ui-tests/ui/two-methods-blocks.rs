use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    owner: String,
    balance: i64,
}

#[methods]
impl Account {
    #[invariant]
    fn solvent(balance: &i64) -> bool {
        *balance >= 0
    }
}

#[methods]
impl Account {
    #[cache_lazy]
    fn label(owner: &String) -> String {
        owner.clone()
    }
}

fn main() {}
