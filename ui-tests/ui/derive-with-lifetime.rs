use steadfast::Transactional;

#[derive(Transactional)]
struct Account<'a> {
    owner: &'a str,
    balance: i64,
}

fn main() {}
