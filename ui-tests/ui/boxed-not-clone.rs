use steadfast::Boxed;

#[derive(Boxed)]
struct Wheel {
    pressure: u32,
}

fn main() {}
