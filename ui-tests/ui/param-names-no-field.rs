use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    owner: String,
    balance: i64,
}

#[methods]
impl Account {
    #[cache_lazy]
    fn doubled(balanse: &i64) -> i64 {
        balanse * 2
    }
}

fn main() {}
