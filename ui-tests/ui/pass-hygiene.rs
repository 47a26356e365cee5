//! Generated code only uses absolute paths and its own hygienic locals: a
//! module full of look-alike names, and fields named like the generated code's
//! variables, change nothing.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types, clippy::all)]

use steadfast::{atomically, methods, Transactional};

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
struct StmError;
struct Transaction;
struct Inner;
struct Lazy;
struct Eager;
struct Probe;
struct __SteadfastCaches;
trait Fn {}
trait FnOnce {}
trait Send {}
trait Sync {}
mod core {}
mod std {}
mod steadfast_core {}
fn drop() {}

/// Named like the struct the derive generates for `Weird`'s variables.
#[derive(::core::clone::Clone)]
struct WeirdFields;

#[derive(Transactional)]
pub struct Weird {
    tx: i64,
    object: i64,
    caches: i64,
    value: i64,
    fields: i64,
    update: i64,
    inner: ::std::string::String,
    extra: WeirdFields,
}

#[methods]
impl Weird {
    #[cache_lazy]
    fn total(
        tx: &i64,
        object: &i64,
        caches: &i64,
        value: &i64,
        fields: &i64,
        update: &i64,
    ) -> i64 {
        tx + object + caches + value + fields + update
    }

    #[cache_lazy]
    fn parsed(inner: &str) -> Result<i64> {
        inner.parse::<i64>().map_err(|e| e.to_string())
    }

    #[cache_now]
    fn deep(tx: &i64, t: &mut steadfast::Transaction) -> steadfast::StmResult<i64> {
        let _ = t;
        ::core::result::Result::Ok(*tx * 2)
    }

    #[invariant]
    fn positive(value: &i64) -> bool {
        *value > 0
    }
}

fn main() {
    let w = TWeird::new(Weird {
        tx: 1,
        object: 2,
        caches: 3,
        value: 4,
        fields: 5,
        update: 6,
        inner: "42".into(),
        extra: WeirdFields,
    })
    .unwrap();
    assert_eq!(atomically(|t| w.total(t)), 21);
    assert_eq!(atomically(|t| w.parsed(t)), ::core::result::Result::Ok(42));
    assert_eq!(atomically(|t| w.deep(t)), 2);
    atomically(|t| w.set_tx(t, 10));
    assert_eq!(atomically(|t| w.total(t)), 30);
    assert_eq!(atomically(|t| w.deep(t)), 20);
    assert!(atomically(|t| w.positive(t)));
}
