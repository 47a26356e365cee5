use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    owner: String,
    balance: i64,
}

#[methods]
impl Account {
    #[cache_lazy]
    fn label(owner: &String) -> String {
        owner.clone()
    }

    #[cache_now]
    fn label(owner: &String, balance: &i64) -> String {
        format!("{owner}: {balance}")
    }
}

fn main() {}
