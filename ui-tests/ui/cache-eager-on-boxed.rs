use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[cache_eager]
    fn doubled(&self) -> u32 {
        self.pressure * 2
    }
}

fn main() {}
