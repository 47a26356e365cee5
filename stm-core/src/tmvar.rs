//! `TMVar<T>`: a transactional one-slot box, empty or full.

use crate::{retry, StmResult, TVar, Transaction};
use std::fmt;

/// A slot that is either empty or holds one value: a mailbox between threads,
/// a lock that carries data, or a one-shot result.
///
/// [`take`](TMVar::take) blocks while it is empty and [`put`](TMVar::put)
/// while it is full. Cloning a `TMVar` gives another handle to the same slot.
///
/// ```
/// use steadfast_core::{atomically, TMVar};
/// let result = TMVar::new_empty();
/// let worker = {
///     let result = result.clone();
///     std::thread::spawn(move || atomically(|tx| result.put(tx, 6 * 7)))
/// };
/// assert_eq!(atomically(|tx| result.take(tx)), 42); // blocks until the worker puts
/// worker.join().unwrap();
/// ```
pub struct TMVar<T: Send + Sync + 'static> {
    slot: TVar<Option<T>>,
}

impl<T: Clone + Send + Sync + 'static> TMVar<T> {
    /// A full slot holding `value`.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m = TMVar::new(1);
    /// assert!(!atomically(|tx| m.is_empty(tx)));
    /// ```
    pub fn new(value: T) -> Self {
        TMVar {
            slot: TVar::new(Some(value)),
        }
    }

    /// An empty slot.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m: TMVar<u8> = TMVar::new_empty();
    /// assert!(atomically(|tx| m.is_empty(tx)));
    /// ```
    pub fn new_empty() -> Self {
        TMVar {
            slot: TVar::new(None),
        }
    }

    /// Empties the slot and returns its value; [`retry`]s while it is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m = TMVar::new("token");
    /// assert_eq!(atomically(|tx| m.take(tx)), "token");
    /// assert!(atomically(|tx| m.is_empty(tx)));
    /// ```
    pub fn take(&self, tx: &mut Transaction) -> StmResult<T> {
        match self.try_take(tx)? {
            Some(value) => Ok(value),
            None => retry(),
        }
    }

    /// Empties the slot and returns its value, or `None` if it was empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m = TMVar::new(3);
    /// assert_eq!(atomically(|tx| m.try_take(tx)), Some(3));
    /// assert_eq!(atomically(|tx| m.try_take(tx)), None);
    /// ```
    pub fn try_take(&self, tx: &mut Transaction) -> StmResult<Option<T>> {
        let value = self.slot.read(tx)?;
        if value.is_some() {
            self.slot.write(tx, None)?;
        }
        Ok(value)
    }

    /// Fills the slot with `value`; [`retry`]s while it is full.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m = TMVar::new_empty();
    /// atomically(|tx| m.put(tx, 'q'));
    /// assert_eq!(atomically(|tx| m.read(tx)), 'q');
    /// ```
    pub fn put(&self, tx: &mut Transaction, value: T) -> StmResult<()> {
        if self.try_put(tx, value)? {
            Ok(())
        } else {
            retry()
        }
    }

    /// Fills the slot with `value` if it is empty and says whether it did.
    /// A full slot keeps its value: `false` means `value` was not stored (and
    /// is dropped), never that the old value was lost.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m = TMVar::new_empty();
    /// assert!(atomically(|tx| m.try_put(tx, 1)));
    /// assert!(!atomically(|tx| m.try_put(tx, 2)));
    /// assert_eq!(atomically(|tx| m.take(tx)), 1);
    /// ```
    pub fn try_put(&self, tx: &mut Transaction, value: T) -> StmResult<bool> {
        if self.is_empty(tx)? {
            self.slot.write(tx, Some(value))?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Returns a copy of the value, leaving the slot full; [`retry`]s while it
    /// is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m = TMVar::new(5);
    /// assert_eq!(atomically(|tx| m.read(tx)), 5);
    /// assert_eq!(atomically(|tx| m.read(tx)), 5);
    /// ```
    pub fn read(&self, tx: &mut Transaction) -> StmResult<T> {
        match self.try_read(tx)? {
            Some(value) => Ok(value),
            None => retry(),
        }
    }

    /// Returns a copy of the value, or `None` if the slot is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m: TMVar<i32> = TMVar::new_empty();
    /// assert_eq!(atomically(|tx| m.try_read(tx)), None);
    /// ```
    pub fn try_read(&self, tx: &mut Transaction) -> StmResult<Option<T>> {
        self.slot.read(tx)
    }

    /// Whether the slot is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m = TMVar::new(0);
    /// atomically(|tx| m.take(tx));
    /// assert!(atomically(|tx| m.is_empty(tx)));
    /// ```
    pub fn is_empty(&self, tx: &mut Transaction) -> StmResult<bool> {
        Ok(self.slot.read(tx)?.is_none())
    }

    /// Replaces the value with `value` and returns the old one; [`retry`]s
    /// while the slot is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TMVar};
    /// let m = TMVar::new(1);
    /// assert_eq!(atomically(|tx| m.swap(tx, 2)), 1);
    /// assert_eq!(atomically(|tx| m.read(tx)), 2);
    /// ```
    pub fn swap(&self, tx: &mut Transaction, value: T) -> StmResult<T> {
        match self.slot.read(tx)? {
            Some(old) => {
                self.slot.write(tx, Some(value))?;
                Ok(old)
            }
            None => retry(),
        }
    }
}

impl<T: Send + Sync + 'static> Clone for TMVar<T> {
    fn clone(&self) -> Self {
        TMVar {
            slot: self.slot.clone(),
        }
    }
}

/// Shows the latest committed contents (`TMVar(Some(..))` or `TMVar(None)`).
impl<T: Clone + fmt::Debug + Send + Sync + 'static> fmt::Debug for TMVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TMVar").field(&self.slot.load()).finish()
    }
}
