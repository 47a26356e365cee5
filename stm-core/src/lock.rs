//! The versioned lock word every transactional variable carries (TL2).
//!
//! The top bit says "locked by a committing transaction"; the next says "a
//! blocked transaction waits for this variable to change"; the low 62 bits
//! hold the version: the global clock value of the commit that last wrote
//! it. With the flags on top, an unflagged word *is* its version, so the
//! reader's common test (unlocked, no newer than the snapshot) is one
//! comparison: every flagged word compares above any snapshot.
//!
//! Keeping the waiter flag in the lock word makes the wake-up protocol free
//! for committers: a waiter may only set the flag with a compare-and-swap on
//! an unlocked word at the version it read, and a committer learns whether
//! the flag was set from the very compare-and-swap that locks the word. While
//! the word is locked no waiter can set the flag, so a commit either sees a
//! waiter (and wakes it) or the waiter sees the commit (and does not sleep).

use crate::sync::{AtomicU64, Ordering};

/// A version number taken from the global clock.
pub type Version = u64;

const LOCKED: u64 = 1 << 63;
const WAITERS: u64 = 1 << 62;
/// The version's bits; a clock ticking once per commit never reaches them.
const VERSION: u64 = WAITERS - 1;

/// One versioned lock: readers check it, committers lock it.
#[derive(Debug)]
pub struct VersionedLock {
    word: AtomicU64,
}

/// A decoded snapshot of a lock word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockWord(u64);

impl LockWord {
    /// Whether a committer holds the lock.
    #[inline]
    pub fn is_locked(self) -> bool {
        self.0 & LOCKED != 0
    }
    /// Whether a blocked transaction asked to be woken when this changes.
    #[inline]
    pub fn has_waiters(self) -> bool {
        self.0 & WAITERS != 0
    }
    /// The version stored in the word (meaningful when unlocked).
    #[inline]
    pub fn version(self) -> Version {
        self.0 & VERSION
    }
    /// The version, if the word is unlocked, flagless and no newer than
    /// `snapshot`: the readers' common case in one comparison. `None` says
    /// only that the caller must look closer (a waiter's flag alone does
    /// not make a variable unreadable).
    #[inline]
    pub fn version_within(self, snapshot: Version) -> Option<Version> {
        (self.0 <= snapshot).then_some(self.0)
    }
}

/// What locking a word found: the word as it was just before (kept whole,
/// so taking the lock decodes nothing and releasing it unchanged stores it
/// back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locked(u64);

impl Locked {
    /// Stands for no lock taken yet.
    pub const NONE: Locked = Locked(0);

    /// The version the variable had.
    #[inline]
    pub fn version(self) -> Version {
        self.0 & VERSION
    }

    /// Whether waiters must be woken after publishing.
    #[inline]
    pub fn had_waiters(self) -> bool {
        self.0 & WAITERS != 0
    }
}

impl VersionedLock {
    /// A lock at `version`, unlocked, with no waiters.
    pub fn new(version: Version) -> Self {
        VersionedLock {
            word: AtomicU64::new(version),
        }
    }

    /// Reads the word; acquire, so the value published with it is visible.
    #[inline]
    pub fn load(&self) -> LockWord {
        LockWord(self.word.load(Ordering::Acquire))
    }

    /// Tries to lock: succeeds only if the word is unlocked right now.
    #[inline]
    pub fn try_lock(&self) -> Option<Locked> {
        let current = self.word.load(Ordering::Relaxed);
        if current & LOCKED != 0 {
            return None;
        }
        self.lock_from(current)
    }

    /// Tries to lock only if the word is unlocked at version `expected`
    /// (used to fill caches without changing the version). The swap starts
    /// from the very word that showed `expected`: a commit moving the word
    /// in between makes it fail, instead of taking the lock at another
    /// version.
    #[inline]
    pub fn try_lock_at(&self, expected: Version) -> Option<Locked> {
        let current = self.word.load(Ordering::Relaxed);
        if current & LOCKED != 0 || current & VERSION != expected {
            return None;
        }
        self.lock_from(current)
    }

    /// Locks the word if it still is `current` (an unlocked word).
    #[inline]
    fn lock_from(&self, current: u64) -> Option<Locked> {
        crate::sync::rmw::count();
        self.word
            .compare_exchange(
                current,
                current | LOCKED,
                Ordering::SeqCst,
                Ordering::Relaxed,
            )
            .ok()
            .map(Locked)
    }

    /// Unlocks, publishing `version`: a new commit's version (waiters were
    /// woken by the caller, so the flag is cleared) ...
    #[inline]
    pub fn unlock(&self, version: Version) {
        self.word.store(version, Ordering::Release);
    }

    /// ... or restores the word as it was before locking, flag included.
    #[inline]
    pub fn unlock_unchanged(&self, locked: Locked) {
        // The word it was locked from: unlocked, with its waiters bit (no
        // waiter can register while the word is locked).
        self.word.store(locked.0, Ordering::Release);
    }

    /// Asks to be woken by the next commit to this variable, provided it is
    /// still unlocked at `version`. Returns false if it has already changed
    /// (or is being changed): the caller must not sleep.
    #[inline]
    pub fn request_wakeup(&self, version: Version) -> bool {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            if current & LOCKED != 0 || current & VERSION != version {
                return false;
            }
            if current & WAITERS != 0 {
                return true;
            }
            crate::sync::rmw::count();
            match self.word.compare_exchange_weak(
                current,
                current | WAITERS,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn only_an_unflagged_word_no_newer_than_the_snapshot_passes_the_one_comparison() {
        let lock = VersionedLock::new(5);
        assert_eq!(lock.load().version_within(5), Some(5));
        assert_eq!(
            lock.load().version_within(4),
            None,
            "newer than the snapshot"
        );

        // A waiter's flag keeps the version but sends readers the long way.
        assert!(lock.request_wakeup(5));
        let flagged = lock.load();
        assert!(flagged.has_waiters() && !flagged.is_locked());
        assert_eq!(flagged.version(), 5);
        assert_eq!(flagged.version_within(VERSION), None);

        // Locked: no snapshot, however new, reads it.
        let locked = lock.try_lock().expect("unlocked");
        assert!(locked.had_waiters());
        assert_eq!(locked.version(), 5);
        assert!(lock.load().is_locked());
        assert_eq!(lock.load().version_within(VERSION), None);
        assert!(lock.try_lock().is_none());

        // Publishing clears both flags.
        lock.unlock(9);
        assert_eq!(lock.load().version_within(9), Some(9));
        assert!(!lock.load().has_waiters());
    }

    #[test]
    fn releasing_unchanged_restores_the_flag_and_version() {
        let lock = VersionedLock::new(VERSION);
        assert!(lock.request_wakeup(VERSION));
        let locked = lock.try_lock_at(VERSION).expect("at its version");
        lock.unlock_unchanged(locked);
        let word = lock.load();
        assert!(!word.is_locked() && word.has_waiters());
        assert_eq!(
            word.version(),
            VERSION,
            "the largest version survives the flags"
        );
    }
}
