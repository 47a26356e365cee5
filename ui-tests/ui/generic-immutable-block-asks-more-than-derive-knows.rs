// An immutable value's block needing `Clone`, which the derive does not ask
// of `T` (it asks `Send + Sync + 'static`).
use steadfast::{methods, Immutable};

#[derive(Immutable)]
struct Pair<T> {
    first: T,
    second: T,
}

#[methods(immutable)]
impl<T: Clone + Send + Sync + 'static> Pair<T> {
    #[cache_lazy]
    fn swapped(&self) -> (T, T) {
        (self.second.clone(), self.first.clone())
    }
}

fn main() {}
