use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[cache_lazy]
    fn scaled(balance: &i64, factor: f64) -> f64 {
        *balance as f64 * factor
    }
}

fn main() {}
