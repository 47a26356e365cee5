// A boxed block needing `Display`, which `#[boxed(bound = "T: Display")]`
// would have told the derive.
use std::fmt::Display;
use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Tagged<T> {
    value: T,
}

#[methods(boxed)]
impl<T: Display + Clone + Send + Sync + 'static> Tagged<T> {
    #[invariant]
    fn printable(&self) -> bool {
        !self.value.to_string().is_empty()
    }
}

fn main() {}
