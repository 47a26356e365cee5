use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[mutator]
    fn pressure_mut(&mut self) -> &mut u32 {
        &mut self.pressure
    }
}

fn main() {}
