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
//! use steadfast::{atomically, atomically_or_failure, methods, Transactional};
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
//! let overdraw = atomically_or_failure(|tx| acc.set_balance(tx, -1));
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
//!
//! ## Boxes and immutable values
//!
//! [`Boxed`] keeps a plain, naively written struct whole in one variable
//! (L42's box pattern): its `#[mutator]` methods and `update` may break its
//! invariants freely, which are checked once, when the transaction commits.
//! Transactional structs may hold boxes and other handles and check them in
//! their own invariants. [`Immutable`] shares a value that never changes,
//! with lazily filled and background-computed caches that need no
//! transactions.

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
/// - per field, with the field's visibility:
///   - `balance(&self, tx)` reads it (a clone);
///   - `with_balance(&self, tx, |b: &i64| ..)` lends it to the closure
///     without cloning it and returns what the closure returns;
///   - `set_balance(&self, tx, value)` writes it;
///   - `modify_balance(&self, tx, |b| ..)` replaces it with a function of its
///     value;
///   - `update_balance(&self, tx, |b: &mut i64| ..)` changes it in place and
///     returns what the closure returns (the transaction's first change of a
///     field clones it, later ones change that copy).
///
///   (Rust does not accept `acc.set_balance(tx, acc.balance(tx)? - 3)`,
///   which borrows `tx` twice: read into a local first, or use
///   `modify_balance`.)
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
/// the struct's transactional handle (and, for boxed and immutable structs,
/// of their handles: see below).
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
/// `steadfast` crate is renamed, and the form of the struct:
///
/// - `#[methods(boxed)]`, for a struct with [`Boxed`]: functions take the
///   raw value as `&self` (plus optionally `tx`), and `#[mutator] fn f(&mut
///   self, ..)` functions become methods of the box that change its value;
///   invariants are checked once per transaction, at commit.
/// - `#[methods(immutable)]`, for a struct with [`Immutable`]: functions
///   take `&self` only; `#[cache_lazy]` and `#[cache_eager]` (computed on a
///   background thread) are kept forever and returned by reference.
///
/// For a generic struct, the derive's factory links the `#[methods]` block
/// under the bounds the derive knows (each field type `Clone + Send + Sync +
/// 'static`, the struct's own bounds and `#[transactional(bound = "..")]`).
/// A block asking more of a type parameter is refused at compile time, with
/// one error for each bound the derive does not know, pointing at the bound
/// in the block: declare it on the struct or with `bound`. A
/// field `Vec<T>` tells the derive `Vec<T>: Clone`, not `T: Clone`, so a block
/// may state what it needs of the field instead (`where Vec<T>: Clone`). The
/// same holds for `#[boxed(bound = "..")]` and `#[immutable(bound = "..")]`,
/// whose derives know `Clone + Send + Sync + 'static` (boxes) or
/// `Send + Sync + 'static` (immutable values) of each type parameter. The check reaches
/// the derive through the struct's name, so a generic block names the struct
/// itself (or an alias `use` made of it), not a type alias; a struct with two
/// of the derives gets no generic block.
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

/// Boxes a plain struct (L42's box pattern): generates a shared handle that
/// keeps the whole value in one [`TVar`].
///
/// The struct itself stays plain and deeply mutable, with no guarantees:
/// write it naively, then box it. For `struct Wheel { .. }` the derive
/// generates `WheelBox` (rename it with `#[boxed(handle = "Name")]`), a
/// cheap-to-clone handle with the struct's visibility:
///
/// - `WheelBox::new(value) -> Result<WheelBox, BuildError>`: the factory, in
///   its own transaction: computes the `#[cache_now]` values and checks the
///   invariants of the struct's `#[methods(boxed)]` block.
/// - `WheelBox::new_in(tx, value) -> StmResult<WheelBox>`: the same inside a
///   running transaction.
/// - `read(&self, tx, |raw: &Wheel| ..) -> StmResult<R>`: lends the raw value.
/// - `update(&self, tx, |raw: &mut Wheel| ..) -> StmResult<R>`: lends a copy
///   mutably and writes it back. The `&mut Wheel` cannot leave the closure
///   (`R` cannot borrow from it): the raw value never escapes the box.
/// - `snapshot(&self, tx) -> Wheel`: a plain copy.
/// - `ptr_eq(&self, &other)`: whether two handles are the same box.
/// - `Clone` (another handle to the same box) and `Debug` (`WheelBox(..)`
///   with the latest committed value).
///
/// In the struct's [`methods`] block, written `#[methods(boxed)]`,
/// functions take the raw value as `&self` (L42's box methods see the boxed
/// object whole): `#[invariant]`, `#[cache_lazy]` and `#[cache_now]` take
/// `&self` plus optionally `tx: &mut Transaction` for deep reads through
/// boxes and objects the value holds, and `#[mutator]` functions take `&mut
/// self` and any arguments. The box gets each of them as a method that takes
/// `tx`; a mutator `fn pump(&mut self, by: u32) -> R` becomes `fn pump(&self,
/// tx, by: u32) -> StmResult<R>`. `update` and mutators may break the
/// invariants freely: each transaction that changes the value checks them
/// exactly once, when it commits, however many changes it made, and a
/// transaction that would leave one broken fails, naming it, with nothing
/// written. Caches are per box and invalidated by any committed change to
/// its value (and to what they read through `tx`).
///
/// ```
/// use steadfast::{atomically, atomically_or_failure, methods, Boxed};
///
/// #[derive(Clone, Debug, Boxed)] // generates `WheelBox`
/// struct Wheel { size: u32, pressure: u32 }
///
/// #[methods(boxed)]
/// impl Wheel {
///     #[invariant]
///     fn inflated(&self) -> bool { self.pressure > 0 }
///
///     #[cache_lazy]
///     fn load(&self) -> u32 { self.size * self.pressure }
///
///     #[mutator]
///     fn deflate(&mut self) { self.pressure = 0 }
///
///     #[mutator]
///     fn pump(&mut self, by: u32) -> u32 { self.pressure += by; self.pressure }
/// }
///
/// let wheel = WheelBox::new(Wheel { size: 26, pressure: 2 }).unwrap();
/// // Broken in the middle, restored before the end: one check, at commit.
/// assert_eq!(atomically(|tx| { wheel.deflate(tx)?; wheel.pump(tx, 3) }), 3);
/// assert_eq!(atomically(|tx| wheel.load(tx)), 78);
/// let flat = atomically_or_failure(|tx| wheel.deflate(tx));
/// assert_eq!(flat.unwrap_err().invariant_violation().unwrap().invariant, "Wheel::inflated");
/// assert_eq!(atomically(|tx| wheel.read(tx, |w| w.pressure)), 3);
/// ```
///
/// The value must be `Clone + Send + Sync + 'static` (a transaction's first
/// `update` or mutator call clones it, later ones change that copy in place;
/// reads only share it). Any struct or
/// enum can be boxed; generic ones too: the handle requires `Clone + Send +
/// Sync + 'static` of each type parameter, as `derive(Clone)` requires
/// `Clone`, and a `#[methods(boxed)]` block that needs more of them needs it
/// declared on the struct or with `bound` (see [`methods`]).
/// Options, in `#[boxed(..)]`: `handle = "Name"`, `bound = "T: Trait, .."`
/// and `crate = "path"`, as for [`Transactional`].
pub use steadfast_macros::Boxed;

/// Shares an immutable struct with thread-safe caches: generates a handle
/// whose `#[cache_lazy]` and `#[cache_eager]` methods compute once and keep
/// the result (L42's caches on immutable objects).
///
/// For `struct Point { .. }` the derive generates `ImmPoint` (rename it with
/// `#[immutable(handle = "Name")]`), a cheap-to-clone handle with the
/// struct's visibility: `ImmPoint::new(value)` (also `From<Point>`), `Deref`
/// and `AsRef` to the `Point`, `ptr_eq`, `Clone` (the same value and caches)
/// and `Debug`. No transactions are involved: nothing about it changes.
///
/// In the struct's [`methods`] block, written `#[methods(immutable)]`,
/// annotated functions take `&self` and nothing else, and the handle gets a
/// method of the same name that returns a reference to the kept value:
///
/// - `#[cache_lazy] fn f(&self) -> V` gives `fn f(&self) -> &V`: a lazily
///   filled cell on [`LazyValue`]. The cell only goes from empty to full
///   and no thread ever waits for another: threads racing on the first call
///   may each compute, one result is kept, and every caller gets that one.
///   A function written `-> Result<T, E>` gives `Result<&T, E>` and keeps
///   only `Ok` values. A panic keeps nothing.
/// - `#[cache_eager] fn f(&self) -> V` gives `fn f(&self) -> &V` on
///   [`EagerValue`]: `new` queues the computation on a background thread; a
///   call before it is ready computes the value itself rather than wait, so
///   it never sees a missing value. The result is kept as is, `Err` included.
///
/// The computation must be deterministic (callers cannot tell which racing
/// result was kept). The struct, and each cached value, must be `Send + Sync
/// + 'static` (for a generic struct, so must each type parameter). Options,
/// in `#[immutable(..)]`: `handle = "Name"`, `bound = "T: Trait, .."` and
/// `crate = "path"`, as for [`Transactional`].
///
/// ```
/// use steadfast::{methods, Immutable};
///
/// #[derive(Debug, Immutable)] // generates `ImmPolygon`
/// struct Polygon { points: Vec<(f64, f64)> }
///
/// #[methods(immutable)]
/// impl Polygon {
///     #[cache_lazy]
///     fn perimeter(&self) -> f64 {
///         let n = self.points.len();
///         (0..n).map(|i| {
///             let ((x1, y1), (x2, y2)) = (self.points[i], self.points[(i + 1) % n]);
///             ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt()
///         }).sum()
///     }
///
///     #[cache_eager]
///     fn label(&self) -> String { format!("{} points", self.points.len()) }
/// }
///
/// let square = ImmPolygon::new(Polygon { points: vec![(0., 0.), (1., 0.), (1., 1.), (0., 1.)] });
/// assert_eq!(*square.perimeter(), 4.0);
/// assert!(std::ptr::eq(square.perimeter(), square.clone().perimeter())); // kept once
/// assert_eq!(square.label(), "4 points");
/// assert_eq!(square.points.len(), 4); // `Deref` to the plain value
/// ```
pub use steadfast_macros::Immutable;

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
