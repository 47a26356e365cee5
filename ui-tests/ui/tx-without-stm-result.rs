use steadfast::{methods, Transaction, Transactional};

#[derive(Transactional)]
struct Node {
    value: i64,
    next: Option<TNode>,
}

#[methods]
impl Node {
    #[cache_lazy]
    fn sum(value: &i64, next: &Option<TNode>, tx: &mut Transaction) -> i64 {
        match next {
            Some(next) => value + next.sum(tx).unwrap(),
            None => *value,
        }
    }
}

fn main() {}
