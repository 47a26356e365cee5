use steadfast::Transactional;

#[derive(Transactional)]
struct Order {
    new: bool,
    total: u64,
}

fn main() {}
