use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[invariant]
    fn inflated(&mut self) -> bool {
        self.pressure > 0
    }
}

fn main() {}
