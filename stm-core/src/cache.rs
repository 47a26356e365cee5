//! `LazyCache<V>`: a value computed on first use from transactional state and
//! invalidated exactly when something it read is written.

use crate::error::StmResult;
use crate::lock::Version;
use crate::node::{Invalidate, Node, NodeKind};
use crate::transaction::Transaction;
use crate::tvar::TVar;
use std::fmt;
use std::sync::{Arc, Weak};

struct LazyInner<V: Send + Sync + 'static> {
    /// `None` until computed, and again after each invalidation; the value
    /// comes with the snapshot (read version) it was computed in.
    cell: TVar<Option<(V, Version)>>,
    node: Arc<Node>,
}

impl<V: Send + Sync + 'static> Drop for LazyInner<V> {
    fn drop(&mut self) {
        self.node.detach_everywhere();
    }
}

impl<V: Clone + Send + Sync + 'static> Invalidate for LazyInner<V> {
    fn invalidate(&self, tx: &mut Transaction) -> StmResult<()> {
        self.cell.write(tx, None)
    }
}

/// A lazily computed value over transactional state.
///
/// [`LazyCache::get`] returns the stored value if nothing it was computed from
/// has been written since; otherwise it computes, and stores the result when
/// it reflects committed state. Inside a transaction that has written one of
/// its inputs, `get` computes from the transaction's own view and stores
/// nothing, so it never returns a stale value. Errors and panics are never
/// cached. Two transactions filling the same empty cache do not conflict.
///
/// ```
/// use steadfast_core::{atomically, LazyCache, TVar};
/// let items = TVar::new(vec![3, 1, 2]);
/// let max = LazyCache::new();
/// let compute = |tx: &mut _| Ok(items.read(tx)?.into_iter().max());
/// assert_eq!(atomically(|tx| max.get(tx, compute)), Some(3));
/// atomically(|tx| items.modify(tx, |mut v| { v.push(9); v }));
/// assert_eq!(atomically(|tx| max.get(tx, compute)), Some(9));
/// ```
pub struct LazyCache<V: Send + Sync + 'static> {
    inner: Arc<LazyInner<V>>,
}

impl<V: Clone + Send + Sync + 'static> LazyCache<V> {
    /// An empty cache.
    pub fn new() -> Self {
        let inner = Arc::new_cyclic(|weak: &Weak<LazyInner<V>>| {
            let weak: Weak<dyn Invalidate> = weak.clone();
            LazyInner {
                cell: TVar::new(None),
                node: Node::new(NodeKind::Lazy { cache: weak }),
            }
        });
        LazyCache { inner }
    }

    /// The cached value, or `compute`'s result (stored for next time).
    ///
    /// `compute` must be a deterministic function of what it reads through
    /// `tx`: that is what makes the stored value reusable.
    pub fn get<F>(&self, tx: &mut Transaction, compute: F) -> StmResult<V>
    where
        F: FnOnce(&mut Transaction) -> StmResult<V>,
    {
        let value = tx.cache_get(&self.inner.cell, &self.inner.node, |tx| {
            compute(tx).map(Ok::<V, std::convert::Infallible>)
        })?;
        match value {
            Ok(value) => Ok(value),
            Err(never) => match never {},
        }
    }

    /// Like [`LazyCache::get`] for a fallible computation: an `Ok` value is
    /// stored, an `Err` is returned to the caller and never stored, so the
    /// next call computes again.
    ///
    /// ```
    /// use steadfast_core::{atomically, LazyCache, TVar};
    /// let text = TVar::new(String::from("x"));
    /// let parsed: LazyCache<u32> = LazyCache::new();
    /// let parse = |tx: &mut _| Ok(text.read(tx)?.parse::<u32>());
    /// assert!(atomically(|tx| parsed.try_get(tx, parse)).is_err());
    /// assert!(!parsed.is_filled());
    /// atomically(|tx| text.write(tx, "42".into()));
    /// assert_eq!(atomically(|tx| parsed.try_get(tx, parse)), Ok(42));
    /// assert!(parsed.is_filled());
    /// ```
    pub fn try_get<E, F>(&self, tx: &mut Transaction, compute: F) -> StmResult<Result<V, E>>
    where
        F: FnOnce(&mut Transaction) -> StmResult<Result<V, E>>,
    {
        tx.cache_get(&self.inner.cell, &self.inner.node, compute)
    }

    /// Whether a value is stored right now (outside any transaction).
    pub fn is_filled(&self) -> bool {
        self.inner.cell.load().is_some()
    }

    /// Drops the stored value when the transaction commits.
    pub fn invalidate(&self, tx: &mut Transaction) -> StmResult<()> {
        self.inner.cell.write(tx, None)
    }
}

impl<V: Clone + Send + Sync + 'static> Default for LazyCache<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: Send + Sync + 'static> Clone for LazyCache<V> {
    fn clone(&self) -> Self {
        LazyCache {
            inner: self.inner.clone(),
        }
    }
}

impl<V: Clone + fmt::Debug + Send + Sync + 'static> fmt::Debug for LazyCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LazyCache")
            .field(&self.inner.cell.load().map(|(value, _)| value))
            .finish()
    }
}
