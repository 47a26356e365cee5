use steadfast::{methods, Transactional};

#[derive(Clone, Transactional)]
struct Wheel {
    pressure: u32,
}

#[methods(boxed)]
impl Wheel {
    #[mutator]
    fn pump(&mut self, by: u32) {
        self.pressure += by;
    }
}

fn main() {}
