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

/// A generic struct with a field under `#[cfg]`: its block may rely on the
/// field's bound like on any other field's.
#[derive(Transactional)]
struct Tagged<T> {
    #[cfg(all())]
    tags: Vec<T>,
    #[cfg(any())]
    hidden: Vec<T>,
}

#[methods]
impl<T: 'static> Tagged<T>
where
    Vec<T>: Clone + Send + Sync,
{
    #[cfg(all())]
    #[invariant]
    fn few(tags: &Vec<T>) -> bool {
        tags.len() < 3
    }
}

fn main() {
    let c = TConfig::new(Config { name: "four".into() }).unwrap();
    assert_eq!(atomically(|tx| c.length(tx)), 4);
    assert!(TTagged::new(Tagged { tags: vec!['a'; 3] }).is_err());
    assert!(TTagged::new(Tagged { tags: vec!['a'; 2] }).is_ok());
}
