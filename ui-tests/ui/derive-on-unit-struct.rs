use steadfast::Transactional;

#[derive(Transactional)]
struct Marker;

fn main() {}
