//! The versioned lock word every transactional variable carries (TL2).
//!
//! Bit 0 says "locked by a committing transaction"; bit 1 says "a blocked
//! transaction waits for this variable to change"; the other bits hold the
//! version: the global clock value of the commit that last wrote it.
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

const LOCKED: u64 = 1;
const WAITERS: u64 = 2;
const SHIFT: u32 = 2;

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
        self.0 >> SHIFT
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
        self.0 >> SHIFT
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
            word: AtomicU64::new(version << SHIFT),
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
        if current & LOCKED != 0 || current >> SHIFT != expected {
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
        self.word.store(version << SHIFT, Ordering::Release);
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
            if current & LOCKED != 0 || current >> SHIFT != version {
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
