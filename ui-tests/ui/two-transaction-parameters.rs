use steadfast::{methods, StmResult, Transaction, Transactional};

#[derive(Transactional)]
struct Account {
    balance: i64,
}

#[methods]
impl Account {
    #[cache_lazy]
    fn doubled(balance: &i64, tx: &mut Transaction, again: &mut Transaction) -> StmResult<i64> {
        let _ = (tx, again);
        Ok(balance * 2)
    }
}

fn main() {}
