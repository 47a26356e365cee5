//! `TVar<T>`: a transactional variable.

use crate::clock::GLOBAL_CLOCK;
use crate::error::StmResult;
use crate::inline::{from_bits, is_inline, to_bits};
use crate::transaction::Transaction;
use crate::var::{ErasedVar, VarCore};
use crossbeam_epoch::{self as epoch, Atomic, Guard, Owned};
use std::any::Any;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The shared allocation behind every handle of one variable. `repr(C)`
/// puts the core first: its address is the variable's identity everywhere.
#[repr(C)]
pub(crate) struct TVarInner<T> {
    pub(crate) core: VarCore,
    /// The current value. Values are immutable once published: a commit swaps
    /// in a new allocation and retires the old one through the epoch collector,
    /// so a reader may clone the value it loaded while a writer replaces it.
    value: Atomic<T>,
}

impl<T> Drop for TVarInner<T> {
    fn drop(&mut self) {
        let value = std::mem::replace(&mut self.value, Atomic::null());
        // SAFETY: we are the last owner (`&mut self`). Handles release the
        // inner only after every transaction that could reach it has ended
        // (`reclaim.rs`), and `TVar::load` holds a handle while it reads, so
        // no reader can still use the value. Inline values leave it null.
        unsafe {
            let guard = epoch::unprotected();
            if !value.load(Ordering::Relaxed, guard).is_null() {
                drop(value.into_owned());
            }
        }
    }
}

impl<T: Send + Sync + 'static> ErasedVar for TVarInner<T> {
    #[inline]
    fn core(&self) -> &VarCore {
        &self.core
    }

    fn publish(&self, value: Box<dyn Any + Send>, guard: &Guard) {
        let value = value
            .downcast::<T>()
            .expect("write log entry holds a value of the variable's type");
        self.install(Owned::from(value), guard);
    }
}

impl<T: Send + Sync + 'static> TVarInner<T> {
    /// Swaps in `value` and retires the old one. The caller holds the lock.
    pub(crate) fn install(&self, value: Owned<T>, guard: &Guard) {
        let old = self.value.swap(value, Ordering::AcqRel, guard);
        // SAFETY: `old` was the published value; it is now unreachable from the
        // variable, and readers that loaded it are pinned, so the collector frees
        // it only after they are done.
        unsafe { guard.defer_destroy(old) };
    }

    /// The current value of an inline type. The caller checks the lock word
    /// before and after to know whether it is consistent.
    #[inline]
    pub(crate) fn load_inline(&self) -> T {
        debug_assert!(is_inline::<T>());
        from_bits(self.core.bits.load(Ordering::Acquire))
    }

    /// A clone of the current boxed value; checked like `load_inline`.
    #[inline]
    pub(crate) fn load_boxed(&self, guard: &Guard) -> T
    where
        T: Clone,
    {
        self.value_ref(guard).clone()
    }

    /// The current boxed value (valid while `guard` is held).
    #[inline]
    pub(crate) fn value_ref<'g>(&self, guard: &'g Guard) -> &'g T {
        let shared = self.value.load(Ordering::Acquire, guard);
        // SAFETY: the pointer is never null while the variable lives (set in
        // `new`, swapped only for other non-null values), and the value it points
        // to is retired through `guard`'s collector, so it stays valid while
        // `guard` pins this thread.
        unsafe { shared.deref() }
    }
}

/// A transactional variable: a shared, mutable cell that transactions read
/// and write atomically.
///
/// Cloning a `TVar` gives another handle to the same variable. Reads and
/// writes happen inside [`atomically`](crate::atomically); [`TVar::load`]
/// reads a consistent value outside any transaction.
///
/// ```
/// use steadfast_core::{atomically, TVar};
/// let balance = TVar::new(10i64);
/// atomically(|tx| balance.modify(tx, |b| b - 3));
/// assert_eq!(balance.load(), 7);
/// ```
pub struct TVar<T: Send + Sync + 'static> {
    pub(crate) inner: ManuallyDrop<Arc<TVarInner<T>>>,
}

impl<T: Send + Sync + 'static> TVar<T> {
    /// A new variable holding `value`.
    pub fn new(value: T) -> Self {
        let core = VarCore::new(GLOBAL_CLOCK.now());
        let value = if is_inline::<T>() {
            core.bits.store(to_bits(&value), Ordering::Relaxed);
            Atomic::null()
        } else {
            Atomic::new(value)
        };
        TVar {
            inner: ManuallyDrop::new(Arc::new(TVarInner { core, value })),
        }
    }

    /// Whether two handles refer to the same variable.
    pub fn ptr_eq(&self, other: &TVar<T>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn erased(&self) -> *const dyn ErasedVar {
        let inner: &TVarInner<T> = &self.inner;
        inner as &dyn ErasedVar as *const dyn ErasedVar
    }

    pub(crate) fn core(&self) -> &VarCore {
        &self.inner.core
    }

    /// Lends the value to `f` inside a transaction, without cloning it, and
    /// returns what `f` returns.
    ///
    /// Sees what [`TVar::read`] would see. Use it to look into a big value
    /// (a `Vec`, a `String`, a map) without copying it, or to read a value
    /// whose type is not `Clone`.
    ///
    /// ```
    /// use steadfast_core::{atomically, TVar};
    /// let names = TVar::new(vec![String::from("ann"), String::from("bob")]);
    /// let longest = atomically(|tx| {
    ///     names.read_with(tx, |names| names.iter().map(|n| n.len()).max())
    /// });
    /// assert_eq!(longest, Some(3));
    /// ```
    #[inline]
    pub fn read_with<R>(&self, tx: &mut Transaction, f: impl FnOnce(&T) -> R) -> StmResult<R> {
        tx.read_var_with(self, f)
    }
}

impl<T: Clone + Send + Sync + 'static> TVar<T> {
    /// Reads the variable inside a transaction.
    ///
    /// Sees the transaction's own earlier writes; otherwise the value as of the
    /// transaction's snapshot. Fails with a conflict (which re-runs the
    /// transaction) if the snapshot can no longer be kept consistent.
    #[inline]
    pub fn read(&self, tx: &mut Transaction) -> StmResult<T> {
        tx.read_var(self)
    }

    /// Writes the variable inside a transaction. Nothing is visible to other
    /// threads until the transaction commits.
    #[inline]
    pub fn write(&self, tx: &mut Transaction, value: T) -> StmResult<()> {
        tx.write_var(self, value)
    }

    /// Replaces the value with `f(old)`.
    #[inline]
    pub fn modify<F: FnOnce(T) -> T>(&self, tx: &mut Transaction, f: F) -> StmResult<()> {
        tx.modify_var(self, f)
    }

    /// Changes the value in place with `f` and returns what `f` returns.
    ///
    /// The first change in a transaction starts from a copy of the value; later
    /// ones change the transaction's own buffered copy without copying it
    /// again, so a series of small changes to a big value clones it once.
    ///
    /// ```
    /// use steadfast_core::{atomically, TVar};
    /// let log = TVar::new(vec![1, 2]);
    /// let len = atomically(|tx| {
    ///     log.update(tx, |v| v.push(3))?;
    ///     log.update(tx, |v| v.len())
    /// });
    /// assert_eq!(len, 3);
    /// assert_eq!(log.load(), [1, 2, 3]);
    /// ```
    #[inline]
    pub fn update<R>(&self, tx: &mut Transaction, f: impl FnOnce(&mut T) -> R) -> StmResult<R> {
        tx.update_var(self, f)
    }

    /// Writes `value` and returns the previous value.
    pub fn replace(&self, tx: &mut Transaction, value: T) -> StmResult<T> {
        let old = self.read(tx)?;
        self.write(tx, value)?;
        Ok(old)
    }

    /// Writes `new` if the current value equals `expected`; says whether it did.
    pub fn compare_and_set(&self, tx: &mut Transaction, expected: &T, new: T) -> StmResult<bool>
    where
        T: PartialEq,
    {
        if self.read(tx)? == *expected {
            self.write(tx, new)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Reads the latest committed value outside any transaction.
    ///
    /// The value is consistent (never a half-published commit). Inside a
    /// transaction use [`TVar::read`], which also sees the transaction's own writes.
    pub fn load(&self) -> T {
        // Only a boxed value can be retired while we clone it.
        let guard = (!is_inline::<T>()).then(epoch::pin);
        let mut spins = 0u32;
        loop {
            let before = self.inner.core.lock.load();
            if !before.is_locked() {
                let value = match &guard {
                    Some(guard) => self.inner.load_boxed(guard),
                    None => self.inner.load_inline(),
                };
                if self.inner.core.lock.load() == before {
                    return value;
                }
            }
            crate::backoff::spin(&mut spins);
        }
    }
}

impl<T: Send + Sync + 'static> Clone for TVar<T> {
    fn clone(&self) -> Self {
        TVar {
            inner: ManuallyDrop::new(Arc::clone(&self.inner)),
        }
    }
}

impl<T: Send + Sync + 'static> Drop for TVar<T> {
    fn drop(&mut self) {
        // SAFETY: `inner` is never used again after this line.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        // Transactions keep raw pointers to variables they touched until they
        // end: release this handle only after every such transaction is done.
        crate::reclaim::global::retire(inner);
    }
}

impl<T: Default + Send + Sync + 'static> Default for TVar<T> {
    fn default() -> Self {
        TVar::new(T::default())
    }
}

impl<T: Clone + fmt::Debug + Send + Sync + 'static> fmt::Debug for TVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TVar").field(&self.load()).finish()
    }
}
