//! Dependent computations: invariants, eager caches and lazy caches.
//!
//! A node remembers the variables it read on its last run (its dependencies,
//! held weakly) and each of those variables holds the node strongly. So a node
//! lives exactly as long as something it depends on, and never keeps its
//! dependencies alive. A commit that writes a variable finds the nodes to run
//! (or caches to invalidate) in that variable's dependents list: it pays only
//! for what it wrote, however many objects and invariants exist.

use crate::error::StmResult;
use crate::lock::VersionedLock;
use crate::sync::{lock, Mutex};
use crate::transaction::Transaction;
use crate::var::{dep_addr, raw_addr, DepRef, RawDep};
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Weak};

/// A check: `Ok` if the invariant holds, otherwise why not.
pub(crate) type CheckFn = dyn Fn(&mut Transaction) -> Result<(), String> + Send + Sync;
/// A recomputation that writes its result into the transaction.
pub(crate) type RecomputeFn = dyn Fn(&mut Transaction) -> StmResult<()> + Send + Sync;

/// What a lazy cache exposes to the commit that must invalidate it.
pub(crate) trait Invalidate: Send + Sync {
    fn invalidate(&self, tx: &mut Transaction) -> StmResult<()>;
}

pub(crate) enum NodeKind {
    Invariant {
        name: Cow<'static, str>,
        check: Box<CheckFn>,
    },
    Eager {
        recompute: Box<RecomputeFn>,
    },
    Lazy {
        cache: Weak<dyn Invalidate>,
    },
}

pub(crate) struct Node {
    /// Guards `deps`: a transaction that changes them locks it at commit, so
    /// two commits never race to rewrite one node's edges. Lazy caches use
    /// their cell's lock instead and leave this one alone.
    pub(crate) meta: VersionedLock,
    /// What the node read on its last committed run, sorted by address.
    pub(crate) deps: Mutex<Vec<DepRef>>,
    pub(crate) kind: NodeKind,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            NodeKind::Invariant { name, .. } => format!("invariant `{name}`"),
            NodeKind::Eager { .. } => "eager cache".to_string(),
            NodeKind::Lazy { .. } => "lazy cache".to_string(),
        };
        f.debug_struct("Node").field("kind", &kind).finish()
    }
}

impl Node {
    pub(crate) fn new(kind: NodeKind) -> Arc<Node> {
        Arc::new(Node {
            meta: VersionedLock::new(0),
            deps: Mutex::new(Vec::new()),
            kind,
        })
    }

    pub(crate) fn is_invariant(&self) -> bool {
        matches!(self.kind, NodeKind::Invariant { .. })
    }

    /// The addresses of the current dependencies (sorted).
    pub(crate) fn dep_addrs(&self) -> Vec<usize> {
        lock(&self.deps).iter().map(dep_addr).collect()
    }

    /// Detaches the node from every variable it depends on: the cache it
    /// serves is gone, so nothing must keep it (and what its computation
    /// captured) alive, nor make later commits visit it.
    pub(crate) fn detach_everywhere(self: &Arc<Node>) {
        let deps = std::mem::take(&mut *lock(&self.deps));
        if deps.is_empty() {
            return;
        }
        for dep in deps {
            if let Some(var) = dep.upgrade() {
                var.core().detach(self);
                // Running transactions may hold raw pointers to the variable:
                // release this reference only after they are done.
                crate::reclaim::global::retire(var);
            }
        }
    }
}

/// Sorts and deduplicates captured reads, in place, into a dependency list.
pub(crate) fn normalize(deps: &mut Vec<DepRef>) {
    deps.sort_by_key(dep_addr);
    deps.dedup_by_key(|d| dep_addr(d));
}

/// Sorts and deduplicates raw captured reads, in place.
pub(crate) fn normalize_raw(deps: &mut Vec<RawDep>) {
    deps.sort_unstable_by_key(|&d| raw_addr(d));
    deps.dedup_by_key(|d| raw_addr(*d));
}

/// The difference between two sorted dependency lists: (added, removed).
pub(crate) fn diff(old: &[DepRef], new: &[DepRef]) -> (Vec<DepRef>, Vec<DepRef>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let a = old.get(i).map(dep_addr);
        let b = new.get(j).map(dep_addr);
        match (a, b) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                removed.push(old[i].clone());
                i += 1;
            }
            (Some(_), None) => {
                removed.push(old[i].clone());
                i += 1;
            }
            _ => {
                added.push(new[j].clone());
                j += 1;
            }
        }
    }
    (added, removed)
}
