use std::cell::Cell;
use steadfast::Immutable;

#[derive(Immutable)]
struct Counter {
    hits: Cell<u32>,
}

fn main() {}
