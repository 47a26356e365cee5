use std::rc::Rc;
use steadfast::{methods, Immutable};

#[derive(Immutable)]
struct Name {
    text: String,
}

#[methods(immutable)]
impl Name {
    #[cache_lazy]
    fn shared(&self) -> Rc<str> {
        Rc::from(self.text.as_str())
    }
}

fn main() {}
