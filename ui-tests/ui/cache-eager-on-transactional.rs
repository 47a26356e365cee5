use steadfast::{methods, Transactional};

#[derive(Clone, Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[cache_eager]
    fn doubled(balance: &i64) -> i64 {
        balance * 2
    }
}

fn main() {}
