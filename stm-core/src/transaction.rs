//! One transaction attempt: its read and write logs, its hooks, the nodes it
//! ran, and the TL2 commit.

use crate::check::{CheckErrorKind, CheckResult};
use crate::clock::GLOBAL_CLOCK;
use crate::error::{ErrorKind, Failure, InvariantViolation, StmError, StmResult};
use crate::inline::{from_bits, is_inline, to_bits};
use crate::lock::{LockWord, Locked, Version, VersionedLock};
use crate::node::{diff, normalize, normalize_raw, Invalidate, Node, NodeKind};
use crate::plain_log::PlainLog;
use crate::reclaim::{self, Participant};
use crate::serial;
use crate::stats::{Event, ThreadCounters};
use crate::sync::{fence, lock, Ordering};
use crate::tvar::TVar;
use crate::var::{raw_addr, to_dep_refs, DepRef, ErasedVar, RawDep, VarCore};
use crate::wait::Waiter;
use crossbeam_epoch::{self as epoch, Guard, Owned};
use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A variable read by the attempt, and the version it had.
#[derive(Clone, Copy)]
struct ReadEntry {
    core: *const VarCore,
    version: Version,
}

/// A buffered value: inline bits for word-sized primitives, else the
/// position of the value in the attempt's table of boxed values. Keeping
/// boxes out of the write log leaves its entries plain data, so clearing the
/// log costs nothing per entry.
#[derive(Clone, Copy)]
enum Slot {
    Bits(u64),
    Boxed(usize),
}

/// A buffered value of a non-inline type, and the variable to publish it in.
struct BoxedValue {
    var: *const dyn ErasedVar,
    value: Option<Box<dyn Any + Send>>,
}

/// A buffered write: published at commit.
///
/// In C layout so that the fields a fresh entry starts at zero (and the
/// `Bits` tag) are contiguous, with no padding between them (hence a `u64`
/// branch): the inlined writes clear them with two wide stores.
#[derive(Clone, Copy)]
#[repr(C)]
struct WriteEntry {
    /// The generation of the variable's dependents seen before locking.
    dependents_seen: u64,
    /// What locking the variable found (its version, whether waiters wait).
    locked: Locked,
    /// The `or_else` branch whose undo log covers this entry's value: the
    /// entry may be overwritten in place only inside that branch or one nested
    /// in it (see `Transaction::branch`).
    branch: u64,
    value: Slot,
    core: *const VarCore,
    /// The version a `modify` read before writing, which then logged no
    /// separate read (`NOT_READ` otherwise): validated like a read.
    read_at: Version,
}

/// `WriteEntry::read_at` of an entry that stands for no read.
const NOT_READ: Version = Version::MAX;

impl WriteEntry {
    #[inline]
    fn new(core: *const VarCore, value: Slot, branch: u64) -> Self {
        WriteEntry {
            core,
            value,
            branch,
            read_at: NOT_READ,
            dependents_seen: 0,
            locked: Locked::NONE,
        }
    }
}

/// A value overwritten inside an `or_else` branch, restored if it retries.
struct Undo {
    index: usize,
    value: Slot,
    branch: u64,
}

/// A node this transaction ran, with what it read.
struct RanNode {
    node: Arc<Node>,
    deps: Vec<DepRef>,
    /// The node's meta version when it ran (unused for lazy caches).
    meta_version: Version,
    /// Registered by this transaction: it must be re-run at commit.
    is_new: bool,
    /// Whether `deps` differ from the node's stored dependencies.
    changed: bool,
    /// Edges attached while committing (undone if the commit fails).
    attached: Vec<DepRef>,
}

/// The nodes a commit must run, collected from the variables it wrote.
#[derive(Default)]
struct DueNodes {
    invariants: Vec<Arc<Node>>,
    eager: Vec<Arc<Node>>,
    lazy: Vec<Arc<dyn Invalidate>>,
}

impl DueNodes {
    /// Adds a dependent of a written variable, once.
    fn add(&mut self, node: &Arc<Node>) {
        match &node.kind {
            NodeKind::Invariant { .. } => {
                if !self.invariants.iter().any(|n| Arc::ptr_eq(n, node)) {
                    self.invariants.push(node.clone());
                }
            }
            NodeKind::Eager { .. } => {
                if !self.eager.iter().any(|n| Arc::ptr_eq(n, node)) {
                    self.eager.push(node.clone());
                }
            }
            NodeKind::Lazy { cache } => {
                if let Some(cache) = cache.upgrade() {
                    self.lazy.push(cache);
                }
            }
        }
    }

    fn clear(&mut self) {
        self.invariants.clear();
        self.eager.clear();
        self.lazy.clear();
    }
}

/// Where an `or_else` branch started, to roll it back.
pub(crate) struct Checkpoint {
    /// The branch that was running when this one started.
    parent: u64,
    writes: usize,
    undo: usize,
    commit_hooks: usize,
    abort_hooks: usize,
    ran: usize,
}

#[derive(Clone)]
enum Mode {
    Normal,
    /// Inside an invariant check: writes and retry are errors. Holds the
    /// check's name, for error messages (a copy unless the name was built
    /// at run time).
    Checking(Cow<'static, str>),
}

/// A running transaction. Every transactional operation takes `&mut
/// Transaction`; the engine creates it in [`atomically`](crate::atomically)
/// and re-runs the body with a fresh attempt after a conflict.
pub struct Transaction {
    /// The attempt's snapshot: no variable newer than it is read without
    /// extending it. Between attempts, the newest clock value this thread
    /// has seen (a snapshot, its own commit's version), where the next
    /// attempt starts.
    read_version: Version,
    /// Announces the running attempt, so variables it may still point to are
    /// not freed under it (see `reclaim.rs`).
    participant: Participant,
    /// Whether an attempt of this thread has pinned the epoch collector:
    /// from then on every collection pushes it along.
    uses_epoch: bool,
    /// Pinned on the first read or write of a boxed value: protects boxed
    /// values, which commits retire through the epoch collector.
    guard: Option<Guard>,
    reads: PlainLog<ReadEntry>,
    writes: PlainLog<WriteEntry>,
    /// The values of non-inline types the write log refers to.
    boxed: Vec<BoxedValue>,
    /// The inlined paths' filter: while the attempt is plain, one bit per
    /// address hash of a written variable (most reads of variables it did not
    /// write skip the write-log scan); once it has extras or its write log
    /// holds `INDEX_FROM` entries, every bit, which sends every read and
    /// every new write the long way with a single test.
    fast_filter: u64,
    /// The filter itself once the attempt has extras (see `filter`).
    write_filter: u64,
    /// Write-log positions by variable, kept only while the log is longer
    /// than `INDEX_FROM`: a scan would make big transactions quadratic.
    write_index: HashMap<usize, usize>,
    undo: Vec<Undo>,
    /// The innermost running `or_else` branch (0: none). Branches are
    /// numbered in the order they start, so a number at least `branch`
    /// belongs to the running branch or to one nested in it that has ended;
    /// a smaller one to a branch outside it, even one that ended before it
    /// started (nesting depth cannot tell those apart).
    branch: u64,
    /// The last branch number handed out in this attempt.
    branches: u64,
    commit_hooks: Vec<Box<dyn FnOnce()>>,
    abort_hooks: Vec<Box<dyn FnOnce()>>,
    /// Abort hooks of rolled-back `or_else` branches: they run when the
    /// attempt ends, outside the transaction, like every other hook.
    rolled_back_hooks: Vec<Box<dyn FnOnce()>>,
    mode: Mode,
    /// An error the body swallowed: the attempt can no longer commit.
    doomed: Option<StmError>,
    /// Reads recorded while nodes run (the start of each run is remembered).
    captured: Vec<RawDep>,
    /// A buffer reused to normalise what a node read.
    dep_scratch: Vec<RawDep>,
    /// Whether this attempt's commit has already run its dependents.
    dependents_ran: bool,
    capturing: u32,
    ran: Vec<RanNode>,
    /// Reused while collecting the nodes a commit runs.
    due: DueNodes,
    meta_reads: Vec<(Arc<Node>, Version)>,
    /// Whether clearing the attempt must take the long way: set by whatever
    /// leaves more behind than two plain logs (extras, the epoch guard, a
    /// read log that grew), so the short way tests one flag. Always set for
    /// a transaction the thread does not keep, so the short way hands the
    /// logs back to the thread without asking (`Lease::hand_back`).
    long_way: bool,
    /// Whether the attempt uses anything beyond plain reads and writes
    /// (hooks, `or_else`, nodes, captures, a swallowed error, the write
    /// index, a written variable with dependents): then it takes the long
    /// way in writing (its `fast_filter` is full), clearing and committing.
    extras: bool,
    /// This thread's statistics (a transaction never leaves its thread).
    counters: ThreadCounters,
    /// Whether the thread keeps this transaction between transactions (see
    /// `lease.rs`): false only for one made while the thread exits.
    kept_by_thread: bool,
    /// The state of the back-off's random jitter, kept from one
    /// transaction to the next (0: not seeded yet).
    backoff_seed: u64,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("read_version", &self.read_version)
            .field("reads", &self.reads.len())
            .field("writes", &self.writes.len())
            .finish_non_exhaustive()
    }
}

/// Attempts between two collections of the thread's retired handles
/// (counted by the participant, which announces each one).
const COLLECT_EVERY: u64 = 64;

/// Log entries a thread keeps buffer space for between transactions.
const KEEP: usize = 1024;

/// Write logs longer than this are indexed by variable.
const INDEX_FROM: usize = 32;

#[inline]
fn filter_bit(core: *const VarCore) -> u64 {
    1u64 << ((core as usize >> 6) & 63)
}

/// How far [`Transaction::commit_quick`] got.
pub(crate) enum QuickCommit {
    /// Published.
    Committed,
    /// Nothing done: commit the usual way.
    Untouched,
    /// A version taken (now the transaction's `read_version`), `published`
    /// entries published and unlocked, the others still locked: finish the
    /// general way.
    Ticked { published: Published },
}

/// Which write entries a `Ticked` quick commit has published.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Published {
    /// None: another commit came between snapshot and version, so the
    /// reads must be validated first.
    None,
    /// Those with an inline value and no waiters.
    Plain,
}

/// What `commit` reports when it cannot publish.
pub(crate) enum CommitError {
    /// Re-run the transaction.
    Conflict,
    /// Another transaction runs alone: wait for it, then re-run.
    SerialGate,
    /// Give up: the failure reaches the caller (boxed: keeps the common
    /// results small).
    Failed(Box<Failure>),
}

impl From<CommitError> for StmError {
    fn from(e: CommitError) -> Self {
        match e {
            // A commit held at the gate was retried until it got through.
            CommitError::Conflict | CommitError::SerialGate => StmError::conflict(),
            CommitError::Failed(f) => StmError {
                kind: ErrorKind::Failed(f),
            },
        }
    }
}

impl From<StmError> for CommitError {
    fn from(e: StmError) -> Self {
        match e.kind {
            ErrorKind::Conflict => CommitError::Conflict,
            ErrorKind::Retry => CommitError::Conflict,
            ErrorKind::Failed(f) => CommitError::Failed(f),
        }
    }
}

impl Transaction {
    pub(crate) fn new() -> Self {
        Transaction {
            read_version: 0,
            participant: reclaim::global::register(),
            uses_epoch: false,
            guard: None,
            reads: PlainLog::new(0, usize::MAX),
            writes: PlainLog::new(INDEX_FROM, INDEX_FROM),
            boxed: Vec::new(),
            fast_filter: 0,
            write_filter: 0,
            write_index: HashMap::new(),
            undo: Vec::new(),
            branch: 0,
            branches: 0,
            commit_hooks: Vec::new(),
            abort_hooks: Vec::new(),
            rolled_back_hooks: Vec::new(),
            mode: Mode::Normal,
            doomed: None,
            captured: Vec::new(),
            dep_scratch: Vec::new(),
            dependents_ran: false,
            capturing: 0,
            ran: Vec::new(),
            due: DueNodes::default(),
            meta_reads: Vec::new(),
            long_way: false,
            extras: false,
            counters: ThreadCounters::current(),
            kept_by_thread: false,
            backoff_seed: 0,
        }
    }

    /// Whether the thread keeps this transaction between transactions.
    #[inline]
    pub(crate) fn kept_by_thread(&self) -> bool {
        self.kept_by_thread
    }

    /// Says whether the thread keeps this transaction; one it does not keep
    /// always ends the long way, which asks before handing it back.
    pub(crate) fn set_kept_by_thread(&mut self, kept: bool) {
        self.kept_by_thread = kept;
        self.long_way = !kept;
    }

    /// Starts a fresh attempt: announces it and samples the clock.
    #[inline]
    pub(crate) fn begin(&mut self) {
        debug_assert!(self.writes.is_empty() && self.reads.is_empty());
        self.participant.enter();
        // The snapshot is the newest clock value this thread has seen, not
        // the clock itself: every commit elsewhere writes the clock's cache
        // line, and most transactions read nothing written since this thread
        // last looked. A variable written since then is newer than the
        // snapshot, so reading it extends the snapshot (which samples the
        // clock): reads stay current and consistent, only the line is spared.
    }

    /// The attempt's epoch guard, pinned on first use: only boxed values need
    /// it, so transactions over inline values never pin.
    #[inline]
    fn guard(&mut self) -> &Guard {
        if self.guard.is_none() {
            self.long_way = true;
        }
        self.guard.get_or_insert_with(|| {
            // Pinning is a read-modify-write on the thread's epoch.
            crate::sync::rmw::count();
            epoch::pin()
        })
    }

    /// Forgets everything the attempt did, then announces its end: pointers
    /// in the logs stay valid until then. An attempt that only read and
    /// wrote inline values a modest number of times takes the short way.
    #[inline]
    pub(crate) fn clear(&mut self) {
        if self.long_way {
            self.clear_the_long_way();
        } else {
            self.clear_short();
        }
    }

    /// Whether the attempt used anything beyond plain reads and writes.
    #[inline]
    pub(crate) fn has_extras(&self) -> bool {
        self.extras()
    }

    /// Whether ending the attempt takes more than emptying two plain logs:
    /// true whenever it has extras (`note_extras` sets it), so a committed
    /// attempt without it has no hooks to run either.
    #[inline]
    pub(crate) fn ends_the_long_way(&self) -> bool {
        self.long_way
    }

    /// `clear` for an attempt that does not end the long way.
    #[inline]
    pub(crate) fn clear_short(&mut self) {
        debug_assert!(!self.long_way && !self.extras());
        self.clear_logs();
        self.leave();
    }

    /// Empties the read and write logs: plain data, so only their lengths
    /// are reset.
    #[inline]
    fn clear_logs(&mut self) {
        self.reads.clear();
        self.writes.clear();
        self.fast_filter = 0;
    }

    /// Announces the attempt's end and, every `COLLECT_EVERY` attempts,
    /// collects retired handles.
    #[inline]
    fn leave(&mut self) {
        if self
            .participant
            .leave_entered()
            .is_multiple_of(COLLECT_EVERY)
        {
            self.collect_garbage();
        }
    }

    /// `clear` for an attempt that left more behind: boxed values, extras,
    /// the epoch guard, logs that grew.
    #[cold]
    #[inline(never)]
    fn clear_the_long_way(&mut self) {
        self.long_way = !self.kept_by_thread;
        self.clear_logs();
        // What needs loops or frees is out of line, so the usual long way
        // (an epoch guard, a read log that grew) saves few registers.
        if !self.boxed.is_empty() {
            self.clear_boxed();
        }
        if self.extras() {
            self.clear_extras();
        }
        if self.logs_outgrew_keep() {
            self.trim();
        }
        if self.guard.take().is_some() {
            self.uses_epoch = true;
        }
        self.leave();
    }

    /// Releases what this thread retired, when safe. Boxed values go through
    /// the epoch collector, which only runs when a thread pins, and frees only
    /// what is two epochs old: a thread that has pinned (and so may have
    /// retired some) pushes it along at every collection, so old values are
    /// freed even if every later transaction touches only inline values and
    /// other threads held the epoch back for a while.
    #[cold]
    fn collect_garbage(&mut self) {
        reclaim::global::collect();
        if self.uses_epoch {
            epoch::pin().flush();
        }
    }

    /// Drops the attempt's buffered boxed values.
    #[inline(never)]
    fn clear_boxed(&mut self) {
        self.boxed.clear();
    }

    /// Clears what only transactions using more than reads and writes fill.
    #[cold]
    #[inline(never)]
    fn clear_extras(&mut self) {
        self.extras = false;
        // Only the commit of an attempt with extras runs dependents.
        self.dependents_ran = false;
        self.write_filter = 0;
        self.write_index.clear();
        self.branch = 0;
        self.branches = 0;
        self.mode = Mode::Normal;
        self.capturing = 0;
        self.undo.clear();
        // Most attempts with extras have no hooks: skip the calls that drop
        // empty lists of them.
        for hooks in [
            &mut self.commit_hooks,
            &mut self.rolled_back_hooks,
            &mut self.abort_hooks,
        ] {
            if !hooks.is_empty() {
                hooks.clear();
            }
        }
        self.doomed = None;
        self.captured.clear();
        self.ran.clear();
        self.meta_reads.clear();
    }

    /// Whether a log holds more buffer space than ordinary transactions
    /// need (see `trim`).
    #[inline]
    fn logs_outgrew_keep(&self) -> bool {
        self.reads.capacity() > KEEP
            || self.writes.capacity() > KEEP
            || self.boxed.capacity() > KEEP
            || self.write_index.capacity() > KEEP
            || self.captured.capacity() > KEEP
    }

    /// Releases log memory beyond what ordinary transactions need, so one huge
    /// transaction does not pin a huge buffer in its thread for ever.
    #[cold]
    #[inline(never)]
    fn trim(&mut self) {
        self.reads.shrink_to(KEEP);
        self.writes.shrink_to(KEEP);
        self.boxed.shrink_to(KEEP);
        self.write_index.shrink_to(KEEP);
        self.captured.shrink_to(KEEP);
    }

    /// The buffer space of the read and write logs, in entries.
    #[cfg(test)]
    pub(crate) fn log_capacity(&self) -> (usize, usize) {
        (self.reads.capacity(), self.writes.capacity())
    }

    /// Abandons the attempt: runs its abort hooks, then clears it.
    #[inline]
    pub(crate) fn abort_attempt(&mut self) -> Vec<Box<dyn FnOnce()>> {
        if !self.extras() {
            self.clear();
            return Vec::new();
        }
        self.abort_attempt_with_extras()
    }

    #[cold]
    fn abort_attempt_with_extras(&mut self) -> Vec<Box<dyn FnOnce()>> {
        let mut hooks = take_hooks(&mut self.rolled_back_hooks);
        hooks.append(&mut self.abort_hooks);
        self.clear();
        hooks
    }

    /// Takes the commit hooks of a committed attempt, then clears it.
    #[inline]
    pub(crate) fn finish_commit(&mut self) -> Vec<Box<dyn FnOnce()>> {
        if !self.extras() {
            self.clear();
            return Vec::new();
        }
        self.finish_commit_with_extras()
    }

    #[cold]
    fn finish_commit_with_extras(&mut self) -> Vec<Box<dyn FnOnce()>> {
        // Most attempts with extras have no hooks of rolled-back branches:
        // then no list is built to append to.
        let hooks = if self.rolled_back_hooks.is_empty() {
            take_hooks(&mut self.commit_hooks)
        } else {
            let mut hooks = std::mem::take(&mut self.rolled_back_hooks);
            hooks.append(&mut self.commit_hooks);
            hooks
        };
        self.clear();
        hooks
    }

    /// Whether the attempt used anything beyond plain reads and writes.
    #[inline]
    fn extras(&self) -> bool {
        self.extras
    }

    /// Sends the rest of the attempt the long way (see `extras` and
    /// `fast_filter`).
    #[inline]
    fn note_extras(&mut self) {
        if !self.extras() {
            self.long_way = true;
            self.extras = true;
            self.write_filter = self.fast_filter;
            self.fast_filter = u64::MAX;
        }
    }

    /// One bit per address hash of a written variable.
    #[inline]
    fn filter(&self) -> u64 {
        if self.extras() {
            self.write_filter
        } else {
            self.fast_filter
        }
    }

    /// Sets `core`'s bit in the filter.
    #[inline]
    fn mark_written(&mut self, core: *const VarCore) {
        if self.extras() {
            self.write_filter |= filter_bit(core);
        } else {
            self.fast_filter |= filter_bit(core);
        }
    }

    /// The back-off's random state, seeded on first use by the
    /// transaction's address (which differs between threads).
    pub(crate) fn backoff_seed(&mut self) -> &mut u64 {
        if self.backoff_seed == 0 {
            self.backoff_seed = (self as *const Transaction as u64) | 1;
        }
        &mut self.backoff_seed
    }

    /// Counts `event` in this thread's statistics.
    #[inline]
    pub(crate) fn count(&self, event: Event) {
        self.counters.record(event);
    }

    pub(crate) fn doomed(&self) -> Option<&StmError> {
        self.doomed.as_ref()
    }

    #[inline]
    fn usable(&self) -> StmResult<()> {
        match &self.doomed {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    /// Remembers `e` so the attempt fails even if the body ignores it.
    fn doom(&mut self, e: StmError) -> StmError {
        self.note_extras();
        if self.doomed.is_none() {
            self.doomed = Some(e.clone());
        }
        e
    }

    // ---- reads and writes -------------------------------------------------

    /// The committed value of `var` (the caller checks the lock word around
    /// it). Only a boxed value needs the epoch guard.
    #[inline]
    fn load_value<T: Clone + Send + Sync + 'static>(&mut self, var: &TVar<T>) -> T {
        if is_inline::<T>() {
            var.inner.load_inline()
        } else {
            var.inner.load_boxed(self.guard())
        }
    }

    /// Buffers `value` for `var`. A boxed value pins the epoch guard its
    /// commit will publish it under, so an attempt with boxed values always
    /// holds one (`clear` and the commit test only the guard).
    #[inline]
    fn new_slot<T: Send + Sync + 'static>(&mut self, var: &TVar<T>, value: T) -> Slot {
        if is_inline::<T>() {
            Slot::Bits(to_bits(&value))
        } else {
            self.guard();
            self.boxed.push(BoxedValue {
                var: var.erased(),
                value: Some(Box::new(value)),
            });
            Slot::Boxed(self.boxed.len() - 1)
        }
    }

    /// The buffered value at position `i` of the table of boxed values.
    #[inline]
    fn boxed_ref<T: 'static>(&self, i: usize) -> &T {
        self.boxed[i]
            .value
            .as_ref()
            .and_then(|b| b.downcast_ref::<T>())
            .expect("write log entry holds a value of the variable's type")
    }

    /// The same, to change in place.
    #[inline]
    fn boxed_mut<T: 'static>(&mut self, i: usize) -> &mut T {
        self.boxed[i]
            .value
            .as_mut()
            .and_then(|b| b.downcast_mut::<T>())
            .expect("write log entry holds a value of the variable's type")
    }

    /// A copy of a buffered value.
    #[inline]
    fn slot_value<T: Clone + 'static>(&self, slot: Slot) -> T {
        match slot {
            Slot::Bits(bits) => from_bits(bits),
            Slot::Boxed(i) => self.boxed_ref::<T>(i).clone(),
        }
    }

    /// Replaces a buffered value in place.
    #[inline]
    fn set_slot<T: Send + 'static>(&mut self, slot: &mut Slot, value: T) {
        match slot {
            Slot::Bits(bits) => *bits = to_bits(&value),
            Slot::Boxed(i) => *self.boxed_mut::<T>(*i) = value,
        }
    }

    /// Publishes a buffered value; the caller holds the variable's lock.
    #[inline]
    fn publish_slot(boxed: &mut [BoxedValue], core: &VarCore, slot: Slot, guard: Option<&Guard>) {
        match slot {
            Slot::Bits(bits) => core.bits.store(bits, Ordering::Release),
            Slot::Boxed(i) => {
                let entry = &mut boxed[i];
                let value = entry
                    .value
                    .take()
                    .expect("each buffered value is published once");
                let guard = guard.expect("pinned before publishing boxed values");
                // SAFETY: written variables live until the attempt ends.
                unsafe { &*entry.var }.publish(value, guard);
            }
        }
    }

    /// Appends a write entry, noting whether its variable has dependents.
    #[inline]
    fn push_write(&mut self, entry: WriteEntry) {
        self.note_dependents(entry.core);
        self.writes.push(entry);
        self.close_full_log();
    }

    /// Closes the inlined write paths to a log of `INDEX_FROM` entries (its
    /// room): a full filter sends every write the long way.
    #[inline]
    fn close_full_log(&mut self) {
        if !self.writes.has_room() {
            self.fast_filter = u64::MAX;
        }
    }

    /// `push_write` for the inlined paths, which run only while the filter
    /// has a free bit, so while the log is below its room of `INDEX_FROM`
    /// entries (a log that long has a full filter).
    #[inline]
    fn push_write_short(&mut self, entry: WriteEntry) {
        self.note_dependents(entry.core);
        // SAFETY: the filter has a free bit (the caller's test), so the log
        // has room: every push that fills it fills the filter.
        unsafe { self.writes.push_unchecked(entry) };
        self.close_full_log();
    }

    /// Sends the attempt the long way if a variable it writes has (ever had)
    /// dependents: then the commit runs them.
    #[inline]
    fn note_dependents(&mut self, core: *const VarCore) {
        // SAFETY: written variables live until the attempt ends (reclaim.rs).
        if unsafe { &*core }.dependents_generation() != 0 {
            self.note_extras();
        }
    }

    #[inline]
    fn find_write(&self, core: *const VarCore) -> Option<usize> {
        if self.filter() & filter_bit(core) == 0 {
            return None;
        }
        if self.writes.len() > INDEX_FROM {
            return self.write_index.get(&(core as usize)).copied();
        }
        self.writes.iter().rposition(|w| w.core == core)
    }

    /// Keeps `write_index` in step after the log grew by one entry.
    fn index_last_write(&mut self) {
        self.note_extras();
        let n = self.writes.len();
        if n == INDEX_FROM + 1 {
            let index = &mut self.write_index;
            index.extend(
                self.writes
                    .iter()
                    .enumerate()
                    .map(|(i, w)| (w.core as usize, i)),
            );
        } else if n > INDEX_FROM + 1 {
            self.write_index
                .insert(self.writes[n - 1].core as usize, n - 1);
        }
    }

    /// Reads a variable. The common case (no extras, not written, unlocked
    /// and no newer than the snapshot) is inlined; the rest goes the long way.
    #[inline]
    pub(crate) fn read_var<T: Clone + Send + Sync + 'static>(
        &mut self,
        var: &TVar<T>,
    ) -> StmResult<T> {
        let core: *const VarCore = var.core();
        // Most reads come before any write: an empty filter needs no bit.
        // An attempt with extras has every bit set.
        let filter = self.fast_filter;
        if filter == 0 || filter & filter_bit(core) == 0 {
            if let Some((value, version)) = self.read_in_snapshot(var) {
                self.push_read(ReadEntry { core, version });
                return Ok(value);
            }
        }
        self.read_var_full(var)
    }

    /// Logs a read. Growing the log is out of line, so the common push
    /// keeps the caller's registers.
    #[inline]
    fn push_read(&mut self, entry: ReadEntry) {
        if let Err(entry) = self.reads.push_within_room(entry) {
            self.push_read_growing(entry);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_read_growing(&mut self, entry: ReadEntry) {
        // `clear` trims a log that grew too long.
        self.long_way = true;
        self.reads.push(entry);
    }

    /// The committed value and its version, if the variable is unlocked and
    /// no newer than the snapshot (the fast paths' read; `None` sends the
    /// caller the long way).
    #[inline]
    fn read_in_snapshot<T: Clone + Send + Sync + 'static>(
        &mut self,
        var: &TVar<T>,
    ) -> Option<(T, Version)> {
        let lock = &var.core().lock;
        let before = lock.load();
        let version = before.version_within(self.read_version)?;
        let value = self.load_value(var);
        (lock.load() == before).then_some((value, version))
    }

    #[inline(never)]
    fn read_var_full<T: Clone + Send + Sync + 'static>(&mut self, var: &TVar<T>) -> StmResult<T> {
        self.usable()?;
        let core: *const VarCore = var.core();
        if self.capturing > 0 {
            self.captured.push(var.erased());
        }
        if let Some(i) = self.find_write(core) {
            return Ok(self.slot_value::<T>(self.writes[i].value));
        }
        let (value, version) = self.read_committed(var)?;
        self.push_read(ReadEntry { core, version });
        Ok(value)
    }

    /// Reads the committed value consistently with the attempt's snapshot,
    /// extending the snapshot when the variable is newer and nothing read so
    /// far has changed.
    #[inline]
    fn read_committed<T: Clone + Send + Sync + 'static>(
        &mut self,
        var: &TVar<T>,
    ) -> StmResult<(T, Version)> {
        let lock = &var.core().lock;
        let mut spins = 0u32;
        loop {
            let before = self.word_in_snapshot(lock, &mut spins)?;
            let value = self.load_value(var);
            if lock.load() != before {
                crate::backoff::spin(&mut spins);
                continue;
            }
            return Ok((value, before.version()));
        }
    }

    /// Waits for `lock` to be unlocked at a version the snapshot covers,
    /// extending the snapshot when the variable is newer; the caller then
    /// loads the value and checks that the word has not moved.
    fn word_in_snapshot(&mut self, lock: &VersionedLock, spins: &mut u32) -> StmResult<LockWord> {
        loop {
            let before = lock.load();
            if before.is_locked() {
                if *spins > 10 {
                    self.count(Event::Conflict);
                    return Err(self.doom(StmError::conflict()));
                }
                crate::backoff::spin(spins);
                continue;
            }
            if before.version() > self.read_version {
                if !self.extend() {
                    self.count(Event::Conflict);
                    return Err(self.doom(StmError::conflict()));
                }
                // Look again under the new snapshot (before loading the
                // value): a commit that ticked the clock before the extension
                // may still be publishing this very variable, and its version
                // must be checked against it.
                continue;
            }
            return Ok(before);
        }
    }

    /// `var.read_with(f)`: like `read_var`, but lends the value to `f`
    /// instead of cloning it. A boxed value is immutable once published and
    /// the attempt's epoch guard keeps it alive, so a pointer loaded between
    /// two equal lock words is the value at that version for as long as `f`
    /// runs.
    #[inline]
    pub(crate) fn read_var_with<T, R>(
        &mut self,
        var: &TVar<T>,
        f: impl FnOnce(&T) -> R,
    ) -> StmResult<R>
    where
        T: Send + Sync + 'static,
    {
        let core: *const VarCore = var.core();
        let filter = self.fast_filter;
        if filter == 0 || filter & filter_bit(core) == 0 {
            // The common case, as in `read_in_snapshot`.
            let before = var.core().lock.load();
            if before.version_within(self.read_version).is_some() {
                match self.lend_if_unchanged(var, before, f) {
                    Ok(result) => return Ok(result),
                    Err(back) => return self.read_var_with_full(var, back),
                }
            }
        }
        self.read_var_with_full(var, f)
    }

    /// Lends the committed value of `var` to `f` and logs the read, if the
    /// lock word is still `before` (unlocked, within the snapshot) once the
    /// value is in hand; hands `f` back otherwise.
    #[inline]
    fn lend_if_unchanged<T, R, F>(&mut self, var: &TVar<T>, before: LockWord, f: F) -> Result<R, F>
    where
        T: Send + Sync + 'static,
        F: FnOnce(&T) -> R,
    {
        let inline;
        let value = if is_inline::<T>() {
            inline = var.inner.load_inline();
            &inline
        } else {
            var.inner.value_ref(self.guard())
        };
        if var.core().lock.load() != before {
            return Err(f);
        }
        let result = f(value);
        self.push_read(ReadEntry {
            core: var.core(),
            version: before.version(),
        });
        Ok(result)
    }

    /// The rest of `read_var_with`: the attempt's own writes, extras, a
    /// locked or newer variable.
    #[inline(never)]
    fn read_var_with_full<T, R>(&mut self, var: &TVar<T>, f: impl FnOnce(&T) -> R) -> StmResult<R>
    where
        T: Send + Sync + 'static,
    {
        let core: *const VarCore = var.core();
        if self.extras() || self.filter() & filter_bit(core) != 0 {
            self.usable()?;
            if self.capturing > 0 {
                self.captured.push(var.erased());
            }
            if let Some(i) = self.find_write(core) {
                return Ok(match self.writes[i].value {
                    Slot::Bits(bits) => f(&from_bits::<T>(bits)),
                    Slot::Boxed(j) => f(self.boxed_ref::<T>(j)),
                });
            }
        }
        let mut f = f;
        let mut spins = 0u32;
        loop {
            let before = self.word_in_snapshot(&var.core().lock, &mut spins)?;
            match self.lend_if_unchanged(var, before, f) {
                Ok(result) => return Ok(result),
                Err(back) => {
                    f = back;
                    crate::backoff::spin(&mut spins);
                }
            }
        }
    }

    /// Moves the snapshot forward if everything read so far is unchanged.
    fn extend(&mut self) -> bool {
        let now = GLOBAL_CLOCK.now();
        if self.validate_reads(0, false) {
            self.read_version = now;
            true
        } else {
            false
        }
    }

    /// `var.modify(f)`. In the common case (no extras, not yet written,
    /// unlocked and no newer than the snapshot) one write entry also stands
    /// for the read: it carries the version read and is validated as a read.
    #[inline]
    pub(crate) fn modify_var<T, F>(&mut self, var: &TVar<T>, f: F) -> StmResult<()>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce(T) -> T,
    {
        {
            let core: *const VarCore = var.core();
            let bit = filter_bit(core);
            // Kept in a register across the read's atomic loads, which the
            // compiler may not move a reload of the field above.
            let filter = self.fast_filter;
            if filter & bit == 0 {
                if let Some((value, version)) = self.read_in_snapshot(var) {
                    let slot = self.new_slot(var, f(value));
                    self.fast_filter = filter | bit;
                    let mut entry = WriteEntry::new(core, slot, 0);
                    entry.read_at = version;
                    self.push_write_short(entry);
                    return Ok(());
                }
            }
        }
        let old = self.read_var(var)?;
        self.write_var(var, f(old))
    }

    /// `var.update(f)`: changes the attempt's own buffered value in place
    /// when this branch already wrote a boxed `var` (no copy), else reads a
    /// copy, changes it and writes it.
    #[inline]
    pub(crate) fn update_var<T, R>(
        &mut self,
        var: &TVar<T>,
        f: impl FnOnce(&mut T) -> R,
    ) -> StmResult<R>
    where
        T: Clone + Send + Sync + 'static,
    {
        if !is_inline::<T>() {
            if let Some(value) = self.own_buffered_value::<T>(var)? {
                return Ok(f(value));
            }
        }
        let mut value = self.read_var(var)?;
        let result = f(&mut value);
        self.write_var(var, value)?;
        Ok(result)
    }

    /// The value this attempt buffered for `var`, if it may be changed in
    /// place: written in the running `or_else` branch (or one nested in it),
    /// so rolling a branch back never needs the value it replaced.
    fn own_buffered_value<T: Send + Sync + 'static>(
        &mut self,
        var: &TVar<T>,
    ) -> StmResult<Option<&mut T>> {
        let core: *const VarCore = var.core();
        if self.filter() & filter_bit(core) == 0 {
            return Ok(None);
        }
        self.usable()?;
        if matches!(self.mode, Mode::Checking(_)) {
            // The write that follows reports the failed check.
            return Ok(None);
        }
        let Some(i) = self.find_write(core) else {
            return Ok(None);
        };
        let entry = self.writes[i];
        let Slot::Boxed(j) = entry.value else {
            return Ok(None);
        };
        if entry.branch < self.branch {
            return Ok(None);
        }
        if self.capturing > 0 {
            self.captured.push(var.erased());
        }
        Ok(Some(self.boxed_mut::<T>(j)))
    }

    /// Buffers a write. Without extras there is no `or_else` branch and no
    /// check running, so a repeated write overwrites its entry in place.
    #[inline]
    pub(crate) fn write_var<T: Clone + Send + Sync + 'static>(
        &mut self,
        var: &TVar<T>,
        value: T,
    ) -> StmResult<()> {
        let core: *const VarCore = var.core();
        let bit = filter_bit(core);
        if self.fast_filter & bit == 0 {
            self.fast_filter |= bit;
            let slot = self.new_slot(var, value);
            self.push_write_short(WriteEntry::new(core, slot, 0));
            return Ok(());
        }
        if !self.extras() {
            if let Some(i) = self.writes.iter().rposition(|w| w.core == core) {
                let mut slot = self.writes[i].value;
                self.set_slot(&mut slot, value);
                self.writes[i].value = slot;
                return Ok(());
            }
        }
        self.write_var_full(var, value)
    }

    #[inline(never)]
    fn write_var_full<T: Clone + Send + Sync + 'static>(
        &mut self,
        var: &TVar<T>,
        value: T,
    ) -> StmResult<()> {
        self.usable()?;
        if let Mode::Checking(name) = &self.mode {
            let failure = Failure::InvalidCheck {
                invariant: name.clone(),
                reason: "wrote a transactional variable",
            };
            return Err(self.doom(StmError::failed(failure)));
        }
        let core: *const VarCore = var.core();
        match self.find_write(core) {
            Some(i) if self.writes[i].branch >= self.branch => {
                let mut slot = self.writes[i].value;
                self.set_slot(&mut slot, value);
                self.writes[i].value = slot;
            }
            Some(i) => {
                // Last saved outside the current `or_else` branch: keep the
                // old value so the branch can be rolled back.
                let slot = self.new_slot(var, value);
                let old = std::mem::replace(&mut self.writes[i].value, slot);
                self.undo.push(Undo {
                    index: i,
                    value: old,
                    branch: self.writes[i].branch,
                });
                self.writes[i].branch = self.branch;
            }
            None => {
                self.mark_written(core);
                let slot = self.new_slot(var, value);
                self.push_write(WriteEntry::new(core, slot, self.branch));
                if self.writes.len() > INDEX_FROM {
                    self.index_last_write();
                }
            }
        }
        Ok(())
    }

    /// Whether the attempt has written any of the variables at `addrs`
    /// (addresses of `VarCore`s' owners as [`crate::var::dep_addr`] gives them).
    pub(crate) fn wrote_any(&self, deps: &[usize]) -> bool {
        if self.writes.is_empty() {
            return false;
        }
        self.writes.iter().any(|w| {
            // A variable's core is the first field of its allocation.
            let addr = w.core as usize;
            deps.binary_search(&addr).is_ok()
        })
    }

    pub(crate) fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    // ---- validation -------------------------------------------------------

    /// Checks that every read from index `from` still has the version it was
    /// read at. With `own_locks`, a variable locked by this transaction counts
    /// as unchanged if it had that version when we locked it.
    fn validate_reads(&self, from: usize, own_locks: bool) -> bool {
        for r in &self.reads[from..] {
            // SAFETY: the core belongs to a variable this attempt read; the
            // variable is freed only after the attempt ends (reclaim.rs).
            let word = unsafe { &*r.core }.lock.load();
            if word.is_locked() {
                // Ours if we wrote it (every written variable is locked
                // now); a held word keeps the version it was locked at.
                if !own_locks || self.find_write(r.core).is_none() || word.version() != r.version {
                    return false;
                }
            } else if word.version() != r.version {
                return false;
            }
        }
        if from == 0 {
            for w in self.writes.iter().filter(|w| w.read_at != NOT_READ) {
                // SAFETY: written variables live until the attempt ends.
                let word = unsafe { &*w.core }.lock.load();
                // Locked, it is locked by this commit (every written variable
                // is), at the version it was locked at.
                if (word.is_locked() && !own_locks) || word.version() != w.read_at {
                    return false;
                }
            }
            for (node, version) in &self.meta_reads {
                let word = node.meta.load();
                let mine = own_locks
                    && word.is_locked()
                    && self.ran.iter().any(|r| {
                        r.changed && Arc::ptr_eq(&r.node, node) && r.meta_version == *version
                    });
                if !mine && (word.is_locked() || word.version() != *version) {
                    return false;
                }
            }
        }
        true
    }

    // ---- or_else ------------------------------------------------------------

    pub(crate) fn checkpoint(&mut self) -> Checkpoint {
        self.note_extras();
        self.branches += 1;
        let parent = std::mem::replace(&mut self.branch, self.branches);
        Checkpoint {
            parent,
            writes: self.writes.len(),
            undo: self.undo.len(),
            commit_hooks: self.commit_hooks.len(),
            abort_hooks: self.abort_hooks.len(),
            ran: self.ran.len(),
        }
    }

    /// Keeps what the branch did: it becomes part of the enclosing branch,
    /// whose rollback also undoes it (the branch's undo entries and new write
    /// entries all come after the enclosing checkpoint).
    pub(crate) fn release(&mut self, cp: Checkpoint) {
        self.branch = cp.parent;
    }

    /// Undoes what the branch wrote and registered; keeps its reads, so a
    /// transaction whose branches all retry waits on all of them.
    pub(crate) fn rollback(&mut self, cp: Checkpoint) -> Vec<Box<dyn FnOnce()>> {
        while self.undo.len() > cp.undo {
            let undo = self.undo.pop().expect("checked length");
            self.writes[undo.index].value = undo.value;
            self.writes[undo.index].branch = undo.branch;
        }
        if self.writes.len() > INDEX_FROM {
            if cp.writes > INDEX_FROM {
                for w in &self.writes[cp.writes..] {
                    self.write_index.remove(&(w.core as usize));
                }
            } else {
                self.write_index.clear();
            }
        }
        self.writes.truncate(cp.writes);
        // Only attempts with extras roll back.
        self.write_filter = self.writes.iter().fold(0, |f, w| f | filter_bit(w.core));
        self.commit_hooks.truncate(cp.commit_hooks);
        self.ran.truncate(cp.ran);
        self.branch = cp.parent;
        self.abort_hooks.split_off(cp.abort_hooks)
    }

    /// Runs `first`; if it calls [`retry`](crate::retry), undoes its writes
    /// and runs `second` on the same snapshot. If both retry, the whole
    /// transaction blocks until something either branch read changes.
    ///
    /// Abort hooks registered by a rolled-back `first` run when the
    /// transaction ends (committed or not), outside it, before the other
    /// hooks; its commit hooks are dropped.
    pub fn or_else<T, A, B>(&mut self, first: A, second: B) -> StmResult<T>
    where
        A: FnOnce(&mut Transaction) -> StmResult<T>,
        B: FnOnce(&mut Transaction) -> StmResult<T>,
    {
        self.usable()?;
        let cp = self.checkpoint();
        match first(self) {
            Err(e) if e.is_retry() && self.doomed.is_none() => {
                let hooks = self.rollback(cp);
                self.rolled_back_hooks.extend(hooks);
                second(self)
            }
            other => {
                self.release(cp);
                other
            }
        }
    }

    // ---- hooks ---------------------------------------------------------------

    /// Runs `hook` once, after the transaction commits and its writes are
    /// visible, in registration order. Dropped if the attempt aborts.
    pub fn on_commit<F: FnOnce() + 'static>(&mut self, hook: F) {
        self.note_extras();
        self.commit_hooks.push(Box::new(hook));
    }

    /// Runs `hook` if this attempt fails (conflict, retry, error or panic).
    /// Registered again by each re-run, so it runs once per failed attempt.
    pub fn on_abort<F: FnOnce() + 'static>(&mut self, hook: F) {
        self.note_extras();
        self.abort_hooks.push(Box::new(hook));
    }

    // ---- invariants and derived values ----------------------------------------

    /// Registers an invariant. The check runs at once (its failure fails this
    /// transaction) and again at the end of every later transaction that writes
    /// a variable it read on its previous run.
    ///
    /// The check lives as long as any variable it read: capture `Weak`
    /// references to the data it guards (see the guide), never a strong handle
    /// to a variable it reads, or the two keep each other alive.
    ///
    /// ```
    /// use steadfast_core::{atomically, atomically_or_failure, CheckError, TVar};
    /// let balance = TVar::new(10i64);
    /// let b = balance.clone();
    /// atomically(|tx| tx.invariant("solvent", {
    ///     let b = b.clone();
    ///     move |tx| if b.read(tx)? >= 0 { Ok(()) } else { Err(CheckError::violated("overdrawn")) }
    /// }));
    /// let r = atomically_or_failure(|tx| balance.write(tx, -5));
    /// assert_eq!(r.unwrap_err().invariant_violation().unwrap().invariant, "solvent");
    /// assert_eq!(balance.load(), 10);
    /// ```
    pub fn invariant<F>(&mut self, name: impl Into<Cow<'static, str>>, check: F) -> StmResult<()>
    where
        F: Fn(&mut Transaction) -> CheckResult + Send + Sync + 'static,
    {
        let wrapped = move |tx: &mut Transaction| -> Result<(), String> {
            match check(tx) {
                Ok(()) => Ok(()),
                Err(e) => match e.0 {
                    CheckErrorKind::Violated(m) => Err(m),
                    CheckErrorKind::Stm(stm) => {
                        tx.doom(stm.clone());
                        Err(stm.to_string())
                    }
                },
            }
        };
        let node = Node::new(NodeKind::Invariant {
            name: name.into(),
            check: Box::new(wrapped),
        });
        self.run_node(node, true)
    }

    /// Registers an invariant over `owner`, which the check holds only
    /// weakly: once every other handle to the owner is dropped the check
    /// retires, and no reference cycle keeps either alive. This is the way to
    /// guard an object whose variables the check reads.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use steadfast_core::{atomically, atomically_or_failure, CheckError, TVar};
    /// struct Range { low: TVar<i32>, high: TVar<i32> }
    /// let range = Arc::new(Range { low: TVar::new(1), high: TVar::new(5) });
    /// atomically(|tx| tx.invariant_owned("ordered", &range, |r: &Range, tx| {
    ///     if r.low.read(tx)? <= r.high.read(tx)? { Ok(()) }
    ///     else { Err(CheckError::violated("low > high")) }
    /// }));
    /// assert!(atomically_or_failure(|tx| range.low.write(tx, 9)).is_err());
    /// ```
    pub fn invariant_owned<O, F>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        owner: &Arc<O>,
        check: F,
    ) -> StmResult<()>
    where
        O: Send + Sync + 'static,
        F: Fn(&O, &mut Transaction) -> CheckResult + Send + Sync + 'static,
    {
        let owner = Arc::downgrade(owner);
        self.invariant(name, move |tx| match owner.upgrade() {
            Some(owner) => check(&owner, tx),
            // The guarded object is gone: reading nothing detaches the check.
            None => Ok(()),
        })
    }

    /// Runs a node created by this transaction and marks it for attachment.
    pub(crate) fn run_registered(&mut self, node: &Arc<Node>) -> StmResult<()> {
        self.run_node(node.clone(), true)
    }

    fn begin_capture(&mut self) -> usize {
        self.note_extras();
        self.capturing += 1;
        self.captured.len()
    }

    fn end_capture(&mut self, start: usize) -> Vec<DepRef> {
        self.capturing -= 1;
        // SAFETY: captured during this attempt, which is still running.
        let deps = unsafe { to_dep_refs(&self.captured[start..]) };
        if self.capturing == 0 {
            self.captured.clear();
        }
        deps
    }

    /// Runs an invariant or eager node, recording what it read.
    /// Takes the node by value: the caller's reference (most often the due
    /// list's) becomes the one the attempt keeps for it, one reference
    /// count less to take and drop.
    fn run_node(&mut self, node: Arc<Node>, is_new: bool) -> StmResult<()> {
        self.usable()?;
        self.note_extras();
        let meta = node.meta.load();
        if meta.is_locked() {
            self.count(Event::Conflict);
            return Err(self.doom(StmError::conflict()));
        }
        let start = self.begin_capture();
        let result = match &node.kind {
            NodeKind::Invariant { name, check } => {
                self.count(Event::InvariantRun);
                let outer = std::mem::replace(&mut self.mode, Mode::Checking(name.clone()));
                let outcome = check(self);
                self.mode = outer;
                match (outcome, self.doomed.clone()) {
                    (_, Some(e)) if !e.is_retry() => Err(e),
                    (_, Some(_)) => {
                        // The retry doomed the attempt as a retry, which would
                        // block the registering transaction: replace it.
                        self.doomed = None;
                        Err(StmError::failed(Failure::InvalidCheck {
                            invariant: name.clone(),
                            reason: "called retry",
                        }))
                    }
                    (Ok(()), None) => Ok(()),
                    (Err(message), None) => {
                        self.count(Event::InvariantFailure);
                        Err(StmError::failed(Failure::InvariantViolated(
                            InvariantViolation {
                                invariant: name.clone(),
                                message,
                            },
                        )))
                    }
                }
            }
            NodeKind::Eager { recompute } => {
                self.count(Event::EagerRun);
                match recompute(self) {
                    Err(e) if e.is_retry() => Err(StmError::failed(Failure::InvalidCheck {
                        invariant: Cow::Borrowed("eager cache"),
                        reason: "called retry",
                    })),
                    other => other,
                }
            }
            NodeKind::Lazy { .. } => unreachable!("lazy caches are filled by LazyCache::get"),
        };
        // Normalise the reads into a reused buffer: most runs read what they
        // read last time, and then nothing needs to be kept.
        let mut deps = std::mem::take(&mut self.dep_scratch);
        deps.clear();
        deps.extend_from_slice(&self.captured[start..]);
        self.capturing -= 1;
        if self.capturing == 0 {
            self.captured.clear();
        }
        normalize_raw(&mut deps);
        if let Err(e) = result {
            self.dep_scratch = deps;
            return Err(self.doom(e));
        }
        let changed = {
            let old = lock(&node.deps);
            old.len() != deps.len()
                || old
                    .iter()
                    .zip(&deps)
                    .any(|(a, &b)| crate::var::dep_addr(a) != raw_addr(b))
        };
        let is_new = is_new
            || self
                .ran
                .iter()
                .any(|r| r.is_new && Arc::ptr_eq(&r.node, &node));
        self.ran.retain(|r| !Arc::ptr_eq(&r.node, &node));
        if !changed {
            self.meta_reads.push((node.clone(), meta.version()));
        }
        let kept = if changed || is_new {
            // SAFETY: captured during this attempt, which is still running.
            unsafe { to_dep_refs(&deps) }
        } else {
            Vec::new()
        };
        deps.clear();
        self.dep_scratch = deps;
        self.ran.push(RanNode {
            node,
            deps: kept,
            meta_version: meta.version(),
            is_new,
            changed,
            attached: Vec::new(),
        });
        Ok(())
    }

    /// Runs, at the end of the body, every node attached to a written
    /// variable: lazy caches are invalidated, eager values recomputed (their
    /// writes trigger further nodes), then invariants checked once.
    fn run_dependents(&mut self) -> StmResult<()> {
        if self.ran.is_empty() {
            // The common case: nothing registered, and no written variable
            // has ever had a dependent.
            let mut any = false;
            for w in self.writes.iter_mut() {
                // SAFETY: written variables live until the attempt ends (reclaim.rs).
                let generation = unsafe { &*w.core }.dependents_generation();
                w.dependents_seen = generation;
                any |= generation != 0;
            }
            if !any {
                return Ok(());
            }
        }
        // Buffers kept by the transaction: an ordinary commit allocates
        // nothing to list the nodes it runs.
        let mut due = std::mem::take(&mut self.due);
        let result = self.run_dependents_into(&mut due);
        due.clear();
        // What `take` left behind is three empty vectors: nothing to free,
        // so forgetting them skips their drop.
        std::mem::forget(std::mem::replace(&mut self.due, due));
        result
    }

    fn run_dependents_into(&mut self, due: &mut DueNodes) -> StmResult<()> {
        let mut next = 0;
        let mut eager_runs = 0u32;
        // Nodes registered by this attempt already ran, in the body. They are
        // not attached yet, so no write finds them: they run again only if
        // the attempt has written something they read (possibly before they
        // ran, which is harmless).
        let mut fresh: Vec<(Arc<Node>, Vec<usize>)> = if self.ran.iter().all(|r| !r.is_new) {
            Vec::new()
        } else {
            self.ran
                .iter()
                .filter(|r| r.is_new)
                .map(|r| {
                    (
                        r.node.clone(),
                        r.deps.iter().map(crate::var::dep_addr).collect(),
                    )
                })
                .collect()
        };
        loop {
            while next < self.writes.len() {
                // SAFETY: written variables live until the attempt ends (reclaim.rs).
                let core = unsafe { &*self.writes[next].core };
                let generation = core.dependents_generation();
                self.writes[next].dependents_seen = generation;
                next += 1;
                if generation != 0 {
                    core.for_each_dependent(|node| due.add(node));
                }
            }
            if !due.lazy.is_empty() {
                for cache in due.lazy.drain(..) {
                    cache.invalidate(self)?;
                }
            }
            if next < self.writes.len() {
                continue;
            }
            if !fresh.is_empty() {
                fresh.retain(|(node, deps)| {
                    if !self.wrote_any(deps) {
                        return true;
                    }
                    if node.is_invariant() {
                        due.invariants.push(node.clone());
                    } else {
                        due.eager.push(node.clone());
                    }
                    false
                });
            }
            if let Some(node) = due.eager.pop() {
                eager_runs += 1;
                if eager_runs > 10_000 {
                    return Err(self.doom(StmError::failed(Failure::DerivationCycle)));
                }
                self.run_node(node, false)?;
                continue;
            }
            break;
        }
        // In the order they became due, each handed over rather than cloned
        // (popping is cheaper than draining).
        due.invariants.reverse();
        while let Some(node) = due.invariants.pop() {
            self.run_node(node, false)?;
        }
        drop_list(fresh);
        Ok(())
    }

    // ---- commit ----------------------------------------------------------------

    /// Publishes the attempt (TL2): run dependents, lock the write set, attach
    /// new dependency edges, take a version, validate, publish, unlock, wake.
    #[inline]
    pub(crate) fn commit(&mut self, serial: bool) -> Result<(), CommitError> {
        if !self.extras() {
            return self.commit_plain(serial);
        }
        self.commit_with_nodes(serial)
    }

    /// The whole commit of an attempt with nothing but reads and writes,
    /// when nothing stands in its way: every lock free at the first try, no
    /// transaction running alone, no commit since the snapshot, only inline
    /// values and no waiters to wake. A read-only attempt ends here inline;
    /// one that wrote goes to a leaf (it calls nothing), so the common
    /// commit saves no registers.
    ///
    /// `Untouched`: it took no lock and ticked nothing; commit the usual way.
    /// `Ticked`: it holds the locks of the entries not yet published and
    /// took a version; [`Self::finish_ticked`] ends the commit.
    #[inline]
    pub(crate) fn commit_quick(&mut self) -> QuickCommit {
        if self.extras() {
            return QuickCommit::Untouched;
        }
        if self.writes.is_empty() {
            // Read-only: every read was consistent with the snapshot when made.
            self.count(Event::Commit);
            return QuickCommit::Committed;
        }
        self.commit_quick_writes()
    }

    /// `commit_quick` for an attempt that wrote (no variable with
    /// dependents: that is an extra).
    #[inline(never)]
    fn commit_quick_writes(&mut self) -> QuickCommit {
        // The entry whose lock failed, found by address (null: none failed),
        // so the loop keeps no count.
        let failed: *const WriteEntry = 'lock: {
            for w in self.writes.iter_mut() {
                // SAFETY: written variables live until the attempt ends (reclaim.rs).
                let core = unsafe { &*w.core };
                let Some(locked) = core.lock.try_lock() else {
                    break 'lock w;
                };
                if core.dependents_generation() != w.dependents_seen {
                    core.lock.unlock_unchanged(locked);
                    break 'lock w;
                }
                w.locked = locked;
            }
            std::ptr::null()
        };
        if !failed.is_null() || serial::active() {
            // `unlock_all` inline: a call would make the leaf save registers.
            let taken = self.writes.iter().take_while(|w| !std::ptr::eq(*w, failed));
            for w in taken {
                // SAFETY: as above.
                unsafe { &*w.core }.lock.unlock_unchanged(w.locked);
            }
            return QuickCommit::Untouched;
        }
        let (version, alone) = self.take_version();
        if !alone {
            return QuickCommit::Ticked {
                published: Published::None,
            };
        }
        // No commit came between snapshot and version: nothing read changed.
        // Entries that need the general way stay locked for it.
        let needs_general = |w: &WriteEntry| match w.value {
            Slot::Bits(bits) if !w.locked.had_waiters() => {
                // SAFETY: as above.
                let core = unsafe { &*w.core };
                core.bits.store(bits, Ordering::Release);
                core.lock.unlock(version);
                false
            }
            _ => true,
        };
        let mut entries = self.writes.iter();
        if entries.by_ref().any(needs_general) {
            entries.for_each(|w| {
                needs_general(w);
            });
            return QuickCommit::Ticked {
                published: Published::Plain,
            };
        }
        self.count(Event::Commit);
        QuickCommit::Committed
    }

    /// Starts the next attempt from the clock as it is now: after a
    /// conflict, the snapshot that lost is likely stale.
    pub(crate) fn start_from_now(&mut self) {
        self.read_version = GLOBAL_CLOCK.now();
    }

    /// Takes a version for a commit holding its locks, and whether it
    /// directly follows the snapshot (then nothing read can have changed).
    /// The thread's next attempt starts from it.
    #[inline]
    fn take_version(&mut self) -> (Version, bool) {
        let version = GLOBAL_CLOCK.tick();
        let alone = version == self.read_version + 1;
        self.read_version = version;
        (version, alone)
    }

    /// Ends a commit that [`Self::commit_quick`] left `Ticked`: validates
    /// if another commit came between snapshot and version, then publishes
    /// what is left.
    #[cold]
    #[inline(never)]
    pub(crate) fn finish_ticked(&mut self, published: Published) -> Result<(), CommitError> {
        match published {
            Published::None => self.validate_and_publish(false),
            Published::Plain => {
                // Boxed values and variables with waiters.
                self.publish_writes(self.read_version, |w| {
                    matches!(w.value, Slot::Boxed(_)) || w.locked.had_waiters()
                });
                self.count(Event::Commit);
                Ok(())
            }
        }
    }

    /// Ends a commit that holds every lock and has taken its version (now
    /// `read_version`): validates the reads unless the version directly
    /// followed the snapshot (`alone`), then publishes every entry.
    #[inline]
    fn validate_and_publish(&mut self, alone: bool) -> Result<(), CommitError> {
        if !alone && !self.validate_reads(0, true) {
            self.unlock_all(self.writes.len(), None);
            self.count(Event::Conflict);
            return Err(CommitError::Conflict);
        }
        self.publish_writes(self.read_version, |_| true);
        self.count(Event::Commit);
        Ok(())
    }

    /// The commit of an attempt that ran or must run nodes, or used extras.
    #[inline(never)]
    fn commit_with_nodes(&mut self, serial: bool) -> Result<(), CommitError> {
        if let Some(e) = self.doomed.clone() {
            return Err(e.into());
        }
        // Once per attempt: a commit retried after waiting at the serial gate
        // keeps the checks it ran (their reads are validated below).
        if !self.dependents_ran {
            self.run_dependents()?;
            self.dependents_ran = true;
        }
        let edges_change = self.ran.iter().any(|r| r.changed);
        if self.writes.is_empty() && !edges_change {
            // Read-only: every read was consistent with the snapshot when made.
            self.count(Event::Commit);
            return Ok(());
        }
        let locked = self.lock_write_set()?;
        if !self.lock_metas() {
            self.unlock_all(locked, None);
            self.count(Event::LockConflict);
            return Err(CommitError::Conflict);
        }
        if !serial && serial::active() {
            self.unlock_all(locked, None);
            self.unlock_metas(None);
            return Err(CommitError::SerialGate);
        }
        let attached = edges_change && self.attach_edges();
        if attached {
            // Pairs with the committers' lock-then-check (see `VarCore`).
            fence(Ordering::SeqCst);
        }
        let (write_version, alone) = self.take_version();
        // No commit between our snapshot and our version means nothing we read
        // changed, except when we attached dependents: a writer may have
        // locked one of their variables before the attachment and not ticked
        // yet, so it skipped them. Only validation (which finds it locked)
        // tells.
        let skip_validation = alone && !attached;
        if !skip_validation && !self.validate_reads(0, true) {
            self.detach_attached();
            self.unlock_all(locked, None);
            self.unlock_metas(None);
            self.count(Event::Conflict);
            return Err(CommitError::Conflict);
        }
        self.publish_writes(write_version, |_| true);
        if edges_change {
            self.finish_edges();
        }
        self.unlock_metas(Some(write_version));
        self.count(Event::Commit);
        Ok(())
    }

    /// The commit of an attempt without extras, so one that only read and
    /// wrote variables that had no dependent when written: no node to run,
    /// no edge to attach, no meta lock.
    #[inline]
    fn commit_plain(&mut self, serial: bool) -> Result<(), CommitError> {
        if self.writes.is_empty() {
            self.count(Event::Commit);
            return Ok(());
        }
        // Every `dependents_seen` is 0, the generation read when written (a
        // dependent attached since then fails the lock loop's check).
        self.lock_and_publish(serial)
    }

    /// Locks the write set, takes a version, validates and publishes, for an
    /// attempt with nothing but reads and writes.
    #[inline]
    fn lock_and_publish(&mut self, serial: bool) -> Result<(), CommitError> {
        let locked = self.lock_write_set()?;
        if !serial && serial::active() {
            self.unlock_all(locked, None);
            return Err(CommitError::SerialGate);
        }
        let (_, alone) = self.take_version();
        self.validate_and_publish(alone)
    }

    /// Publishes each buffered value and releases its lock at
    /// `write_version`, waking waiters. A reader that sees one variable new
    /// and another still locked waits.
    #[inline]
    fn publish_writes(&mut self, write_version: Version, pending: impl Fn(&WriteEntry) -> bool) {
        for w in self.writes.iter().filter(|w| pending(w)) {
            // SAFETY: written variables live until the attempt ends.
            let core = unsafe { &*w.core };
            Self::publish_slot(&mut self.boxed, core, w.value, self.guard.as_ref());
            core.lock.unlock(write_version);
            if w.locked.had_waiters() {
                core.waiters.wake_all();
            }
        }
    }

    /// Locks every written variable; on failure releases what it took.
    #[inline]
    fn lock_write_set(&mut self) -> Result<usize, CommitError> {
        let mut failure = None;
        for (i, w) in self.writes.iter_mut().enumerate() {
            // SAFETY: written variables live until the attempt ends (reclaim.rs).
            let core = unsafe { &*w.core };
            let Some(locked) = lock_or_spin(&core.lock) else {
                failure = Some((i, Event::LockConflict));
                break;
            };
            w.locked = locked;
            // A dependent attached after we collected this variable's
            // dependents would be skipped: start over to run it.
            if core.dependents_generation() != w.dependents_seen {
                failure = Some((i + 1, Event::Conflict));
                break;
            }
        }
        if let Some((taken, event)) = failure {
            self.unlock_all(taken, None);
            self.count(event);
            return Err(CommitError::Conflict);
        }
        Ok(self.writes.len())
    }

    /// Unlocks the first `count` written variables: at `version` after a
    /// publish, or back at their old version after a failed commit.
    fn unlock_all(&self, count: usize, version: Option<Version>) {
        for w in &self.writes[..count] {
            // SAFETY: written variables live until the attempt ends (reclaim.rs).
            let lock = &unsafe { &*w.core }.lock;
            match version {
                Some(version) => lock.unlock(version),
                None => lock.unlock_unchanged(w.locked),
            }
        }
    }

    fn lock_metas(&mut self) -> bool {
        for i in 0..self.ran.len() {
            if self.ran[i].changed
                && self.ran[i]
                    .node
                    .meta
                    .try_lock_at(self.ran[i].meta_version)
                    .is_none()
            {
                for r in &self.ran[..i] {
                    if r.changed {
                        r.node.meta.unlock(r.meta_version);
                    }
                }
                return false;
            }
        }
        true
    }

    fn unlock_metas(&self, version: Option<Version>) {
        for r in self.ran.iter().filter(|r| r.changed) {
            r.node.meta.unlock(version.unwrap_or(r.meta_version));
        }
    }

    /// Attaches each changed node to the variables it newly depends on,
    /// before validation (see `VarCore::dependents_added`).
    fn attach_edges(&mut self) -> bool {
        let mut any = false;
        for r in self.ran.iter_mut().filter(|r| r.changed) {
            let old = lock(&r.node.deps).clone();
            let (added, _) = diff(&old, &r.deps);
            for dep in added {
                if let Some(var) = dep.upgrade() {
                    var.core().attach(&r.node);
                    reclaim::global::retire(var);
                    r.attached.push(dep);
                    any = true;
                }
            }
        }
        any
    }

    fn detach_attached(&mut self) {
        for r in self.ran.iter_mut() {
            for dep in r.attached.drain(..) {
                if let Some(var) = dep.upgrade() {
                    var.core().detach(&r.node);
                    reclaim::global::retire(var);
                }
            }
        }
    }

    /// After publishing: record each changed node's new dependencies and drop
    /// the edges it no longer needs.
    fn finish_edges(&mut self) {
        for r in self.ran.iter_mut().filter(|r| r.changed) {
            let old = std::mem::replace(&mut *lock(&r.node.deps), r.deps.clone());
            let (_, removed) = diff(&old, &r.deps);
            for dep in removed {
                if let Some(var) = dep.upgrade() {
                    var.core().detach(&r.node);
                    reclaim::global::retire(var);
                }
            }
        }
    }

    // ---- lazy caches -------------------------------------------------------------

    /// Reads a lazy cache: a hit costs one variable read; a miss computes with
    /// `compute` and, when the result is valid for the committed state, stores it.
    /// `compute`'s `Err` values are returned but never stored.
    pub(crate) fn cache_get<V, E, F>(
        &mut self,
        cell: &TVar<Option<(V, Version)>>,
        node: &Arc<Node>,
        compute: F,
    ) -> StmResult<Result<V, E>>
    where
        V: Clone + Send + Sync + 'static,
        F: FnOnce(&mut Transaction) -> StmResult<Result<V, E>>,
    {
        self.usable()?;
        if self.has_writes() && self.wrote_any(&node.dep_addrs()) {
            // Our own writes changed the inputs: compute privately, store nothing.
            return compute(self);
        }
        let core: *const VarCore = cell.core();
        if self.capturing > 0 {
            self.captured.push(cell.erased());
        }
        if let Some(i) = self.find_write(core) {
            // We invalidated it ourselves earlier in this transaction.
            let _ = i;
            return compute(self);
        }
        let (cached, version) = match self.read_in_snapshot(cell) {
            Some(read) => read,
            None => self.read_committed(cell)?,
        };
        self.push_read(ReadEntry { core, version });
        if let Some((value, computed_at)) = cached {
            // The value may come from a fill that completed after the check
            // above (we may even have waited for it): its dependencies are
            // in place now, so check again whether we wrote one of them.
            if self.has_writes() && self.wrote_any(&node.dep_addrs()) {
                return compute(self);
            }
            // Filling keeps the cell's version, so a value computed from a
            // snapshot newer than ours may reflect writes we must not see
            // (to inputs we read before, or that were not yet inputs). Move
            // our snapshot forward first: that validates every read so far,
            // the cell's included.
            if computed_at > self.read_version && !self.extend() {
                self.count(Event::Conflict);
                return Err(self.doom(StmError::conflict()));
            }
            self.count(Event::CacheHit);
            return Ok(Ok(value));
        }
        self.count(Event::CacheMiss);
        let reads_start = self.reads.len();
        let start = self.begin_capture();
        let result = compute(self);
        let mut deps = self.end_capture(start);
        let value = match result? {
            Ok(value) => value,
            Err(e) => return Ok(Err(e)),
        };
        normalize(&mut deps);
        let dep_addrs: Vec<usize> = deps.iter().map(crate::var::dep_addr).collect();
        if self.doomed.is_none() && !self.wrote_any(&dep_addrs) {
            self.fill_cache(cell, version, value.clone(), node, deps, reads_start);
        }
        Ok(Ok(value))
    }

    /// Stores a computed cache value if the cell and everything the
    /// computation read are unchanged; keeps the cell's version, so readers
    /// that saw it empty are not disturbed.
    fn fill_cache<V: Clone + Send + Sync + 'static>(
        &mut self,
        cell: &TVar<Option<(V, Version)>>,
        version: Version,
        value: V,
        node: &Arc<Node>,
        deps: Vec<DepRef>,
        reads_start: usize,
    ) {
        let cell_lock = &cell.core().lock;
        let Some(locked) = cell_lock.try_lock_at(version) else {
            return;
        };
        let old = lock(&node.deps).clone();
        let (added, removed) = diff(&old, &deps);
        let mut attached = Vec::new();
        for dep in &added {
            if let Some(var) = dep.upgrade() {
                var.core().attach(node);
                reclaim::global::retire(var);
                attached.push(dep.clone());
            }
        }
        fence(Ordering::SeqCst);
        if self.validate_reads(reads_start, false) {
            let computed_at = self.read_version;
            let guard = self.guard();
            cell.inner
                .install(Owned::new(Some((value, computed_at))), guard);
            *lock(&node.deps) = deps;
            for dep in removed {
                if let Some(var) = dep.upgrade() {
                    var.core().detach(node);
                    reclaim::global::retire(var);
                }
            }
        } else {
            for dep in attached {
                if let Some(var) = dep.upgrade() {
                    var.core().detach(node);
                    reclaim::global::retire(var);
                }
            }
        }
        cell_lock.unlock_unchanged(locked);
    }

    // ---- retry -----------------------------------------------------------------

    /// Prepares to block until a variable this attempt read changes: registers
    /// a waiter on every read variable, then re-validates. The caller aborts
    /// the attempt and calls [`Waiter::park`] on the result. Fails if the
    /// attempt read nothing, since nothing could ever wake it.
    pub(crate) fn prepare_wait(&mut self) -> Result<Arc<Waiter>, Failure> {
        let fused = self.writes.iter().filter(|w| w.read_at != NOT_READ);
        let reads: Vec<(*const VarCore, Version)> = self
            .reads
            .iter()
            .map(|r| (r.core, r.version))
            .chain(fused.map(|w| (w.core, w.read_at)))
            .collect();
        if reads.is_empty() {
            return Err(Failure::RetryWithoutReads);
        }
        let waiter = Waiter::new();
        let mut unchanged = true;
        for (core, version) in reads {
            // SAFETY: read variables live until the attempt ends (reclaim.rs).
            let core = unsafe { &*core };
            core.waiters.register(&waiter);
            // Register first, then flag the lock word (see `lock.rs`).
            if !core.lock.request_wakeup(version) {
                unchanged = false;
                break;
            }
        }
        if !unchanged {
            // Something already changed: do not sleep. The waiter stays in the
            // lists marked woken and is pruned by the next registration.
            waiter.wake();
        }
        Ok(waiter)
    }
}

/// Takes a lock word, spinning a little while another commit holds it.
#[inline]
fn lock_or_spin(lock: &VersionedLock) -> Option<Locked> {
    match lock.try_lock() {
        Some(locked) => Some(locked),
        None => lock_spinning(lock),
    }
}

#[cold]
#[inline(never)]
fn lock_spinning(lock: &VersionedLock) -> Option<Locked> {
    let mut spins = 0u32;
    loop {
        if spins > 8 {
            return None;
        }
        crate::backoff::spin(&mut spins);
        if let Some(locked) = lock.try_lock() {
            return Some(locked);
        }
    }
}

/// Drops `list`, skipping the out-of-line drop call when it holds no
/// allocation: lists on the commit paths are mostly empty, never allocated,
/// and the call would only find that out. (A list of zero-sized values
/// reports the largest capacity, so it is dropped as usual.)
#[inline]
pub(crate) fn drop_list<T>(list: Vec<T>) {
    if list.capacity() == 0 {
        std::mem::forget(list);
    } else {
        drop(list);
    }
}

/// Moves hooks out, leaving the (usually empty) buffer in place.
#[inline]
fn take_hooks(hooks: &mut Vec<Box<dyn FnOnce()>>) -> Vec<Box<dyn FnOnce()>> {
    if hooks.is_empty() {
        Vec::new()
    } else {
        std::mem::take(hooks)
    }
}
