//! Word-sized primitive values stored inline in their variable.
//!
//! For the primitive types listed here, a variable keeps its value in an
//! `AtomicU64` next to its lock word instead of behind an epoch-managed
//! pointer: a read is three loads, a write allocates nothing and a commit
//! frees nothing. Only types without padding, without drop glue and where a
//! copy of the bytes is the value qualify, so moving the bytes in and out of
//! the word is the whole story.

use std::any::TypeId;
use std::mem::size_of;

/// Whether values of `T` live inline (decided per type at compile time after
/// inlining: every comparison is between constants).
#[inline(always)]
pub(crate) fn is_inline<T: 'static>() -> bool {
    let t = TypeId::of::<T>();
    t == TypeId::of::<i64>()
        || t == TypeId::of::<u64>()
        || t == TypeId::of::<i32>()
        || t == TypeId::of::<u32>()
        || t == TypeId::of::<i16>()
        || t == TypeId::of::<u16>()
        || t == TypeId::of::<i8>()
        || t == TypeId::of::<u8>()
        || t == TypeId::of::<isize>()
        || t == TypeId::of::<usize>()
        || t == TypeId::of::<bool>()
        || t == TypeId::of::<char>()
        || t == TypeId::of::<f64>()
        || t == TypeId::of::<f32>()
        || t == TypeId::of::<()>()
}

/// The bytes of `value` in a word. Only called when `is_inline::<T>()`.
#[inline(always)]
pub(crate) fn to_bits<T: 'static>(value: &T) -> u64 {
    debug_assert!(is_inline::<T>() && size_of::<T>() <= size_of::<u64>());
    let mut bits = 0u64;
    // SAFETY: `T` is one of the primitive types of `is_inline`: at most 8
    // bytes, no padding, so every byte copied is initialised, and the copy
    // stays within both objects.
    unsafe {
        std::ptr::copy_nonoverlapping(
            value as *const T as *const u8,
            &mut bits as *mut u64 as *mut u8,
            size_of::<T>(),
        );
    }
    bits
}

/// The value whose bytes `to_bits` stored. Only called when `is_inline::<T>()`.
#[inline(always)]
pub(crate) fn from_bits<T: 'static>(bits: u64) -> T {
    debug_assert!(is_inline::<T>() && size_of::<T>() <= size_of::<u64>());
    // SAFETY: `bits` was produced by `to_bits` from a valid `T` of the same
    // type (each variable stores one type), so its first `size_of::<T>()`
    // bytes are a valid `T`; `T` has no drop glue, so the copy owns nothing.
    unsafe { std::mem::transmute_copy::<u64, T>(&bits) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(from_bits::<i64>(to_bits(&-5i64)), -5);
        assert_eq!(from_bits::<u8>(to_bits(&200u8)), 200);
        assert!(from_bits::<bool>(to_bits(&true)));
        assert_eq!(from_bits::<char>(to_bits(&'λ')), 'λ');
        assert_eq!(from_bits::<f64>(to_bits(&1.5f64)), 1.5);
        assert!(!is_inline::<String>());
        assert!(!is_inline::<(u32, u32)>());
    }
}
