use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

struct Report {
    text: String,
}

#[methods]
impl Account {
    #[cache_now]
    fn report(balance: &i64) -> Report {
        Report { text: balance.to_string() }
    }
}

fn main() {}
