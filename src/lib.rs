//! # steadfast
//!
//! Caches and invariants that stay correct when many threads share and change
//! a struct. `#[derive(Transactional)]` turns a struct's fields into
//! transactional variables; methods marked `#[cache_lazy]`, `#[cache_now]` and
//! `#[invariant]` become caches that are never stale and invariants that are
//! never observed broken, on a fast software transactional memory engine.
//!
//! ```
//! use steadfast::{atomically, TVar};
//! let a = TVar::new(10i64);
//! atomically(|tx| a.modify(tx, |x| x + 1));
//! assert_eq!(a.load(), 11);
//! ```
//!
//! ## Transactional structs
//!
//! ```
//! use steadfast::{atomically, methods, try_atomically, Transactional};
//!
//! #[derive(Clone, Debug, Transactional)] // generates the handle `TAccount`
//! pub struct Account {
//!     pub owner: String,
//!     pub balance: i64,
//! }
//!
//! #[methods]
//! impl Account {
//!     /// Parameters name fields and take them by reference.
//!     #[invariant]
//!     fn solvent(balance: &i64) -> Result<(), String> {
//!         if *balance >= 0 { Ok(()) } else { Err(format!("balance {balance} < 0")) }
//!     }
//!
//!     #[cache_lazy]
//!     fn label(owner: &str, balance: &i64) -> String {
//!         format!("{owner}: {balance}")
//!     }
//! }
//!
//! # fn main() -> Result<(), steadfast::BuildError> {
//! let acc = TAccount::new(Account { owner: "ann".into(), balance: 10 })?;
//! atomically(|tx| acc.modify_balance(tx, |b| b - 3));
//! assert_eq!(atomically(|tx| acc.label(tx)), "ann: 7");
//!
//! // A transaction that would leave the invariant broken fails, and none of
//! // its writes become visible.
//! let overdraw = try_atomically::<_, (), _>(|tx| Ok(acc.set_balance(tx, -1)?));
//! assert_eq!(overdraw.unwrap_err().invariant_violation().unwrap().invariant, "Account::solvent");
//! assert_eq!(atomically(|tx| acc.balance(tx)), 7);
//!
//! // The plain function stays callable on plain values.
//! assert_eq!(Account::label("bob", &1), "bob: 1");
//! # Ok(())
//! # }
//! ```
//!
//! See [`Transactional`] for everything the derive generates and [`methods`]
//! for the annotations.

use std::fmt;

pub use steadfast_core::*;

/// Generates a shared transactional handle for a struct with named fields.
///
/// For `struct Account { owner: String, balance: i64 }` it generates
/// `TAccount` (rename it with `#[transactional(handle = "AccountRef")]`): a
/// cheap-to-clone handle holding one [`TVar`] per field. Its visibility is the
/// struct's. It has:
///
/// - `TAccount::new(value) -> Result<TAccount, BuildError>`: the factory. It
///   runs in its own transaction, computes the `#[cache_now]` values and
///   checks the invariants of the struct's [`methods`] block; a failing
///   invariant is named in the [`BuildError`].
/// - `TAccount::new_in(tx, value) -> StmResult<TAccount>`: the same inside a
///   running transaction (a failing invariant fails that transaction).
/// - per field, with the field's visibility: `balance(&self, tx)` reads it,
///   `set_balance(&self, tx, value)` writes it and `modify_balance(&self, tx,
///   |b| ..)` replaces it with a function of its value. (Rust does not accept
///   `acc.set_balance(tx, acc.balance(tx)? - 3)`, which borrows `tx` twice:
///   read into a local first, or use `modify_balance`.)
/// - `snapshot(&self, tx) -> Account`: a plain copy of every field.
/// - `ptr_eq(&self, &other)`: whether two handles are the same object.
/// - `Clone` (another handle to the same object) and `Debug` (each field's
///   latest committed value, read without a transaction, so it may be used
///   inside one; handles nested a few levels deep print as `TName { .. }`).
///
/// Every field type must be `Clone + Send + Sync + 'static`. Generic structs
/// work: the handle requires that of each field type. A struct without a
/// `#[methods]` block works too.
///
/// Options, in `#[transactional(..)]`:
/// - `handle = "Name"`: the handle's name (default: `T` + the struct's name).
/// - `bound = "T: Trait, .."`: extra bounds for the handle's impls, for a
///   generic struct whose `#[methods]` block needs more than `Clone + Send +
///   Sync + 'static` of its parameters (see [`methods`]).
/// - `crate = "path"`: where the `steadfast` crate is, if renamed.
pub use steadfast_macros::Transactional;

/// Turns annotated functions of an `impl` block into caches and invariants of
/// the struct's transactional handle.
///
/// Put it on an inherent `impl Name { .. }` of a struct that has
/// `#[derive(Transactional)]`. Annotated functions take no `self`: their
/// parameters name fields of the struct and take them by reference (L42
/// style), plus optionally one `tx: &mut Transaction` for deep reads through
/// other transactional objects; a function that takes `tx` returns
/// `StmResult<..>` of what it would otherwise return. Each annotated function
/// stays callable on plain values, and the handle gets a method of the same
/// name, `fn name(&self, tx: &mut Transaction) -> StmResult<..>`:
///
/// - `#[cache_lazy]`: computed on first call and stored in the object; it is
///   invalidated by any committed write to something the computation read
///   (fields and deep reads). Inside a transaction that wrote one of those, a
///   call computes from that transaction's view and never returns a stale
///   value. A hit costs one transactional read. Panics are not cached, and
///   neither are errors: a function written `-> Result<T, E>` caches only
///   `Ok` values.
/// - `#[cache_now]`: computed by the factory and again at the end of every
///   transaction that wrote what it read, before that commit becomes visible;
///   reading it never computes.
/// - `#[invariant]`: returns `bool` or `Result<(), E>` with `E: Display`. It
///   is checked by the factory and at the end of every transaction that wrote
///   what it read; if it fails, the transaction fails and nothing it wrote
///   becomes visible. A transaction may break an invariant and restore it
///   before its end. The handle's method returns the check's result.
///
/// Unannotated items are left alone. A struct has at most one `#[methods]`
/// block (the factory links exactly one). Options, in `#[methods(..)]`:
/// `handle = Name` if the derive renamed the handle, `crate = path` if the
/// `steadfast` crate is renamed.
///
/// For a generic struct, the derive's factory links the `#[methods]` block
/// under the bounds the derive knows (each field type `Clone + Send + Sync +
/// 'static`, the struct's own bounds and `#[transactional(bound = "..")]`).
/// Bounds of the block beyond those must be declared in one of these places;
/// otherwise the handle's cache methods panic with a message saying so.
///
/// ```
/// use steadfast::{atomically, methods, StmResult, Transaction, Transactional};
///
/// #[derive(Transactional)]
/// struct Item { price: u32, qty: u32 }
///
/// #[derive(Transactional)]
/// struct Order { item: TItem, discount: u32 }
///
/// #[methods]
/// impl Order {
///     /// Reads through the item handle: a deep read, tracked like a field.
///     #[cache_now]
///     fn total(item: &TItem, discount: &u32, tx: &mut Transaction) -> StmResult<u32> {
///         Ok(item.price(tx)? * item.qty(tx)? - discount)
///     }
/// }
///
/// let item = TItem::new(Item { price: 5, qty: 3 }).unwrap();
/// let order = TOrder::new(Order { item: item.clone(), discount: 2 }).unwrap();
/// assert_eq!(atomically(|tx| order.total(tx)), 13);
/// atomically(|tx| item.set_qty(tx, 4)); // recomputes `total` before it commits
/// assert_eq!(atomically(|tx| order.total(tx)), 18);
/// ```
pub use steadfast_macros::methods;

/// Why a transactional object's factory (`new`) could not build it: usually
/// an invariant of its `#[methods]` block that the initial value violates.
///
/// ```
/// use steadfast::{methods, Transactional};
///
/// #[derive(Transactional)]
/// struct Range { low: i32, high: i32 }
///
/// #[methods]
/// impl Range {
///     #[invariant]
///     fn ordered(low: &i32, high: &i32) -> bool { low <= high }
/// }
///
/// let err = TRange::new(Range { low: 5, high: 1 }).unwrap_err();
/// assert_eq!(err.invariant(), Some("Range::ordered"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    object: &'static str,
    failure: Failure,
}

impl BuildError {
    /// The name of the struct that could not be built.
    pub fn object(&self) -> &'static str {
        self.object
    }

    /// Why the building transaction failed.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// The violated invariant, if that is why.
    pub fn invariant_violation(&self) -> Option<&InvariantViolation> {
        match &self.failure {
            Failure::InvariantViolated(v) => Some(v),
            _ => None,
        }
    }

    /// The violated invariant's name (`Struct::function`), if that is why.
    pub fn invariant(&self) -> Option<&str> {
        self.invariant_violation().map(|v| &*v.invariant)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot build `{}`: {}", self.object, self.failure)
    }
}

impl std::error::Error for BuildError {}

/// What generated code refers to. Not a public API: it may change in any release.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// Compiles and runs the README's example as a doctest, so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
