//! When a variable's memory may be freed: once no running transaction can
//! still hold a pointer to it.
//!
//! A transaction keeps raw pointers to the variables it read and wrote until
//! it ends (its logs). Pinning an epoch would protect them, but costs a
//! read-modify-write with a full fence per transaction. Instead each
//! transaction announces itself with plain stores to its own [`Slot`]: odd
//! while it runs, even once it has ended. Dropping a variable handle
//! *retires* it into the dropping thread's [`Bag`]; a batch of retired handles
//! is *sealed* with a snapshot of the slots that were odd, and released once
//! each of those slots has changed.
//!
//! Why plain stores suffice: a transaction reaches a variable only through a
//! handle it borrows, and Rust's ownership orders that use before the
//! handle's drop (through a join, a lock or an `Arc` count, all of which
//! synchronise). The announcement is sequenced before the use, so the
//! sealing thread's load of the slot happens after the announcement and reads
//! it or a later value (write-read coherence). Ending is a release store, read
//! with acquire: everything the transaction did with the variable happens
//! before the handle is released.

use crate::sync::{lock, AtomicBool, AtomicU64, Mutex, Ordering};
use std::sync::Arc;

/// Handles retired before a bag seals them into a batch.
const BATCH: usize = 32;

/// One participant's announcement word. Alone in its cache lines: only its
/// owner writes it, on every transaction.
#[derive(Debug)]
#[repr(align(128))]
pub struct Slot {
    seq: AtomicU64,
    /// Set (release) when the participant is dropped, after its last
    /// `leave`: the registry forgets the slot once it has read this.
    gone: AtomicBool,
}

/// The participants' slots, and batches whose retiring thread has ended.
#[derive(Debug)]
pub struct Registry<G> {
    slots: Mutex<Vec<Arc<Slot>>>,
    orphans: Mutex<Vec<Sealed<G>>>,
    /// Whether `orphans` may be non-empty: collectors look before locking.
    has_orphans: AtomicBool,
}

/// A thread's (or a transaction's) membership in a [`Registry`]. Dropping it
/// leaves the registry.
#[derive(Debug)]
pub struct Participant {
    /// Only this participant writes its slot's word, so it reads its own
    /// sequence number back from there (relaxed) instead of keeping a copy.
    slot: Arc<Slot>,
}

/// Retired handles waiting until the slots that were odd when they were
/// sealed have all moved on.
#[derive(Debug)]
struct Sealed<G> {
    items: Vec<G>,
    waiting_for: Vec<(Arc<Slot>, u64)>,
}

/// One thread's retired handles: a batch still filling, and sealed batches.
#[derive(Debug)]
pub struct Bag<G> {
    pending: Vec<G>,
    sealed: Vec<Sealed<G>>,
}

impl<G> Registry<G> {
    /// An empty registry.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Registry {
            slots: Mutex::new(Vec::new()),
            orphans: Mutex::new(Vec::new()),
            has_orphans: AtomicBool::new(false),
        }
    }

    /// An empty registry.
    #[cfg(loom)]
    pub fn new() -> Self {
        Registry {
            slots: Mutex::new(Vec::new()),
            orphans: Mutex::new(Vec::new()),
            has_orphans: AtomicBool::new(false),
        }
    }

    /// Joins the registry: retirements from now on respect the new
    /// participant's transactions.
    pub fn register(&self) -> Participant {
        let slot = Arc::new(Slot {
            seq: AtomicU64::new(0),
            gone: AtomicBool::new(false),
        });
        let mut slots = lock(&self.slots);
        // Forget participants that are gone, so threads that come and go do
        // not grow the list between two sealings.
        slots.retain(|s| !s.gone.load(Ordering::Acquire));
        slots.push(slot.clone());
        Participant { slot }
    }

    /// The slots inside a transaction right now, and their values. Forgets
    /// participants that are gone, through their flag (an acquire load, so
    /// their last transaction happens before anything released later;
    /// noticing that a handle count fell to zero would not order it).
    fn snapshot(&self) -> Vec<(Arc<Slot>, u64)> {
        let mut slots = lock(&self.slots);
        let mut running = Vec::new();
        slots.retain(|slot| {
            if slot.gone.load(Ordering::Acquire) {
                return false;
            }
            let seq = slot.seq.load(Ordering::Acquire);
            if seq % 2 == 1 {
                running.push((slot.clone(), seq));
            }
            true
        });
        running
    }

    /// Takes one orphaned batch that is safe to release.
    fn take_done_orphan(&self) -> Option<Vec<G>> {
        if !self.has_orphans.load(Ordering::Acquire) {
            return None;
        }
        let mut orphans = lock(&self.orphans);
        let batch = take_one_done(&mut orphans);
        if orphans.is_empty() {
            self.has_orphans.store(false, Ordering::Release);
        }
        batch
    }
}

impl<G> Default for Registry<G> {
    fn default() -> Self {
        Self::new()
    }
}

impl Participant {
    /// Announces the start of a transaction (a plain store: see the module
    /// documentation for why no fence is needed).
    #[inline]
    pub fn enter(&mut self) {
        let seq = self.seq() + 1;
        debug_assert!(seq % 2 == 1, "enter twice without leaving");
        self.slot.seq.store(seq, Ordering::Relaxed);
    }

    /// This participant's sequence number: odd while a transaction is
    /// announced.
    #[inline]
    fn seq(&self) -> u64 {
        self.slot.seq.load(Ordering::Relaxed)
    }

    /// Announces the end of the transaction: everything it did with the
    /// variables it reached happens before they can be released.
    #[inline]
    pub fn leave(&mut self) {
        if self.seq() % 2 == 1 {
            self.leave_entered();
        }
    }

    /// `leave`, for a caller that knows a transaction is announced; returns
    /// how many this participant has ended.
    #[inline]
    pub fn leave_entered(&mut self) -> u64 {
        let seq = self.seq() + 1;
        debug_assert!(seq.is_multiple_of(2), "leave without entering");
        self.slot.seq.store(seq, Ordering::Release);
        seq / 2
    }
}

impl Drop for Participant {
    /// A participant dropped mid-transaction (its thread unwinding) must not
    /// hold back every batch that saw it running.
    fn drop(&mut self) {
        self.leave();
        self.slot.gone.store(true, Ordering::Release);
    }
}

impl<G> Sealed<G> {
    /// Whether every transaction that was running when this batch was sealed
    /// has ended.
    fn done(&self) -> bool {
        self.waiting_for
            .iter()
            .all(|(slot, seq)| slot.seq.load(Ordering::Acquire) != *seq)
    }
}

/// Removes one finished batch from `batches` and returns its items (moved
/// out whole: collecting allocates nothing).
fn take_one_done<G>(batches: &mut Vec<Sealed<G>>) -> Option<Vec<G>> {
    let i = batches.iter().position(Sealed::done)?;
    Some(batches.swap_remove(i).items)
}

impl<G> Bag<G> {
    /// An empty bag.
    pub const fn new() -> Self {
        Bag {
            pending: Vec::new(),
            sealed: Vec::new(),
        }
    }

    /// Retires `item`; says whether a batch is full and should be sealed.
    pub fn retire(&mut self, item: G) -> bool {
        self.pending.push(item);
        self.pending.len() >= BATCH
    }

    /// Whether the bag holds anything.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.sealed.is_empty()
    }

    /// Closes the pending batch with a snapshot of the running transactions.
    pub fn seal(&mut self, registry: &Registry<G>) {
        if !self.pending.is_empty() {
            let items = std::mem::take(&mut self.pending);
            // Sealing after retiring: the snapshot is at least as late as
            // each item's retirement, which is all the argument needs.
            let waiting_for = registry.snapshot();
            self.sealed.push(Sealed { items, waiting_for });
        }
    }

    /// One batch, of this bag's or an orphan, that is now safe to release.
    /// The caller drops it outside any borrow of the bag: releasing a
    /// variable may retire others.
    pub fn take_done(&mut self, registry: &Registry<G>) -> Option<Vec<G>> {
        take_one_done(&mut self.sealed).or_else(|| registry.take_done_orphan())
    }

    /// Hands everything still held to the registry, for the threads that
    /// collect later (the bag's thread is ending).
    pub fn abandon(&mut self, registry: &Registry<G>) {
        self.seal(registry);
        if !self.sealed.is_empty() {
            let mut orphans = lock(&registry.orphans);
            orphans.append(&mut self.sealed);
            registry.has_orphans.store(true, Ordering::Release);
        }
    }
}

impl<G> Default for Bag<G> {
    fn default() -> Self {
        Self::new()
    }
}

/// The engine's registry, and each thread's bag of retired variable handles.
#[cfg(not(loom))]
pub(crate) mod global {
    use super::{Bag, Participant, Registry};
    use crate::var::ErasedVar;
    use std::cell::RefCell;
    use std::sync::Arc;

    /// A strong reference to a variable whose release must wait.
    pub(crate) type Retired = Arc<dyn ErasedVar>;

    static REGISTRY: Registry<Retired> = Registry::new();

    /// The thread's bag; hands its contents to the registry when the thread ends.
    struct LocalBag(RefCell<Bag<Retired>>);

    impl Drop for LocalBag {
        fn drop(&mut self) {
            self.0.get_mut().abandon(&REGISTRY);
        }
    }

    thread_local! {
        static BAG: LocalBag = const { LocalBag(RefCell::new(Bag::new())) };
    }

    /// A participant for a transaction's logs.
    pub(crate) fn register() -> Participant {
        REGISTRY.register()
    }

    /// Releases `var` once no transaction running now can still use it.
    pub(crate) fn retire(var: Retired) {
        let mut var = Some(var);
        let full = BAG
            .try_with(|bag| match bag.0.try_borrow_mut() {
                Ok(mut bag) => bag.retire(var.take().expect("retired once")),
                Err(_) => false,
            })
            .unwrap_or(false);
        if let Some(var) = var {
            // The thread is ending (or its bag is busy releasing): seal the
            // item alone and leave it to the other threads.
            let mut alone = Bag::new();
            alone.pending.push(var);
            alone.abandon(&REGISTRY);
        }
        if full {
            collect();
        }
    }

    /// Seals this thread's retired handles and releases what is safe.
    pub(crate) fn collect() {
        let _ = BAG.try_with(|bag| {
            if let Ok(mut bag) = bag.0.try_borrow_mut() {
                bag.seal(&REGISTRY);
            }
        });
        loop {
            let batch = BAG
                .try_with(|bag| {
                    bag.0
                        .try_borrow_mut()
                        .ok()
                        .and_then(|mut bag| bag.take_done(&REGISTRY))
                })
                .ok()
                .flatten();
            match batch {
                // Dropped here, with the bag free again.
                Some(batch) => drop(batch),
                None => break,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts its drops.
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Everything the bag may release now.
    fn collect_all(bag: &mut Bag<Counted>, registry: &Registry<Counted>) -> usize {
        bag.seal(registry);
        let mut n = 0;
        while let Some(batch) = bag.take_done(registry) {
            n += batch.len();
        }
        n
    }

    #[test]
    fn an_item_waits_for_every_transaction_running_when_it_was_sealed() {
        let registry = Registry::new();
        let mut reader = registry.register();
        let mut idle = registry.register();
        let drops = Arc::new(AtomicUsize::new(0));
        let mut bag = Bag::new();
        reader.enter();
        idle.enter();
        idle.leave();
        assert!(!bag.retire(Counted(drops.clone())));
        assert_eq!(collect_all(&mut bag, &registry), 0, "the reader still runs");
        reader.leave();
        reader.enter(); // a later transaction does not hold it back
        assert_eq!(collect_all(&mut bag, &registry), 1);
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(bag.is_empty());
    }

    #[test]
    fn a_full_batch_asks_to_be_sealed_and_idle_participants_do_not_block() {
        let registry = Registry::new();
        let _idle = registry.register();
        let mut bag = Bag::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let full: Vec<bool> = (0..BATCH)
            .map(|_| bag.retire(Counted(drops.clone())))
            .collect();
        assert_eq!(full.iter().filter(|f| **f).count(), 1);
        assert!(full[BATCH - 1]);
        assert_eq!(collect_all(&mut bag, &registry), BATCH);
    }

    #[test]
    fn an_abandoned_bag_is_released_by_another_collector() {
        let registry = Registry::new();
        let mut reader = registry.register();
        reader.enter();
        let drops = Arc::new(AtomicUsize::new(0));
        let mut ending = Bag::new();
        let _ = ending.retire(Counted(drops.clone()));
        ending.abandon(&registry);
        let mut other = Bag::new();
        assert_eq!(collect_all(&mut other, &registry), 0);
        reader.leave();
        assert_eq!(collect_all(&mut other, &registry), 1);
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn a_participant_dropped_mid_transaction_blocks_nothing() {
        let registry = Registry::new();
        let mut p = registry.register();
        p.enter();
        let mut bag = Bag::new();
        let _ = bag.retire(Counted(Arc::new(AtomicUsize::new(0))));
        bag.seal(&registry);
        drop(p);
        assert_eq!(collect_all(&mut bag, &registry), 1);
    }

    #[test]
    fn a_participant_that_left_the_registry_is_forgotten() {
        let registry: Registry<Counted> = Registry::new();
        let mut p = registry.register();
        p.enter();
        drop(p);
        assert!(registry.snapshot().is_empty());
        assert!(lock(&registry.slots).is_empty());
    }
}
