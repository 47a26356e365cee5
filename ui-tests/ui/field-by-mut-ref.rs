use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[cache_now]
    fn clamped(balance: &mut i64) -> i64 {
        *balance = (*balance).max(0);
        *balance
    }
}

fn main() {}
