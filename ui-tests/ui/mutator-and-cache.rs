use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[mutator]
    #[cache_lazy]
    fn pump(&mut self) -> u32 {
        self.pressure += 1;
        self.pressure
    }
}

fn main() {}
