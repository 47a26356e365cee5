use steadfast::Transactional;

#[derive(Transactional)]
struct Light {
    on: bool,
    set_on: bool,
}

fn main() {}
