//! Boxes and immutable values use only absolute paths and hygienic locals:
//! look-alike names and parameters named like the generated code's locals
//! change nothing.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types, clippy::all)]

use steadfast::{atomically, methods, Boxed, Immutable};

type Result<T> = ::core::result::Result<T, ::std::string::String>;
struct Option;
struct Some;
struct None;
struct Ok;
struct Err;
struct Arc;
struct Box;
struct Vec;
struct Clone;
struct Debug;
struct PhantomData;
struct TVar;
struct StmResult;
struct Transaction;
struct BoxInner;
struct ImmInner;
struct ImmLazy;
struct ImmEager;
struct Probe;
struct __SteadfastCaches;
trait Fn {}
trait FnOnce {}
trait Send {}
trait Sync {}
trait Any {}
mod core {}
mod std {}
fn drop() {}

#[derive(::core::clone::Clone, ::core::fmt::Debug, Boxed)]
pub struct Wheel {
    raw: u32,
    object: u32,
}

#[methods(boxed)]
impl Wheel {
    #[invariant]
    fn positive(&self) -> bool {
        self.raw > 0
    }

    #[cache_lazy]
    fn sum(&self) -> u32 {
        self.raw + self.object
    }

    #[cache_lazy]
    fn parsed(&self) -> Result<u32> {
        ::core::result::Result::Ok(self.raw)
    }

    #[mutator]
    fn set(&mut self, raw: u32, tx: u32, object: u32, caches: u32, f: u32, arg0: u32) -> u32 {
        self.raw = raw + tx + caches + f + arg0;
        self.object = object;
        self.raw
    }
}

#[derive(::core::fmt::Debug, Immutable)]
pub struct Point {
    value: f64,
}

#[methods(immutable)]
impl Point {
    #[cache_lazy]
    fn doubled(&self) -> f64 {
        self.value * 2.0
    }

    #[cache_eager]
    fn tripled(&self) -> f64 {
        self.value * 3.0
    }
}

fn main() {
    let w = WheelBox::new(Wheel { raw: 1, object: 2 }).unwrap();
    assert_eq!(atomically(|t| w.sum(t)), 3);
    assert_eq!(atomically(|t| w.set(t, 1, 1, 5, 1, 1, 1)), 5);
    assert_eq!(atomically(|t| w.parsed(t)), ::core::result::Result::Ok(5));
    let p = ImmPoint::new(Point { value: 1.5 });
    assert_eq!(*p.doubled(), 3.0);
    assert_eq!(*p.tripled(), 4.5);
}
