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

pub use steadfast_core::*;

/// What generated code refers to. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use steadfast_core;
}
