use steadfast::Transactional;

#[derive(Transactional)]
#[transactional(handel = "AccountRef")]
struct Account {
    balance: i64,
}

fn main() {
    // The rest of the program still type-checks: only the option is reported.
    let account = TAccount::new(Account { balance: 1 }).unwrap();
    let _ = account;
}
