use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[mutator]
    fn pressure(&self) -> u32 {
        self.pressure
    }
}

fn main() {}
