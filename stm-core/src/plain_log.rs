//! The attempt's read and write logs: plain entries appended at an end
//! pointer.
//!
//! Every transactional read appends to the read log and every first write
//! to the write log, so their pushes are the hottest stores of a
//! transaction. Kept as a `Vec` (length and capacity), a push loads the
//! buffer and the length, scales the length, stores, then increments and
//! stores the length: ten instructions for a read entry. Kept as an end
//! pointer and a limit it is one load, one comparison, the entry's stores
//! and one addition: three fewer per read (191 fewer on a sum of 64
//! variables, about a tenth) and two fewer per write (callgrind).

use std::ops::{Deref, DerefMut};

/// A log of plain entries. The `Vec` only owns the buffer: its length stays
/// zero, and the entries are those from its start up to `end`.
pub(crate) struct PlainLog<E: Copy> {
    buffer: Vec<E>,
    /// One past the last entry.
    end: *mut E,
    /// Where [`push_within_room`](Self::push_within_room) stops: `room`
    /// entries from the start, or the buffer's end if that comes first.
    limit: *mut E,
    /// How many entries the cheap push takes before handing them back.
    room: usize,
}

impl<E: Copy> PlainLog<E> {
    /// An empty log whose cheap push takes up to `room` entries, with a
    /// buffer for `capacity` of them.
    pub(crate) fn new(capacity: usize, room: usize) -> Self {
        let mut log = PlainLog {
            buffer: Vec::with_capacity(capacity),
            end: std::ptr::null_mut(),
            limit: std::ptr::null_mut(),
            room,
        };
        log.point_at_buffer(0);
        log
    }

    /// Whether the log holds fewer than its room of entries (and the buffer
    /// has space for one more).
    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        self.end < self.limit
    }

    /// Appends `entry` if the log holds fewer than its room of entries and
    /// the buffer has space; hands it back if not.
    #[inline]
    pub(crate) fn push_within_room(&mut self, entry: E) -> Result<(), E> {
        if !self.has_room() {
            return Err(entry);
        }
        // SAFETY: `end` is below `limit`, so it is a free slot of the buffer.
        unsafe { self.append(entry) };
        Ok(())
    }

    /// Appends `entry` without a test, for a caller whose own state
    /// guarantees room. (A test with another way out for the entry makes
    /// the compiler build every entry on the stack before storing it.)
    ///
    /// # Safety
    /// [`has_room`](Self::has_room) must be true.
    #[inline]
    pub(crate) unsafe fn push_unchecked(&mut self, entry: E) {
        debug_assert!(self.has_room());
        // SAFETY: with room, `end` is below `limit`, so a free slot of the
        // buffer (the caller's promise).
        unsafe { self.append(entry) };
    }

    /// Appends `entry` whatever the room, growing the buffer if it is full.
    pub(crate) fn push(&mut self, entry: E) {
        if self.len() < self.buffer.capacity() {
            // SAFETY: fewer entries than slots: `end` is a free slot of the
            // buffer.
            unsafe { self.append(entry) };
        } else {
            self.with_entries_counted(|buffer| buffer.push(entry));
        }
    }

    /// Writes `entry` at `end` and moves `end` past it.
    ///
    /// # Safety
    /// `end` must be a free slot of the buffer (below its capacity).
    #[inline]
    unsafe fn append(&mut self, entry: E) {
        // SAFETY: the caller's promise.
        unsafe {
            self.end.write(entry);
            self.end = self.end.add(1);
        }
    }

    /// Keeps the first `len` entries (all, if it holds fewer).
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.len() {
            // SAFETY: `len` is below the number of entries, so the new end
            // is within them.
            self.end = unsafe { self.start().add(len) };
        }
    }

    /// Forgets every entry (they are plain data: nothing to drop).
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.end = self.start();
    }

    /// How many entries the buffer has space for.
    pub(crate) fn capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// Gives back buffer space beyond `keep` entries (or beyond the entries
    /// held, if more).
    pub(crate) fn shrink_to(&mut self, keep: usize) {
        self.with_entries_counted(|buffer| buffer.shrink_to(keep));
    }

    #[inline]
    fn start(&mut self) -> *mut E {
        self.buffer.as_mut_ptr()
    }

    /// Runs `change` on the buffer with its length covering the entries,
    /// so that a reallocation keeps them, then points the log into the
    /// buffer again.
    fn with_entries_counted(&mut self, change: impl FnOnce(&mut Vec<E>)) {
        // SAFETY: the first `len` slots hold entries written by the pushes:
        // initialised `Copy` data.
        unsafe { self.buffer.set_len(self.len()) };
        change(&mut self.buffer);
        let len = self.buffer.len();
        // SAFETY: zero is always a valid length; the entries stay in the
        // buffer, and `end` points past them again below.
        unsafe { self.buffer.set_len(0) };
        self.point_at_buffer(len);
    }

    /// Points `end` and `limit` into the (possibly moved) buffer, which
    /// holds `len` entries.
    fn point_at_buffer(&mut self, len: usize) {
        let start = self.start();
        let limit = self.room.min(self.buffer.capacity());
        // SAFETY: `len` and `limit` are at most the capacity: within the
        // buffer's allocation, or one past its end.
        unsafe {
            self.end = start.add(len);
            self.limit = start.add(limit);
        }
    }
}

impl<E: Copy> Deref for PlainLog<E> {
    type Target = [E];

    #[inline]
    fn deref(&self) -> &[E] {
        let start = self.buffer.as_ptr();
        // SAFETY: `end` lies in the buffer at or after its start, a whole
        // number of entries apart (only pushes and truncations move it),
        // and the entries before it were written by the pushes: initialised
        // `Copy` data, changed only through `&mut self`. The exact distance
        // lets the compiler turn `start + len` back into `end`.
        unsafe {
            std::slice::from_raw_parts(start, self.end.cast_const().offset_from_unsigned(start))
        }
    }
}

impl<E: Copy> DerefMut for PlainLog<E> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [E] {
        let start = self.start();
        // SAFETY: as in `deref`; `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(start, self.end.offset_from_unsigned(start)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(log: &PlainLog<u64>) -> Vec<u64> {
        log.to_vec()
    }

    #[test]
    fn an_empty_log_without_a_buffer_grows_on_push() {
        let mut log = PlainLog::new(0, usize::MAX);
        assert!(log.is_empty());
        assert!(log.push_within_room(1).is_err());
        log.push(1);
        assert_eq!(contents(&log), [1]);
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn the_cheap_push_stops_at_the_room_and_push_goes_on() {
        let mut log = PlainLog::new(8, 3);
        for n in 0..3 {
            assert!(log.push_within_room(n).is_ok());
        }
        assert_eq!(log.push_within_room(3), Err(3));
        for n in 3..20 {
            log.push(n);
        }
        assert_eq!(contents(&log), (0..20).collect::<Vec<_>>());
        assert!(log.push_within_room(20).is_err(), "still past the room");
        log.clear();
        assert!(log.push_within_room(7).is_ok(), "room again once cleared");
        assert_eq!(contents(&log), [7]);
    }

    #[test]
    fn entries_survive_the_buffer_growing_and_shrinking() {
        let mut log = PlainLog::new(0, usize::MAX);
        for n in 0..1000 {
            log.push(n);
        }
        assert_eq!(contents(&log), (0..1000).collect::<Vec<_>>());
        log.shrink_to(10);
        assert_eq!(log.len(), 1000, "shrinking never drops entries");
        assert_eq!(log[999], 999);
        log.clear();
        assert!(log.is_empty());
        log.shrink_to(10);
        assert!(log.capacity() >= 10 && log.capacity() < 1000);
        for n in 0..log.capacity() {
            assert!(log.push_within_room(n as u64).is_ok());
        }
        assert!(log.push_within_room(0).is_err(), "full at capacity");
        assert_eq!(log.len(), log.capacity());
    }

    #[test]
    fn truncating_and_changing_in_place() {
        let mut log = PlainLog::new(4, usize::MAX);
        for n in 0..6 {
            log.push(n);
        }
        log[2] = 20;
        log.truncate(10);
        assert_eq!(log.len(), 6, "truncating to more keeps everything");
        log.truncate(3);
        assert_eq!(contents(&log), [0, 1, 20]);
        log.push(3);
        assert_eq!(contents(&log), [0, 1, 20, 3]);
    }
}
