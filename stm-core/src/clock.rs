//! The global version clock of TL2.

use crate::lock::Version;
use crate::sync::{AtomicU64, Ordering};

/// A monotonically increasing commit counter. Alone in its cache lines:
/// every commit writes it, and nothing else should move with it.
#[derive(Debug)]
#[repr(align(128))]
pub struct VersionClock {
    now: AtomicU64,
}

impl VersionClock {
    /// A clock at zero.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        VersionClock {
            now: AtomicU64::new(0),
        }
    }

    /// A clock at zero.
    #[cfg(loom)]
    pub fn new() -> Self {
        VersionClock {
            now: AtomicU64::new(0),
        }
    }

    /// The newest published version: a transaction's read version.
    #[inline]
    pub fn now(&self) -> Version {
        self.now.load(Ordering::Acquire)
    }

    /// Takes a fresh version for a commit.
    #[inline]
    pub fn tick(&self) -> Version {
        crate::sync::rmw::count();
        self.now.fetch_add(1, Ordering::SeqCst) + 1
    }
}

impl Default for VersionClock {
    fn default() -> Self {
        Self::new()
    }
}

/// The clock every transaction in the process shares.
#[cfg(not(loom))]
pub(crate) static GLOBAL_CLOCK: VersionClock = VersionClock::new();
