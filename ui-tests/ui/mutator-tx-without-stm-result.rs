use steadfast::{methods, Boxed, TVar, Transaction};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
    log: TVar<Vec<u32>>,
}

#[methods(boxed)]
impl Wheel {
    #[mutator]
    fn pump(&mut self, tx: &mut Transaction) -> u32 {
        let _ = tx;
        self.pressure += 1;
        self.pressure
    }
}

fn main() {}
