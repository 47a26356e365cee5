//! `TBQueue<T>`: a bounded transactional FIFO queue.
//!
//! The two stacks of [`TQueue`](crate::TQueue), plus GHC's split capacity
//! count: the write end counts the free slots producers may still fill, the
//! read end counts the slots consumers have freed since producers last looked.
//! A push touches only the write end until its count runs out; then it moves
//! the freed slots over, the only moment a push reads the consumers' end. A pop
//! touches only the read end until it runs dry. So producers and consumers
//! meet only when the queue is nearly full or nearly empty.

use crate::tqueue::{ReadEnd, WriteEnd};
use crate::{atomically, in_transaction, retry, StmResult, TVar, Transaction};
use std::fmt;

struct Consumers<T> {
    end: ReadEnd<T>,
    /// Slots freed by pops and not yet handed back to the producers.
    freed: usize,
}

impl<T> Clone for Consumers<T> {
    fn clone(&self) -> Self {
        Consumers {
            end: self.end.clone(),
            freed: self.freed,
        }
    }
}

struct Producers<T> {
    end: WriteEnd<T>,
    /// Slots producers may fill before they look at `Consumers::freed`.
    room: usize,
}

impl<T> Clone for Producers<T> {
    fn clone(&self) -> Self {
        Producers {
            end: self.end.clone(),
            room: self.room,
        }
    }
}

/// A first-in first-out queue holding at most a fixed number of items, whose
/// operations compose inside transactions.
///
/// [`push`](TBQueue::push) blocks while the queue is full and
/// [`pop`](TBQueue::pop) while it is empty, which gives back-pressure between
/// producers and consumers. Cloning a `TBQueue` gives another handle to the
/// same queue. Pushing, popping, peeking and `len` are amortised O(1); items
/// are cloned out when popped.
///
/// ```
/// use steadfast_core::{atomically, TBQueue};
/// let q = TBQueue::new(2);
/// let producer = {
///     let q = q.clone();
///     // Blocks whenever two items are waiting.
///     std::thread::spawn(move || (0..10).for_each(|i| atomically(|tx| q.push(tx, i))))
/// };
/// let got: Vec<i32> = (0..10).map(|_| atomically(|tx| q.pop(tx))).collect();
/// producer.join().unwrap();
/// assert_eq!(got, (0..10).collect::<Vec<_>>());
/// ```
pub struct TBQueue<T: Send + Sync + 'static> {
    read: TVar<Consumers<T>>,
    write: TVar<Producers<T>>,
    capacity: usize,
}

impl<T: Clone + Send + Sync + 'static> TBQueue<T> {
    /// An empty queue that holds at most `capacity` items.
    ///
    /// # Panics
    /// If `capacity` is 0: such a queue could never accept an item, so every
    /// push would block forever. (A transactional hand-off cannot be a
    /// rendezvous, since producer and consumer commit separately; use a
    /// [`TMVar`](crate::TMVar) for a one-slot hand-off.)
    ///
    /// ```
    /// use steadfast_core::TBQueue;
    /// let q: TBQueue<u8> = TBQueue::new(16);
    /// assert_eq!(q.capacity(), 16);
    /// ```
    ///
    /// ```should_panic
    /// use steadfast_core::TBQueue;
    /// let _q: TBQueue<u8> = TBQueue::new(0); // panics: capacity must be at least 1
    /// ```
    pub fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "TBQueue capacity must be at least 1: a queue that can hold nothing \
             would block every push forever (use a TMVar for a one-slot hand-off)"
        );
        TBQueue {
            read: TVar::new(Consumers {
                end: ReadEnd::new(),
                freed: 0,
            }),
            write: TVar::new(Producers {
                end: WriteEnd::new(),
                room: capacity,
            }),
            capacity,
        }
    }

    /// The most items the queue holds, fixed at construction.
    ///
    /// ```
    /// use steadfast_core::TBQueue;
    /// assert_eq!(TBQueue::<()>::new(3).capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds `value` at the back; [`retry`]s while the queue is full, so the
    /// transaction blocks until a consumer pops.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(1);
    /// atomically(|tx| q.push(tx, "a"));
    /// assert!(atomically(|tx| q.is_full(tx)));
    /// ```
    pub fn push(&self, tx: &mut Transaction, value: T) -> StmResult<()> {
        if self.try_push(tx, value)? {
            Ok(())
        } else {
            retry()
        }
    }

    /// Adds `value` at the back if there is room; says whether it did. When
    /// the queue is full it returns `false` and drops `value`, changing nothing.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(1);
    /// assert!(atomically(|tx| q.try_push(tx, 1)));
    /// assert!(!atomically(|tx| q.try_push(tx, 2)));
    /// assert_eq!(atomically(|tx| q.pop(tx)), 1);
    /// ```
    pub fn try_push(&self, tx: &mut Transaction, value: T) -> StmResult<bool> {
        let mut producers = self.write.read(tx)?;
        if producers.room == 0 {
            // Out of room on our side: collect what the consumers freed.
            let mut consumers = self.read.read(tx)?;
            if consumers.freed == 0 {
                return Ok(false);
            }
            producers.room = std::mem::take(&mut consumers.freed);
            self.read.write(tx, consumers)?;
        }
        let pushed = Producers {
            end: producers.end.push(value),
            room: producers.room - 1,
        };
        self.write.write(tx, pushed)?;
        Ok(true)
    }

    /// Removes and returns the front item; [`retry`]s while the queue is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(4);
    /// atomically(|tx| {
    ///     q.push(tx, 'x')?;
    ///     q.push(tx, 'y')
    /// });
    /// assert_eq!(atomically(|tx| q.pop(tx)), 'x');
    /// ```
    pub fn pop(&self, tx: &mut Transaction) -> StmResult<T> {
        match self.try_pop(tx)? {
            Some(value) => Ok(value),
            None => retry(),
        }
    }

    /// Removes and returns the front item, or `None` if the queue is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(4);
    /// assert_eq!(atomically(|tx| q.try_pop(tx)), None);
    /// atomically(|tx| q.push(tx, 9));
    /// assert_eq!(atomically(|tx| q.try_pop(tx)), Some(9));
    /// ```
    pub fn try_pop(&self, tx: &mut Transaction) -> StmResult<Option<T>> {
        let consumers = self.read.read(tx)?;
        if let Some((value, end)) = consumers.end.pop() {
            let freed = consumers.freed + 1;
            self.read.write(tx, Consumers { end, freed })?;
            return Ok(Some(value));
        }
        // The read end is dry: take the whole write stack (O(1)).
        let producers = self.write.read(tx)?;
        match producers.end.detach() {
            Some((value, end)) => {
                let emptied = Producers {
                    end: WriteEnd::new(),
                    room: producers.room,
                };
                self.write.write(tx, emptied)?;
                let freed = consumers.freed + 1;
                self.read.write(tx, Consumers { end, freed })?;
                Ok(Some(value))
            }
            None => Ok(None),
        }
    }

    /// Returns a copy of the front item without removing it; [`retry`]s while
    /// the queue is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(4);
    /// atomically(|tx| q.push(tx, 3));
    /// assert_eq!(atomically(|tx| q.peek(tx)), 3);
    /// assert_eq!(atomically(|tx| q.len(tx)), 1);
    /// ```
    pub fn peek(&self, tx: &mut Transaction) -> StmResult<T> {
        match self.try_peek(tx)? {
            Some(value) => Ok(value),
            None => retry(),
        }
    }

    /// Returns a copy of the front item, or `None` if the queue is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(4);
    /// assert_eq!(atomically(|tx| q.try_peek(tx)), None);
    /// atomically(|tx| q.push(tx, 3));
    /// assert_eq!(atomically(|tx| q.try_peek(tx)), Some(3));
    /// ```
    pub fn try_peek(&self, tx: &mut Transaction) -> StmResult<Option<T>> {
        let consumers = self.read.read(tx)?;
        if let Some((value, reversed)) = consumers.end.peek() {
            if let Some(end) = reversed {
                let freed = consumers.freed;
                self.read.write(tx, Consumers { end, freed })?;
            }
            return Ok(Some(value));
        }
        Ok(self.write.read(tx)?.end.oldest().cloned())
    }

    /// The number of items, in O(1). Reads both ends (see [`TQueue::len`](crate::TQueue::len)).
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(4);
    /// atomically(|tx| (0..3).try_for_each(|i| q.push(tx, i)));
    /// assert_eq!(atomically(|tx| q.len(tx)), 3);
    /// ```
    pub fn len(&self, tx: &mut Transaction) -> StmResult<usize> {
        let consumers = self.read.read(tx)?;
        let producers = self.write.read(tx)?;
        let len = self.capacity - producers.room - consumers.freed;
        debug_assert_eq!(len, consumers.end.len() + producers.end.len());
        Ok(len)
    }

    /// Whether the queue is empty. Reads the write end only if the read end
    /// is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(4);
    /// assert!(atomically(|tx| q.is_empty(tx)));
    /// atomically(|tx| q.push(tx, 1));
    /// assert!(!atomically(|tx| q.is_empty(tx)));
    /// ```
    pub fn is_empty(&self, tx: &mut Transaction) -> StmResult<bool> {
        if !self.read.read(tx)?.end.is_empty() {
            return Ok(false);
        }
        Ok(self.write.read(tx)?.end.is_empty())
    }

    /// Whether the queue holds `capacity` items, so a push would block. Reads
    /// the read end only if the producers have no room left on their side.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(2);
    /// atomically(|tx| q.push(tx, 1));
    /// assert!(!atomically(|tx| q.is_full(tx)));
    /// atomically(|tx| q.push(tx, 2));
    /// assert!(atomically(|tx| q.is_full(tx)));
    /// ```
    pub fn is_full(&self, tx: &mut Transaction) -> StmResult<bool> {
        if self.write.read(tx)?.room > 0 {
            return Ok(false);
        }
        Ok(self.read.read(tx)?.freed == 0)
    }

    /// Removes every item and returns them, front first (GHC's
    /// `flushTBQueue`). Never blocks; frees the whole capacity.
    ///
    /// ```
    /// use steadfast_core::{atomically, TBQueue};
    /// let q = TBQueue::new(3);
    /// atomically(|tx| (1..=3).try_for_each(|i| q.push(tx, i)));
    /// assert_eq!(atomically(|tx| q.flush(tx)), [1, 2, 3]);
    /// assert_eq!(atomically(|tx| q.len(tx)), 0);
    /// ```
    pub fn flush(&self, tx: &mut Transaction) -> StmResult<Vec<T>> {
        let items = self.to_vec(tx)?;
        if !items.is_empty() {
            self.read.write(
                tx,
                Consumers {
                    end: ReadEnd::new(),
                    freed: 0,
                },
            )?;
            self.write.write(
                tx,
                Producers {
                    end: WriteEnd::new(),
                    room: self.capacity,
                },
            )?;
        }
        Ok(items)
    }

    /// Copies of the items, front first.
    fn to_vec(&self, tx: &mut Transaction) -> StmResult<Vec<T>> {
        let consumers = self.read.read(tx)?;
        let producers = self.write.read(tx)?;
        let mut items = Vec::with_capacity(consumers.end.len() + producers.end.len());
        consumers.end.drain_into(&mut items);
        producers.end.drain_into(&mut items);
        Ok(items)
    }
}

impl<T: Send + Sync + 'static> Clone for TBQueue<T> {
    fn clone(&self) -> Self {
        TBQueue {
            read: self.read.clone(),
            write: self.write.clone(),
            capacity: self.capacity,
        }
    }
}

/// Shows the capacity and the items, front first, read in one transaction.
/// Inside a running transaction shows only the capacity.
impl<T: Clone + fmt::Debug + Send + Sync + 'static> fmt::Debug for TBQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("TBQueue");
        s.field("capacity", &self.capacity);
        if in_transaction() {
            return s.finish_non_exhaustive();
        }
        let items = atomically(|tx| self.to_vec(tx));
        s.field("items", &items).finish()
    }
}
