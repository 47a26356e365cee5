// The derive knows `Vec<T>: Clone + Send + Sync`, not `T: Clone`: its
// factory could not link this block, whose invariant would go unchecked.
use steadfast::{methods, Transactional};

#[derive(Clone, Transactional)]
struct Shelf<T> {
    items: Vec<T>,
    capacity: usize,
}

#[methods]
impl<T: Clone + Send + Sync + 'static> Shelf<T> {
    #[invariant]
    fn fits(items: &Vec<T>, capacity: &usize) -> bool {
        items.len() <= *capacity
    }
}

fn main() {}
