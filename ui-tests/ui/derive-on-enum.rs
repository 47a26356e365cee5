use steadfast::Transactional;

#[derive(Transactional)]
enum Shape {
    Circle { radius: f64 },
    Square { side: f64 },
}

fn main() {}
