use steadfast::{methods, Immutable};

#[derive(Immutable)]
struct Range {
    low: i32,
    high: i32,
}

#[methods(immutable)]
impl Range {
    #[invariant]
    fn ordered(&self) -> bool {
        self.low <= self.high
    }
}

fn main() {}
