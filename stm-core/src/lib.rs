//! The software transactional memory engine under `steadfast`.
//!
//! TL2-style: a global version clock, one versioned lock per variable,
//! buffered writes, commit-time locking and validation. Running transactions
//! always see a consistent snapshot (opacity). On top of it: blocking
//! [`retry`], [`Transaction::or_else`], commit and abort hooks, invariants
//! checked only when what they read is written, and lazy and eager caches.
//!
//! ```
//! use steadfast_core::{atomically, TVar};
//! let from = TVar::new(10i64);
//! let to = TVar::new(0i64);
//! atomically(|tx| {
//!     from.modify(tx, |b| b - 3)?;
//!     to.modify(tx, |b| b + 3)
//! });
//! assert_eq!((from.load(), to.load()), (7, 3));
//! ```

#![warn(missing_docs)]

mod sync;

pub mod clock;
pub mod lock;
pub mod reclaim;
pub mod wait;

#[cfg(not(loom))]
mod atomically;
#[cfg(not(loom))]
mod backoff;
#[cfg(not(loom))]
mod cache;
#[cfg(not(loom))]
mod check;
#[cfg(not(loom))]
mod eager;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod immutable;
#[cfg(not(loom))]
mod inline;
#[cfg(not(loom))]
mod lease;
#[cfg(not(loom))]
mod node;
#[cfg(not(loom))]
mod plain_log;
#[cfg(all(test, not(loom)))]
mod quick_commit_tests;
#[cfg(all(test, not(loom)))]
mod rmw_tests;
#[cfg(not(loom))]
mod serial;
#[cfg(not(loom))]
mod stats;
#[cfg(not(loom))]
mod tbqueue;
#[cfg(not(loom))]
mod tmvar;
#[cfg(not(loom))]
mod tqueue;
#[cfg(not(loom))]
mod transaction;
#[cfg(not(loom))]
mod tsem;
#[cfg(not(loom))]
mod tvar;
#[cfg(not(loom))]
mod var;

#[cfg(not(loom))]
pub use atomically::{abort, atomically, atomically_or_failure, retry, try_atomically};
#[cfg(not(loom))]
pub use cache::LazyCache;
#[cfg(not(loom))]
pub use check::{CheckError, CheckResult};
#[cfg(not(loom))]
pub use eager::EagerCache;
#[cfg(not(loom))]
pub use error::{Abort, Failure, InvariantViolation, StmError, StmResult, TransactionError};
#[cfg(not(loom))]
pub use immutable::{EagerValue, LazyValue};
#[cfg(not(loom))]
pub use lease::in_transaction;
#[cfg(not(loom))]
pub use stats::{stats, thread_stats, Stats};
#[cfg(not(loom))]
pub use tbqueue::TBQueue;
#[cfg(not(loom))]
pub use tmvar::TMVar;
#[cfg(not(loom))]
pub use tqueue::TQueue;
#[cfg(not(loom))]
pub use transaction::Transaction;
#[cfg(not(loom))]
pub use tsem::TSem;
#[cfg(not(loom))]
pub use tvar::TVar;
