//! `TQueue<T>`: an unbounded transactional FIFO queue.
//!
//! Two persistent stacks, as in GHC's `TQueue`: producers push onto the write
//! end, consumers pop from the read end, and the two ends are separate
//! variables, so a producer and a consumer conflict only when the read end
//! runs dry. Even then the conflicting transaction does O(1) work: it detaches
//! the whole write stack and hands out its oldest item (which the write end
//! keeps a pointer to); the O(n) reversal of the rest happens in a later pop
//! that touches only the read end, out of the producers' way. (Reversing
//! inside the detaching transaction instead, as GHC does, gave the 10^6-item
//! stress test with two producers and two consumers four to five times the
//! conflicts and 1.6 times the run time: the longer that transaction, the
//! likelier a push lands in it and forces a re-run.)
//!
//! The module also holds the stacks and ends that [`TBQueue`](crate::TBQueue)
//! reuses.

use crate::{atomically, in_transaction, retry, StmResult, TVar, Transaction};
use std::fmt;
use std::sync::Arc;

type Link<T> = Option<Arc<Node<T>>>;

struct Node<T> {
    value: T,
    next: Link<T>,
}

/// A persistent stack: the first `len` nodes from `head`. Cloning shares the
/// nodes, so a transaction reading the stack copies two words, never the items.
pub(crate) struct Stack<T> {
    head: Link<T>,
    /// May be shorter than the chain: a detached write stack hides its bottom
    /// node, whose item was already handed out.
    len: usize,
}

impl<T> Stack<T> {
    pub(crate) const fn new() -> Self {
        Stack { head: None, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The stack with `value` on top.
    fn push(&self, value: T) -> Self {
        Stack {
            head: Some(Arc::new(Node {
                value,
                next: self.head.clone(),
            })),
            len: self.len + 1,
        }
    }

    fn top(&self) -> Option<&T> {
        match &self.head {
            Some(node) if self.len > 0 => Some(&node.value),
            _ => None,
        }
    }

    /// The stack without its top.
    fn rest(&self) -> Self {
        match &self.head {
            Some(node) if self.len > 1 => Stack {
                head: node.next.clone(),
                len: self.len - 1,
            },
            _ => Stack::new(),
        }
    }

    /// The stack without its bottom item (a view: no node is copied).
    fn without_bottom(&self) -> Self {
        if self.len <= 1 {
            return Stack::new();
        }
        Stack {
            head: self.head.clone(),
            len: self.len - 1,
        }
    }

    /// Top to bottom.
    fn iter(&self) -> impl Iterator<Item = &T> {
        let mut link = self.head.as_deref();
        (0..self.len).map(move |_| {
            let node = link.expect("a stack's chain holds at least `len` nodes");
            link = node.next.as_deref();
            &node.value
        })
    }
}

impl<T: Clone> Stack<T> {
    /// The same items, bottom on top: O(len) clones of the items.
    fn reversed(&self) -> Self {
        let mut out = Stack::new();
        for value in self.iter() {
            out = out.push(value.clone());
        }
        out
    }
}

impl<T> Clone for Stack<T> {
    fn clone(&self) -> Self {
        Stack {
            head: self.head.clone(),
            len: self.len,
        }
    }
}

impl<T> Drop for Stack<T> {
    // The default drop recurses once per node and would overflow the stack on
    // a long queue: unlink nodes one by one while we hold the last reference.
    fn drop(&mut self) {
        let mut link = self.head.take();
        while let Some(node) = link {
            match Arc::into_inner(node) {
                Some(Node { value, next }) => {
                    drop(value);
                    link = next;
                }
                None => break,
            }
        }
    }
}

/// The consumers' end: items ready in pop order, or a detached write stack
/// still to be reversed. At most one of the two is non-empty.
pub(crate) struct ReadEnd<T> {
    ready: Stack<T>,
    pending: Stack<T>,
}

impl<T> ReadEnd<T> {
    pub(crate) const fn new() -> Self {
        ReadEnd {
            ready: Stack::new(),
            pending: Stack::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ready.len() + self.pending.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.pending.is_empty()
    }
}

impl<T: Clone> ReadEnd<T> {
    /// The same items, all ready (reverses a pending stack).
    fn normalized(&self) -> Self {
        if self.pending.is_empty() {
            self.clone()
        } else {
            ReadEnd {
                ready: self.pending.reversed(),
                pending: Stack::new(),
            }
        }
    }

    /// The oldest item and the end without it; `None` if this end is empty.
    pub(crate) fn pop(&self) -> Option<(T, Self)> {
        let end = self.normalized();
        let value = end.ready.top()?.clone();
        let rest = ReadEnd {
            ready: end.ready.rest(),
            pending: Stack::new(),
        };
        Some((value, rest))
    }

    /// The oldest item, and the end to write back if peeking reversed it.
    pub(crate) fn peek(&self) -> Option<(T, Option<Self>)> {
        if let Some(value) = self.ready.top() {
            return Some((value.clone(), None));
        }
        let end = self.normalized();
        let value = end.ready.top()?.clone();
        Some((value, Some(end)))
    }

    /// Appends the items, oldest first.
    pub(crate) fn drain_into(&self, out: &mut Vec<T>) {
        out.extend(self.ready.iter().cloned());
        let start = out.len();
        out.extend(self.pending.iter().cloned());
        out[start..].reverse();
    }
}

impl<T> Clone for ReadEnd<T> {
    fn clone(&self) -> Self {
        ReadEnd {
            ready: self.ready.clone(),
            pending: self.pending.clone(),
        }
    }
}

/// The producers' end: a stack, newest on top, and its bottom node, so a
/// consumer can take the oldest item without walking the stack.
pub(crate) struct WriteEnd<T> {
    stack: Stack<T>,
    bottom: Link<T>,
}

impl<T> WriteEnd<T> {
    pub(crate) const fn new() -> Self {
        WriteEnd {
            stack: Stack::new(),
            bottom: None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.stack.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    /// The end with `value` pushed.
    pub(crate) fn push(&self, value: T) -> Self {
        let stack = self.stack.push(value);
        let bottom = if self.stack.is_empty() {
            stack.head.clone()
        } else {
            self.bottom.clone()
        };
        WriteEnd { stack, bottom }
    }

    /// The oldest item.
    pub(crate) fn oldest(&self) -> Option<&T> {
        self.bottom.as_deref().map(|node| &node.value)
    }

    /// Hands the whole stack to the read side in O(1): its oldest item, and a
    /// read end holding the others (to be reversed by a later pop). The caller
    /// empties this end.
    pub(crate) fn detach(&self) -> Option<(T, ReadEnd<T>)>
    where
        T: Clone,
    {
        let value = self.oldest()?.clone();
        let end = ReadEnd {
            ready: Stack::new(),
            pending: self.stack.without_bottom(),
        };
        Some((value, end))
    }

    /// Appends the items, oldest first.
    pub(crate) fn drain_into(&self, out: &mut Vec<T>)
    where
        T: Clone,
    {
        let start = out.len();
        out.extend(self.stack.iter().cloned());
        out[start..].reverse();
    }
}

impl<T> Clone for WriteEnd<T> {
    fn clone(&self) -> Self {
        WriteEnd {
            stack: self.stack.clone(),
            bottom: self.bottom.clone(),
        }
    }
}

/// An unbounded first-in first-out queue whose operations compose inside
/// transactions.
///
/// Cloning a `TQueue` gives another handle to the same queue. Pushing,
/// popping, peeking and `len` are amortised O(1); items are cloned out when
/// popped (wrap large items in an [`Arc`]). Producers and consumers touch
/// different variables, so they conflict only when the consumers have caught
/// up with the producers.
///
/// ```
/// use steadfast_core::{atomically, TQueue};
/// let q = TQueue::new();
/// let producer = {
///     let q = q.clone();
///     std::thread::spawn(move || {
///         for i in 0..3 {
///             atomically(|tx| q.push(tx, i));
///         }
///     })
/// };
/// // `pop` blocks until an item arrives.
/// let got: Vec<i32> = (0..3).map(|_| atomically(|tx| q.pop(tx))).collect();
/// producer.join().unwrap();
/// assert_eq!(got, [0, 1, 2]);
/// ```
pub struct TQueue<T: Send + Sync + 'static> {
    read: TVar<ReadEnd<T>>,
    write: TVar<WriteEnd<T>>,
}

impl<T: Clone + Send + Sync + 'static> TQueue<T> {
    /// An empty queue.
    ///
    /// ```
    /// use steadfast_core::{atomically, TQueue};
    /// let q: TQueue<String> = TQueue::new();
    /// assert!(atomically(|tx| q.is_empty(tx)));
    /// ```
    pub fn new() -> Self {
        TQueue {
            read: TVar::new(ReadEnd::new()),
            write: TVar::new(WriteEnd::new()),
        }
    }

    /// Adds `value` at the back. Never blocks; touches only the write end.
    ///
    /// ```
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// atomically(|tx| {
    ///     q.push(tx, 'a')?;
    ///     q.push(tx, 'b')
    /// });
    /// assert_eq!(atomically(|tx| q.len(tx)), 2);
    /// ```
    pub fn push(&self, tx: &mut Transaction, value: T) -> StmResult<()> {
        let end = self.write.read(tx)?;
        self.write.write(tx, end.push(value))
    }

    /// Same as [`TQueue::push`] (GHC's name).
    ///
    /// ```
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// atomically(|tx| q.write(tx, 7));
    /// assert_eq!(atomically(|tx| q.pop(tx)), 7);
    /// ```
    pub fn write(&self, tx: &mut Transaction, value: T) -> StmResult<()> {
        self.push(tx, value)
    }

    /// Removes and returns the front item; [`retry`]s while the queue is empty,
    /// so the transaction blocks until a producer pushes.
    ///
    /// ```
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// atomically(|tx| {
    ///     q.push(tx, 1)?;
    ///     q.push(tx, 2)
    /// });
    /// assert_eq!(atomically(|tx| q.pop(tx)), 1);
    /// assert_eq!(atomically(|tx| q.pop(tx)), 2);
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
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// assert_eq!(atomically(|tx| q.try_pop(tx)), None);
    /// atomically(|tx| q.push(tx, "job"));
    /// assert_eq!(atomically(|tx| q.try_pop(tx)), Some("job"));
    /// ```
    pub fn try_pop(&self, tx: &mut Transaction) -> StmResult<Option<T>> {
        let end = self.read.read(tx)?;
        if let Some((value, rest)) = end.pop() {
            self.read.write(tx, rest)?;
            return Ok(Some(value));
        }
        // The read end is dry: take the whole write stack (O(1)).
        let write = self.write.read(tx)?;
        match write.detach() {
            Some((value, rest)) => {
                self.write.write(tx, WriteEnd::new())?;
                self.read.write(tx, rest)?;
                Ok(Some(value))
            }
            None => Ok(None),
        }
    }

    /// Returns a copy of the front item without removing it; [`retry`]s while
    /// the queue is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// atomically(|tx| q.push(tx, 5));
    /// assert_eq!(atomically(|tx| q.peek(tx)), 5);
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
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// assert_eq!(atomically(|tx| q.try_peek(tx)), None);
    /// atomically(|tx| q.push(tx, 5));
    /// assert_eq!(atomically(|tx| q.try_peek(tx)), Some(5));
    /// ```
    pub fn try_peek(&self, tx: &mut Transaction) -> StmResult<Option<T>> {
        let end = self.read.read(tx)?;
        if let Some((value, reversed)) = end.peek() {
            // Keep the reversal so the next peek or pop does not redo it.
            if let Some(reversed) = reversed {
                self.read.write(tx, reversed)?;
            }
            return Ok(Some(value));
        }
        // Read-only: the write end knows its oldest item.
        let write = self.write.read(tx)?;
        Ok(write.oldest().cloned())
    }

    /// Whether the queue is empty. Reads the write end only if the read end
    /// is empty.
    ///
    /// ```
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// assert!(atomically(|tx| q.is_empty(tx)));
    /// atomically(|tx| q.push(tx, ()));
    /// assert!(!atomically(|tx| q.is_empty(tx)));
    /// ```
    pub fn is_empty(&self, tx: &mut Transaction) -> StmResult<bool> {
        if !self.read.read(tx)?.is_empty() {
            return Ok(false);
        }
        Ok(self.write.read(tx)?.is_empty())
    }

    /// The number of items, in O(1).
    ///
    /// Each end knows its own length, so there is no shared counter for
    /// producers and consumers to fight over; but `len` reads both ends, so a
    /// transaction that calls it conflicts with any push or pop that commits
    /// meanwhile.
    ///
    /// ```
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// atomically(|tx| (0..4).try_for_each(|i| q.push(tx, i)));
    /// atomically(|tx| q.pop(tx));
    /// assert_eq!(atomically(|tx| q.len(tx)), 3);
    /// ```
    pub fn len(&self, tx: &mut Transaction) -> StmResult<usize> {
        Ok(self.read.read(tx)?.len() + self.write.read(tx)?.len())
    }

    /// Removes every item and returns them, front first (GHC's `flushTQueue`).
    /// Never blocks.
    ///
    /// ```
    /// use steadfast_core::{atomically, TQueue};
    /// let q = TQueue::new();
    /// atomically(|tx| (1..=3).try_for_each(|i| q.push(tx, i)));
    /// assert_eq!(atomically(|tx| q.flush(tx)), [1, 2, 3]);
    /// assert!(atomically(|tx| q.is_empty(tx)));
    /// ```
    pub fn flush(&self, tx: &mut Transaction) -> StmResult<Vec<T>> {
        let items = self.to_vec(tx)?;
        if !items.is_empty() {
            self.read.write(tx, ReadEnd::new())?;
            self.write.write(tx, WriteEnd::new())?;
        }
        Ok(items)
    }

    /// Copies of the items, front first.
    fn to_vec(&self, tx: &mut Transaction) -> StmResult<Vec<T>> {
        let read = self.read.read(tx)?;
        let write = self.write.read(tx)?;
        let mut items = Vec::with_capacity(read.len() + write.len());
        read.drain_into(&mut items);
        write.drain_into(&mut items);
        Ok(items)
    }
}

impl<T: Clone + Send + Sync + 'static> Default for TQueue<T> {
    fn default() -> Self {
        TQueue::new()
    }
}

impl<T: Send + Sync + 'static> Clone for TQueue<T> {
    fn clone(&self) -> Self {
        TQueue {
            read: self.read.clone(),
            write: self.write.clone(),
        }
    }
}

/// Shows the items, front first, read in one transaction. Inside a running
/// transaction (where starting another is not allowed) shows `TQueue { .. }`.
impl<T: Clone + fmt::Debug + Send + Sync + 'static> fmt::Debug for TQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if in_transaction() {
            return f.write_str("TQueue { .. }");
        }
        let items = atomically(|tx| self.to_vec(tx));
        f.debug_tuple("TQueue").field(&items).finish()
    }
}
