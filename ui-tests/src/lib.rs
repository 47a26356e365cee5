//! Compile-fail and compile-pass tests of the steadfast macros (see `tests/ui.rs`).
