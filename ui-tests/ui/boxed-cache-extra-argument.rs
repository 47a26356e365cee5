use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[cache_lazy]
    fn scaled(&self, factor: u32) -> u32 {
        self.pressure * factor
    }
}

fn main() {}
