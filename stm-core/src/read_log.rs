//! The attempt's read log: plain entries appended at an end pointer.
//!
//! A read logs itself on every transactional read, so its push is the
//! hottest store sequence of a read-only transaction. Kept as a `Vec`
//! (length and capacity) it costs ten instructions: load the length, compare
//! it with the capacity, load the buffer, scale the index, two stores,
//! increment and store the length. Kept as an end pointer and a limit it
//! costs seven, three fewer per read: 191 fewer on a sum of 64 variables,
//! about a tenth (callgrind).

use crate::lock::Version;
use crate::var::VarCore;

/// A variable read by the attempt, and the version it had.
#[derive(Clone, Copy)]
pub(crate) struct ReadEntry {
    pub(crate) core: *const VarCore,
    pub(crate) version: Version,
}

/// The read log. The `Vec` only owns the buffer: its length stays zero,
/// and the entries written are those from its start up to `end`.
pub(crate) struct ReadLog {
    buffer: Vec<ReadEntry>,
    /// One past the last entry written.
    end: *mut ReadEntry,
    /// One past the buffer's last slot: the log is full when `end` is here.
    limit: *mut ReadEntry,
}

impl ReadLog {
    /// An empty log with no buffer.
    pub(crate) fn new() -> Self {
        let mut log = ReadLog {
            buffer: Vec::new(),
            end: std::ptr::null_mut(),
            limit: std::ptr::null_mut(),
        };
        log.point_at_buffer(0);
        log
    }

    /// Appends `entry` if the buffer has room; hands it back if not.
    #[inline]
    pub(crate) fn push_within_capacity(&mut self, entry: ReadEntry) -> Result<(), ReadEntry> {
        if self.end == self.limit {
            return Err(entry);
        }
        // SAFETY: `end` is below `limit`, so it is a slot of the buffer, and
        // an unused one: the entries written end just before it.
        unsafe {
            self.end.write(entry);
            self.end = self.end.add(1);
        }
        Ok(())
    }

    /// Appends `entry`, growing the buffer if it is full.
    pub(crate) fn push(&mut self, entry: ReadEntry) {
        if let Err(entry) = self.push_within_capacity(entry) {
            self.with_entries_counted(|buffer| buffer.push(entry));
        }
    }

    /// How many entries the log holds.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        (self.end as usize - self.buffer.as_ptr() as usize) / size_of::<ReadEntry>()
    }

    /// Whether the log holds no entry.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        std::ptr::eq(self.end, self.buffer.as_ptr())
    }

    /// The entries, oldest first.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[ReadEntry] {
        // SAFETY: the first `len` slots of the buffer were written by
        // `push_within_capacity` (plain `Copy` data) and are not changed
        // while the slice borrows the log.
        unsafe { std::slice::from_raw_parts(self.buffer.as_ptr(), self.len()) }
    }

    /// Forgets every entry (they are plain data: nothing to drop).
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.end = self.buffer.as_mut_ptr();
    }

    /// How many entries the buffer has room for.
    pub(crate) fn capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// Gives back buffer space beyond `keep` entries (or beyond the entries
    /// held, if more).
    pub(crate) fn shrink_to(&mut self, keep: usize) {
        self.with_entries_counted(|buffer| buffer.shrink_to(keep));
    }

    /// Runs `change` on the buffer with its length covering the entries
    /// written, so that a reallocation keeps them, then points the log into
    /// the buffer again.
    fn with_entries_counted(&mut self, change: impl FnOnce(&mut Vec<ReadEntry>)) {
        // SAFETY: the first `len` slots hold entries written by
        // `push_within_capacity`: initialised `Copy` data.
        unsafe { self.buffer.set_len(self.len()) };
        change(&mut self.buffer);
        let len = self.buffer.len();
        // SAFETY: zero is always a valid length; the entries stay in the
        // buffer, and `end` points past them again below.
        unsafe { self.buffer.set_len(0) };
        self.point_at_buffer(len);
    }

    /// Points `end` and `limit` into the (possibly moved) buffer, with
    /// `len` entries written.
    fn point_at_buffer(&mut self, len: usize) {
        let start = self.buffer.as_mut_ptr();
        // SAFETY: `len` and the capacity are within the buffer's allocation
        // (one past its end at most).
        unsafe {
            self.end = start.add(len);
            self.limit = start.add(self.buffer.capacity());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> ReadEntry {
        ReadEntry {
            core: n as *const VarCore,
            version: n as Version,
        }
    }

    fn versions(log: &ReadLog) -> Vec<Version> {
        log.as_slice().iter().map(|e| e.version).collect()
    }

    #[test]
    fn an_empty_log_has_no_room_and_grows_on_push() {
        let mut log = ReadLog::new();
        assert!(log.is_empty());
        assert!(log.push_within_capacity(entry(1)).is_err());
        log.push(entry(1));
        assert_eq!(versions(&log), [1]);
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn entries_survive_the_buffer_growing_and_shrinking() {
        let mut log = ReadLog::new();
        for n in 0..1000 {
            log.push(entry(n));
        }
        assert_eq!(versions(&log), (0..1000).collect::<Vec<_>>());
        log.shrink_to(10);
        assert_eq!(log.len(), 1000, "shrinking never drops entries");
        assert_eq!(versions(&log)[999], 999);
        log.clear();
        assert!(log.is_empty());
        log.shrink_to(10);
        assert!(log.capacity() >= 10 && log.capacity() < 1000);
        for n in 0..log.capacity() {
            assert!(log.push_within_capacity(entry(n)).is_ok());
        }
        assert!(
            log.push_within_capacity(entry(0)).is_err(),
            "full at capacity"
        );
        assert_eq!(log.len(), log.capacity());
    }

    #[test]
    fn clearing_keeps_the_buffer() {
        let mut log = ReadLog::new();
        log.push(entry(7));
        let capacity = log.capacity();
        log.clear();
        assert!(log.is_empty());
        assert_eq!(log.capacity(), capacity);
        assert!(log.push_within_capacity(entry(8)).is_ok());
        assert_eq!(versions(&log), [8]);
    }
}
