use steadfast::Boxed;

#[derive(Clone, Boxed)]
struct Label<'a> {
    text: &'a str,
}

fn main() {}
