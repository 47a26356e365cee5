use steadfast::{methods, Immutable};

#[derive(Immutable)]
struct Point {
    x: f64,
    y: f64,
}

#[methods(immutable)]
impl Point {
    #[cache_now]
    fn norm(&self) -> f64 {
        (self.x * self.x + self.y * self.y).sqrt()
    }
}

fn main() {}
