use steadfast::Transactional;

#[derive(Transactional)]
struct Point(i64, i64);

fn main() {}
