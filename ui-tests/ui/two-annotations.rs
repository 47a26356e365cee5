use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[cache_lazy]
    #[cache_now]
    fn doubled(balance: &i64) -> i64 {
        balance * 2
    }
}

fn main() {}
