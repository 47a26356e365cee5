use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[mutator]
    fn update(&mut self, pressure: u32) {
        self.pressure = pressure;
    }
}

fn main() {}
