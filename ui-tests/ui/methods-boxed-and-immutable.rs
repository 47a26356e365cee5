use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed, immutable)]
impl Wheel {
    #[invariant]
    fn inflated(&self) -> bool {
        self.pressure > 0
    }
}

fn main() {}
