use steadfast::{methods, Immutable};

#[derive(Immutable)]
struct Point {
    x: f64,
}

#[methods(immutable)]
impl Point {
    #[mutator]
    fn shift(&mut self, by: f64) {
        self.x += by;
    }
}

fn main() {}
