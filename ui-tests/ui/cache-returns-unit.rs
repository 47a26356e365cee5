use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[cache_now]
    fn log(balance: &i64) {
        println!("{balance}");
    }
}

fn main() {}
