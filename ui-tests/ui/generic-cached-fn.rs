use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[cache_lazy]
    fn converted<T: From<i64>>(balance: &i64) -> T {
        T::from(*balance)
    }
}

fn main() {}
