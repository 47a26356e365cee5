use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    size: u32,
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[cache_lazy]
    fn load(size: &u32, pressure: &u32) -> u32 {
        size * pressure
    }
}

fn main() {}
