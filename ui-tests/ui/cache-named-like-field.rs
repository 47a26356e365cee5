use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    owner: String,
    balance: i64,
}

#[methods]
impl Account {
    #[cache_lazy]
    fn balance(balance: &i64) -> i64 {
        *balance
    }
}

fn main() {}
