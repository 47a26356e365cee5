use steadfast::{atomically, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

fn main() {
    let wheel = WheelBox::new(Wheel { pressure: 2 }).unwrap();
    let _pressure: &u32 = atomically(|tx| wheel.read(tx, |raw| &raw.pressure));
}
