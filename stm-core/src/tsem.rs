//! `TSem`: a transactional counting semaphore.

use crate::{retry, StmResult, TVar, Transaction};
use std::fmt;

/// A counting semaphore: a pool of interchangeable permits.
///
/// [`acquire`](TSem::acquire) blocks while no permit is free. Because
/// acquiring is transactional, a transaction can take permits from several
/// semaphores, or several permits at once, all or nothing. Cloning a `TSem`
/// gives another handle to the same semaphore.
///
/// ```
/// use steadfast_core::{atomically, TSem};
/// let slots = TSem::new(2);
/// atomically(|tx| slots.acquire(tx));
/// assert_eq!(atomically(|tx| slots.available(tx)), 1);
/// atomically(|tx| slots.release(tx));
/// assert_eq!(atomically(|tx| slots.available(tx)), 2);
/// ```
#[derive(Clone)]
pub struct TSem {
    permits: TVar<usize>,
}

impl TSem {
    /// A semaphore with `permits` free permits.
    ///
    /// ```
    /// use steadfast_core::{atomically, TSem};
    /// let s = TSem::new(3);
    /// assert_eq!(atomically(|tx| s.available(tx)), 3);
    /// ```
    pub fn new(permits: usize) -> Self {
        TSem {
            permits: TVar::new(permits),
        }
    }

    /// Takes one permit; [`retry`]s while none is free.
    ///
    /// ```
    /// use steadfast_core::{atomically, TSem};
    /// let s = TSem::new(1);
    /// atomically(|tx| s.acquire(tx));
    /// assert_eq!(atomically(|tx| s.available(tx)), 0);
    /// ```
    pub fn acquire(&self, tx: &mut Transaction) -> StmResult<()> {
        self.acquire_n(tx, 1)
    }

    /// Takes `n` permits at once; [`retry`]s until `n` are free (it never holds
    /// some while waiting for the rest). `n = 0` succeeds at once.
    ///
    /// ```
    /// use steadfast_core::{atomically, TSem};
    /// let s = TSem::new(5);
    /// atomically(|tx| s.acquire_n(tx, 3));
    /// assert_eq!(atomically(|tx| s.available(tx)), 2);
    /// ```
    pub fn acquire_n(&self, tx: &mut Transaction, n: usize) -> StmResult<()> {
        if n == 0 {
            return Ok(());
        }
        let free = self.permits.read(tx)?;
        if free < n {
            return retry();
        }
        self.permits.write(tx, free - n)
    }

    /// Returns one permit.
    ///
    /// ```
    /// use steadfast_core::{atomically, TSem};
    /// let s = TSem::new(0);
    /// atomically(|tx| s.release(tx));
    /// assert_eq!(atomically(|tx| s.available(tx)), 1);
    /// ```
    pub fn release(&self, tx: &mut Transaction) -> StmResult<()> {
        self.release_n(tx, 1)
    }

    /// Returns `n` permits.
    ///
    /// # Panics
    /// If the count would overflow `usize` (the transaction is rolled back).
    ///
    /// ```
    /// use steadfast_core::{atomically, TSem};
    /// let s = TSem::new(1);
    /// atomically(|tx| s.release_n(tx, 4));
    /// assert_eq!(atomically(|tx| s.available(tx)), 5);
    /// ```
    pub fn release_n(&self, tx: &mut Transaction, n: usize) -> StmResult<()> {
        if n == 0 {
            return Ok(());
        }
        let free = self.permits.read(tx)?;
        let free = free
            .checked_add(n)
            .expect("TSem permit count overflowed usize");
        self.permits.write(tx, free)
    }

    /// The number of free permits.
    ///
    /// ```
    /// use steadfast_core::{atomically, TSem};
    /// let s = TSem::new(2);
    /// assert_eq!(atomically(|tx| s.available(tx)), 2);
    /// ```
    pub fn available(&self, tx: &mut Transaction) -> StmResult<usize> {
        self.permits.read(tx)
    }
}

/// Shows the number of free permits as last committed.
impl fmt::Debug for TSem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TSem")
            .field("available", &self.permits.load())
            .finish()
    }
}
