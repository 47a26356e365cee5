//! Procedural macros for `steadfast`. Use them through the `steadfast` crate.
