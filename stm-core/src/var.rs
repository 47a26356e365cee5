//! The type-erased part of a transactional variable: what the commit protocol,
//! the wake-up protocol and the dependency graph need, whatever the value type.

use crate::lock::VersionedLock;
use crate::node::Node;
use crate::sync::{lock, AtomicU64, Mutex, Ordering};
use crate::wait::WaitList;
use crossbeam_epoch::Guard;
use smallvec::SmallVec;
use std::any::Any;
use std::sync::{Arc, Weak};

/// Everything about a variable except its value. The fields every read and
/// commit touch come first, in one cache line.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct VarCore {
    pub(crate) lock: VersionedLock,
    /// The value itself, for word-sized primitive types (see `inline.rs`).
    pub(crate) bits: AtomicU64,
    /// Counts additions to `dependents`; 0 means "never had any".
    /// A committer compares it before and after locking to catch a
    /// dependent attached concurrently (the registration race).
    dependents_added: AtomicU64,
    pub(crate) waiters: WaitList,
    /// Invariants and caches that read this variable on their last run.
    dependents: Mutex<SmallVec<[Arc<Node>; 2]>>,
}

impl VarCore {
    pub(crate) fn new(version: u64) -> Self {
        VarCore {
            lock: VersionedLock::new(version),
            bits: AtomicU64::new(0),
            waiters: WaitList::new(),
            dependents: Mutex::new(SmallVec::new()),
            dependents_added: AtomicU64::new(0),
        }
    }

    /// The generation of the dependents list (SeqCst: pairs with `attach`).
    #[inline]
    pub(crate) fn dependents_generation(&self) -> u64 {
        self.dependents_added.load(Ordering::SeqCst)
    }

    /// Calls `f` on each dependent, under the list's lock (`f` must not
    /// touch the list).
    pub(crate) fn for_each_dependent(&self, mut f: impl FnMut(&Arc<Node>)) {
        for node in lock(&self.dependents).iter() {
            f(node);
        }
    }

    pub(crate) fn attach(&self, node: &Arc<Node>) {
        let mut list = lock(&self.dependents);
        list.push(node.clone());
        crate::sync::rmw::count();
        self.dependents_added.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn detach(&self, node: &Arc<Node>) {
        let mut list = lock(&self.dependents);
        if let Some(i) = list.iter().position(|n| Arc::ptr_eq(n, node)) {
            list.swap_remove(i);
        }
    }
}

/// A variable seen without its value type.
pub(crate) trait ErasedVar: Send + Sync + 'static {
    fn core(&self) -> &VarCore;
    /// Installs `value` (a `Box<T>` of the variable's type) as the current value.
    /// The caller holds the variable's lock.
    fn publish(&self, value: Box<dyn Any + Send>, guard: &Guard);
}

/// A dependency edge from a node to a variable it read. Weak, so a node never
/// keeps variables alive (variables keep their dependents alive instead).
pub(crate) type DepRef = Weak<dyn ErasedVar>;

/// The address identifying a dependency (stable while the variable lives).
#[inline]
pub(crate) fn dep_addr(dep: &DepRef) -> usize {
    dep.as_ptr() as *const () as usize
}

/// A variable the running attempt read, by address (from `TVar::erased`):
/// recording a read this way touches no reference count. Only reads that
/// become a node's new dependencies are turned into [`DepRef`]s.
pub(crate) type RawDep = *const dyn ErasedVar;

/// The address identifying a raw dependency, as [`dep_addr`] gives it.
#[inline]
pub(crate) fn raw_addr(dep: RawDep) -> usize {
    dep as *const () as usize
}

/// A weak reference to a variable the running attempt read.
///
/// # Safety
/// `dep` comes from `TVar::erased` on a variable the running attempt reached,
/// and that attempt has not ended. The variable's `Arc` then still has a
/// strong count above zero: a handle dropped meanwhile was retired, not
/// released (`reclaim.rs`).
pub(crate) unsafe fn to_dep_ref(dep: RawDep) -> DepRef {
    // SAFETY: `dep` points into a live `Arc` allocation of the variable (see
    // above), as `Arc::as_ptr` would give it. The `Arc` is never dropped, so
    // the strong count it does not own stays untouched; only the weak count
    // goes up, for the `Weak` returned.
    let arc = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(dep) });
    Arc::downgrade(&arc)
}

/// [`to_dep_ref`] on each of `deps`.
///
/// # Safety
/// As for [`to_dep_ref`], for every element.
pub(crate) unsafe fn to_dep_refs(deps: &[RawDep]) -> Vec<DepRef> {
    deps.iter()
        // SAFETY: the caller's promise, element by element.
        .map(|&dep| unsafe { to_dep_ref(dep) })
        .collect()
}
