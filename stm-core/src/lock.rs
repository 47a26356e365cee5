//! The versioned lock word every transactional variable carries (TL2).
//!
//! Bit 0 says "locked by a committing transaction"; the other bits hold the
//! version: the global clock value of the commit that last wrote the variable.

use crate::sync::{AtomicU64, Ordering};

/// A version number taken from the global clock.
pub type Version = u64;

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
    pub fn is_locked(self) -> bool {
        self.0 & 1 == 1
    }
    /// The version stored in the word (meaningful when unlocked).
    pub fn version(self) -> Version {
        self.0 >> 1
    }
}

impl VersionedLock {
    /// A lock at `version`, unlocked.
    pub fn new(version: Version) -> Self {
        VersionedLock {
            word: AtomicU64::new(version << 1),
        }
    }

    /// Reads the word; acquire, so the value published with it is visible.
    #[inline]
    pub fn load(&self) -> LockWord {
        LockWord(self.word.load(Ordering::Acquire))
    }

    /// Tries to lock: succeeds only if the word is unlocked right now.
    /// Returns the version the variable had.
    #[inline]
    pub fn try_lock(&self) -> Option<Version> {
        let current = self.word.load(Ordering::Relaxed);
        if current & 1 == 1 {
            return None;
        }
        self.word
            .compare_exchange(current, current | 1, Ordering::SeqCst, Ordering::Relaxed)
            .ok()
            .map(|w| w >> 1)
    }

    /// Tries to lock only if the version is still `expected` (used to fill caches).
    #[inline]
    pub fn try_lock_at(&self, expected: Version) -> bool {
        self.word
            .compare_exchange(
                expected << 1,
                (expected << 1) | 1,
                Ordering::SeqCst,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Unlocks, publishing `version` (a new commit's version, or the old one to
    /// undo a lock without a change).
    #[inline]
    pub fn unlock(&self, version: Version) {
        self.word.store(version << 1, Ordering::Release);
    }
}
