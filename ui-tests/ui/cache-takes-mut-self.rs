use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[cache_now]
    fn doubled(&mut self) -> i64 {
        self.balance * 2
    }
}

fn main() {}
