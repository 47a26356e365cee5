//! `#[cfg]` on fields and on annotated functions is honoured.
use steadfast::{atomically, methods, Transactional};

#[derive(Transactional)]
struct Config {
    name: String,
    #[cfg(any())]
    never: u8,
}

#[methods]
impl Config {
    #[cfg(any())]
    #[cache_lazy]
    fn never(never: &u8) -> u8 {
        *never
    }

    #[cfg(all())]
    #[cache_lazy]
    fn length(name: &String) -> usize {
        name.len()
    }
}

fn main() {
    let c = TConfig::new(Config { name: "four".into() }).unwrap();
    assert_eq!(atomically(|tx| c.length(tx)), 4);
}
