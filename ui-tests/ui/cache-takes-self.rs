use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    owner: String,
    balance: i64,
}

#[methods]
impl Account {
    #[cache_lazy]
    fn label(&self) -> String {
        format!("{}: {}", self.owner, self.balance)
    }
}

fn main() {}
