use steadfast::Transactional;

#[derive(Transactional)]
struct Tank {
    level: u32,
    update_level: bool,
}

fn main() {}
