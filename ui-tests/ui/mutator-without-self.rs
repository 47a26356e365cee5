use steadfast::{methods, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[mutator]
    fn pump(pressure: &mut u32, by: u32) {
        *pressure += by;
    }
}

fn main() {}
