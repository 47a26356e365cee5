use std::rc::Rc;
use steadfast::Transactional;

#[derive(Transactional)]
struct Account {
    owner: Rc<String>,
    balance: i64,
}

fn main() {}
