use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Order {
    total: u64,
}

#[methods]
impl Order {
    #[cache_lazy]
    fn new(total: &u64) -> bool {
        *total == 0
    }
}

fn main() {}
