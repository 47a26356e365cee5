//! Procedural macros for `steadfast`: `#[derive(Transactional)]` and
//! `#[methods]`. Use them through the `steadfast` crate, whose documentation
//! describes what they generate.
//!
//! Layout (after thiserror's `impl/`): `ast` is a typed view of the input that
//! keeps the original tokens for spans, `attr` parses the macros' attributes,
//! `valid` holds the rules (one function each), `expand` generates code, and
//! `fallback` emits stubs after an error so the user sees one error, not
//! twenty. Errors are collected in a `ctxt::Ctxt` and combined (serde_derive).

#![forbid(unsafe_code)]

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod pretty;
mod valid;

use proc_macro::TokenStream;
use syn::parse_macro_input;

/// Generates the shared transactional handle of a struct with named fields.
/// See `steadfast::Transactional`.
#[proc_macro_derive(Transactional, attributes(transactional))]
pub fn derive_transactional(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// Turns `#[cache_lazy]`, `#[cache_now]` and `#[invariant]` functions of an
/// `impl` block into caches and invariants of the struct's handle. See
/// `steadfast::methods`.
#[proc_macro_attribute]
pub fn methods(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::methods(args.into(), input.into()).into()
}
