//! `EagerCache<V>`: a derived value recomputed at the end of every transaction
//! that writes what it read, so reading it never computes.

use crate::error::{Failure, StmError, StmResult};
use crate::node::{Node, NodeKind};
use crate::transaction::Transaction;
use crate::tvar::TVar;
use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Weak};

thread_local! {
    /// The eager caches this thread is computing inside `get` right now.
    static COMPUTING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks one eager cache as computing inside `get` while it lives. Caches
/// defined through each other would otherwise recurse until the stack
/// overflows: meeting a cache again inside its own computation is a cycle.
struct Computing(usize);

impl Computing {
    fn enter(id: usize) -> StmResult<Computing> {
        COMPUTING.with(|c| {
            let mut c = c.borrow_mut();
            if c.contains(&id) {
                return Err(StmError::failed(Failure::DerivationCycle));
            }
            c.push(id);
            Ok(Computing(id))
        })
    }
}

impl Drop for Computing {
    fn drop(&mut self) {
        let _ = COMPUTING.try_with(|c| {
            let mut c = c.borrow_mut();
            if let Some(i) = c.iter().rposition(|&id| id == self.0) {
                c.remove(i);
            }
        });
    }
}

/// Computes the value; `None` means the owner it computes from is gone.
type ComputeFn<V> = dyn Fn(&mut Transaction) -> StmResult<Option<V>> + Send + Sync;

struct EagerInner<V: Send + Sync + 'static> {
    value: TVar<Option<V>>,
    compute: Arc<ComputeFn<V>>,
    node: Arc<Node>,
}

impl<V: Send + Sync + 'static> Drop for EagerInner<V> {
    fn drop(&mut self) {
        self.node.detach_everywhere();
    }
}

/// An eagerly maintained derived value (L42's `Cache.Now`).
///
/// Created inside a transaction, which computes it once. Afterwards every
/// transaction that writes something the computation read recomputes it
/// before its own writes become visible, so [`EagerCache::get`] only reads.
/// Inside a transaction that has written an input, `get` computes from that
/// transaction's view instead, so it never returns a stale value.
///
/// ```
/// use steadfast_core::{atomically, EagerCache, TVar};
/// let price = TVar::new(10u32);
/// let qty = TVar::new(3u32);
/// let (p, q) = (price.clone(), qty.clone());
/// let total = atomically(|tx| {
///     let (p, q) = (p.clone(), q.clone());
///     EagerCache::new(tx, move |tx| Ok(p.read(tx)? * q.read(tx)?))
/// });
/// atomically(|tx| qty.write(tx, 4));
/// assert_eq!(atomically(|tx| total.get(tx)), 40);
/// ```
pub struct EagerCache<V: Send + Sync + 'static> {
    inner: Arc<EagerInner<V>>,
}

impl<V: Clone + Send + Sync + 'static> EagerCache<V> {
    /// Computes the value now and keeps it up to date from then on. The
    /// computation must only read (through `tx`) and be deterministic.
    ///
    /// The computation lives as long as any variable it reads: if it captures
    /// a strong handle to a variable it reads, neither is ever freed. To
    /// derive from an object's fields, use [`EagerCache::new_owned`].
    pub fn new<F>(tx: &mut Transaction, compute: F) -> StmResult<Self>
    where
        F: Fn(&mut Transaction) -> StmResult<V> + Send + Sync + 'static,
    {
        Self::build(
            tx,
            Arc::new(move |tx: &mut Transaction| compute(tx).map(Some)),
        )
    }

    /// Like [`EagerCache::new`], computing from `owner`, which the cache
    /// holds only weakly: once the owner is dropped the cache stops
    /// recomputing, and no reference cycle keeps either alive.
    pub fn new_owned<O, F>(tx: &mut Transaction, owner: &Arc<O>, compute: F) -> StmResult<Self>
    where
        O: Send + Sync + 'static,
        F: Fn(&O, &mut Transaction) -> StmResult<V> + Send + Sync + 'static,
    {
        let owner = Arc::downgrade(owner);
        Self::build(
            tx,
            Arc::new(move |tx: &mut Transaction| match owner.upgrade() {
                Some(owner) => compute(&owner, tx).map(Some),
                None => Ok(None),
            }),
        )
    }

    fn build(tx: &mut Transaction, compute: Arc<ComputeFn<V>>) -> StmResult<Self> {
        let inner = Arc::new_cyclic(|weak: &Weak<EagerInner<V>>| {
            let weak = weak.clone();
            let run = compute.clone();
            let recompute = move |tx: &mut Transaction| -> StmResult<()> {
                // The cache or its owner is gone: nothing to keep up to date.
                let Some(inner) = weak.upgrade() else {
                    return Ok(());
                };
                match run(tx)? {
                    Some(value) => tx.write_var(&inner.value, Some(value)),
                    None => Ok(()),
                }
            };
            EagerInner {
                value: TVar::new(None),
                compute,
                node: Node::new(NodeKind::Eager {
                    recompute: Box::new(recompute),
                }),
            }
        });
        tx.run_registered(&inner.node)?;
        Ok(EagerCache { inner })
    }

    /// The current value. Never computes, except inside a transaction that
    /// has itself written one of the inputs.
    pub fn get(&self, tx: &mut Transaction) -> StmResult<V> {
        let stored = self.inner.value.read(tx)?;
        let id = Arc::as_ptr(&self.inner) as *const () as usize;
        // A commit that changes the cache's inputs publishes the value before
        // it records the new inputs, and holds the node's meta lock until it
        // has: while it is held, the recorded inputs may be the old ones.
        let node = &self.inner.node;
        if tx.has_writes() && (node.meta.load().is_locked() || tx.wrote_any(&node.dep_addrs())) {
            let _computing = Computing::enter(id)?;
            if let Some(fresh) = (self.inner.compute)(tx)? {
                return Ok(fresh);
            }
        }
        match stored {
            Some(value) => Ok(value),
            None => {
                let _computing = Computing::enter(id)?;
                (self.inner.compute)(tx)?.ok_or_else(|| {
                    // Only reachable for a cache whose creating transaction never
                    // committed and whose owner is gone: nothing to derive from.
                    StmError::failed(Failure::OwnerGone)
                })
            }
        }
    }
}

impl<V: Send + Sync + 'static> Clone for EagerCache<V> {
    fn clone(&self) -> Self {
        EagerCache {
            inner: self.inner.clone(),
        }
    }
}

impl<V: Clone + fmt::Debug + Send + Sync + 'static> fmt::Debug for EagerCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EagerCache")
            .field(&self.inner.value.load())
            .finish()
    }
}
