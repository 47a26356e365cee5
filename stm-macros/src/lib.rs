//! Procedural macros for `steadfast`: `#[derive(Transactional)]`,
//! `#[derive(Boxed)]`, `#[derive(Immutable)]` and `#[methods]`. Use them
//! through the `steadfast` crate, whose documentation describes what they
//! generate.
//!
//! Layout (after thiserror's `impl/`): `ast` is a typed view of the input that
//! keeps the original tokens for spans, `attr` parses the macros' attributes,
//! `valid` holds the rules (one function each), `expand` generates code
//! (`whole` the handles of boxes and immutable values), and `fallback` emits
//! stubs after an error so the user sees one error, not twenty. Errors are
//! collected in a `ctxt::Ctxt` and combined (serde_derive).

#![forbid(unsafe_code)]

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod handle;
mod link_check;
mod pretty;
mod valid;
mod whole;

use attr::Form;
use proc_macro::TokenStream;
use syn::parse_macro_input;

/// Generates the shared transactional handle of a struct with named fields.
/// See `steadfast::Transactional`.
#[proc_macro_derive(Transactional, attributes(transactional))]
pub fn derive_transactional(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input, Form::Transactional).into()
}

/// Generates `<Name>Box`, a shared box holding a plain value in one
/// transactional variable (L42's box pattern). See `steadfast::Boxed`.
#[proc_macro_derive(Boxed, attributes(boxed))]
pub fn derive_boxed(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input, Form::Boxed).into()
}

/// Generates `Imm<Name>`, a shared immutable value with thread-safe caches.
/// See `steadfast::Immutable`.
#[proc_macro_derive(Immutable, attributes(immutable))]
pub fn derive_immutable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input, Form::Immutable).into()
}

/// Turns `#[cache_lazy]`, `#[cache_now]`, `#[cache_eager]`, `#[invariant]`
/// and `#[mutator]` functions of an `impl` block into caches, invariants and
/// mutators of the struct's handle. See `steadfast::methods`.
#[proc_macro_attribute]
pub fn methods(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::methods(args.into(), input.into()).into()
}
