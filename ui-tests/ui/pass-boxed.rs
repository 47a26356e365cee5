//! Boxes: every form of function in a `#[methods(boxed)]` block, in a crate
//! that denies missing docs and warnings; a box without a block; a generic
//! box; an enum; the struct and its block in different modules; a renamed
//! handle and crate.
#![deny(missing_docs, warnings)]

extern crate steadfast as sf;

use sf::{atomically, atomically_or_failure, StmResult, TVar, Transaction};

/// Wheels.
pub mod parts {
    use sf::Boxed;

    /// A wheel: plain, with no guarantees.
    #[derive(Clone, Debug, Boxed)]
    #[boxed(handle = "WheelCell", crate = "::sf")]
    pub struct Wheel {
        /// Inches.
        pub size: u32,
        /// Bar.
        pub pressure: u32,
        pub(crate) log: sf::TVar<Vec<u32>>,
    }

    /// The rules, elsewhere.
    pub mod rules {
        use sf::{methods, StmResult, Transaction};

        #[methods(boxed, handle = WheelCell, crate = ::sf)]
        impl super::Wheel {
            /// Never flat.
            #[invariant]
            pub fn inflated(&self) -> bool {
                self.pressure > 0
            }

            /// Every pressure reached is logged.
            #[invariant]
            pub fn logged(&self, tx: &mut Transaction) -> StmResult<Result<(), String>> {
                let last = self.log.read(tx)?.last().copied();
                Ok(if last == Some(self.pressure) {
                    Ok(())
                } else {
                    Err(format!("{} is not logged", self.pressure))
                })
            }

            /// Size times pressure.
            #[cache_lazy]
            pub fn load(&self) -> u32 {
                self.size * self.pressure
            }

            /// A rating, if the wheel is firm.
            #[cache_lazy]
            pub fn rating(&self) -> Result<u32, String> {
                if self.pressure > 1 { Ok(self.pressure) } else { Err("soft".into()) }
            }

            /// How many pressures were logged.
            #[cache_now]
            pub fn entries(&self, tx: &mut Transaction) -> StmResult<usize> {
                Ok(self.log.read(tx)?.len())
            }

            /// Sets the pressure without logging it.
            #[mutator]
            pub fn set_pressure(&mut self, pressure: u32) {
                self.pressure = pressure;
            }

            /// Logs the pressure.
            #[mutator]
            pub fn record(&mut self, tx: &mut Transaction) -> StmResult<()> {
                let p = self.pressure;
                self.log.modify(tx, |mut log| {
                    log.push(p);
                    log
                })
            }

            /// Generic, with a pattern parameter and `Self`.
            #[mutator]
            pub fn copy_from<N: Into<u32>>(&mut self, (size, _): (N, N), other: &Self) -> u32 {
                self.size = size.into();
                self.pressure = other.pressure;
                self.size
            }
        }
    }
}

/// A box without a methods block.
#[derive(Clone, Debug, PartialEq, sf::Boxed)]
#[boxed(crate = "::sf")]
pub struct Note {
    /// The text.
    pub text: String,
}

/// A generic box.
#[derive(Clone, sf::Boxed)]
#[boxed(crate = "::sf")]
pub struct Stack<T> {
    /// The items.
    pub items: Vec<T>,
}

#[sf::methods(boxed, crate = ::sf)]
impl<T: Clone + Send + Sync + 'static> Stack<T> {
    /// Pushes an item.
    #[mutator]
    pub fn push(&mut self, item: T) -> usize {
        self.items.push(item);
        self.items.len()
    }

    /// The number of items.
    #[cache_lazy]
    pub fn depth(&self) -> usize {
        self.items.len()
    }
}

/// A boxed enum.
#[derive(Clone, Debug, PartialEq, sf::Boxed)]
#[boxed(crate = "::sf")]
pub enum Light {
    /// Stop.
    Red,
    /// Go.
    Green,
}

fn tx_helper(wheel: &parts::WheelCell, tx: &mut Transaction) -> StmResult<u32> {
    wheel.set_pressure(tx, 4)?;
    wheel.record(tx)?;
    wheel.load(tx)
}

fn main() {
    let log = TVar::new(vec![2]);
    let wheel = parts::WheelCell::new(parts::Wheel { size: 20, pressure: 2, log }).unwrap();
    assert_eq!(atomically(|tx| tx_helper(&wheel, tx)), 80);
    assert_eq!(atomically(|tx| wheel.entries(tx)), 2);
    assert_eq!(atomically(|tx| wheel.rating(tx)), Ok(4));
    let copy = atomically(|tx| wheel.snapshot(tx));
    assert_eq!(atomically(|tx| wheel.copy_from(tx, (22u8, 0u8), &copy)), 22);
    assert!(atomically_or_failure(|tx| wheel.set_pressure(tx, 9)).is_err());
    assert!(atomically(|tx| wheel.inflated(tx)));
    assert_eq!(atomically(|tx| wheel.logged(tx)), Ok(()));

    let note = NoteBox::new(Note { text: "hi".into() }).unwrap();
    atomically(|tx| note.update(tx, |n| n.text.push('!')));
    assert_eq!(format!("{note:?}"), r#"NoteBox(Note { text: "hi!" })"#);

    let stack = StackBox::new(Stack { items: vec!['a'] }).unwrap();
    assert_eq!(atomically(|tx| stack.push(tx, 'b')), 2);
    assert_eq!(atomically(|tx| stack.depth(tx)), 2);

    let light = LightBox::new(Light::Red).unwrap();
    atomically(|tx| light.update(tx, |l| *l = Light::Green));
    assert_eq!(atomically(|tx| light.snapshot(tx)), Light::Green);
}
