use steadfast::{atomically, Boxed};

#[derive(Clone, Boxed)]
struct Wheel {
    pressure: u32,
}

fn main() {
    let wheel = WheelBox::new(Wheel { pressure: 2 }).unwrap();
    let mut kept: Option<&mut Wheel> = None;
    atomically(|tx| wheel.update(tx, |raw| kept = Some(raw)));
    kept.unwrap().pressure = 0;
}
