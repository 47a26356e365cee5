use steadfast::{methods, Transactional};

#[derive(Clone, Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[mutator]
    fn deposit(&mut self, amount: i64) {
        self.balance += amount;
    }
}

fn main() {}
