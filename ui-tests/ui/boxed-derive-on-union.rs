use steadfast::Boxed;

#[derive(Clone, Copy, Boxed)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
