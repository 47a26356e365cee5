use steadfast::{atomically, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

fn main() {
    let wheel = WheelBox::new(Wheel { pressure: 2 }).unwrap();
    let _raw = atomically(|tx| wheel.update(tx, |raw| raw));
}
