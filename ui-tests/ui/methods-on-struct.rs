use steadfast::methods;

#[methods]
struct Account {
    balance: i64,
}

fn main() {}
