use std::rc::Rc;
use steadfast::{methods, Transactional};

#[derive(Transactional)]
struct Account {
    owner: String,
}

#[methods]
impl Account {
    #[cache_lazy]
    fn shared_owner(owner: &String) -> Rc<String> {
        Rc::new(owner.clone())
    }
}

fn main() {}
