use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Pair<T> {
    first: T,
    second: T,
}

#[methods]
impl Pair<i32> {
    #[invariant]
    fn ordered(first: &i32, second: &i32) -> bool {
        first <= second
    }
}

fn main() {}
