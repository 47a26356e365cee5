use steadfast::Transactional;

#[derive(Transactional)]
struct Tank {
    level: u32,
    update_level: bool,
}

#[derive(Transactional)]
struct Gauge {
    needle: u32,
    with_needle: bool,
}

fn main() {}
