//! The compile-time check that a generic struct's `#[methods]` block is
//! linked by the derive's factory.
//!
//! The factory links the block under the bounds the derive knows (see
//! `steadfast::__private`); a block asking more of a type parameter would not
//! be linked, and its invariants would go unchecked. Neither macro sees the
//! other's input, so each supplies half of a check:
//!
//! - the derive leaves a hidden `macro_rules!` named like the struct, so that
//!   every import of the struct brings it along, which states the derive's
//!   bounds and asks, under them, for the block's link trait;
//! - `#[methods]` on a generic block calls that macro through the path of the
//!   block's self type.
//!
//! The macro expands where the block is, so field types are named through
//! `FieldType` projections on the struct, which resolve where the struct is.

use crate::ast::{Field, Input};
use crate::attr::Form;
use crate::expand::{self, respan, unraw};
use crate::whole;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, Path, PathArguments};

/// The keyword a check passes for `form`: a macro answers only its own form
/// (a block of another form is reported by its own checks).
fn form_keyword(form: Form) -> Ident {
    Ident::new(form.attr_name(), Span::call_site())
}

/// The derive's half, for a generic struct (nothing otherwise): the hidden
/// macro. `assumed` are the derive's predicates beyond the struct's own, with
/// the struct's name written as `$($path)*`; `field_types` whatever they refer
/// to.
pub fn derive_side(
    input: &Input,
    p: &TokenStream,
    assumed: &[TokenStream],
    field_types: TokenStream,
) -> TokenStream {
    let original = input.original;
    if original.generics.type_params().next().is_none() {
        return quote!();
    }
    let name = input.ident();
    let helper = format_ident!(
        "__steadfast_link_check_{}_{}",
        input.form.attr_name(),
        unraw(name)
    );
    let form = form_keyword(input.form);
    let (_, ty_g, _) = original.generics.split_for_impl();
    // Every bound goes in the `where` clause (clippy's
    // `multiple_bound_locations` would see the struct's inline ones twice).
    let mut params = original.generics.clone();
    let mut inline = Vec::new();
    for param in params.type_params_mut() {
        let ident = &param.ident;
        let bounds = &param.bounds;
        if !bounds.is_empty() {
            inline.push(quote!(#ident: #bounds));
        }
        param.bounds.clear();
        param.colon_token = None;
        param.eq_token = None;
        param.default = None;
    }
    params.where_clause = None;
    let (impl_g, _, _) = params.split_for_impl();
    let own_where = original
        .generics
        .where_clause
        .iter()
        .flat_map(|w| w.predicates.iter())
        .map(ToTokens::to_token_stream);
    let predicates: Vec<TokenStream> = inline
        .into_iter()
        .chain(own_where)
        .chain(input.attrs.bounds.iter().map(ToTokens::to_token_stream))
        .chain(assumed.iter().cloned())
        .collect();
    let check = match input.form {
        Form::Transactional => quote!(#p::methods_block_bounds_must_be_known_to_the_derive),
        Form::Boxed => quote!(#p::boxed_block_bounds_must_be_known_to_the_derive),
        Form::Immutable => quote!(#p::immutable_block_bounds_must_be_known_to_the_derive),
    };
    // A struct may have two of the derives, and its name one macro: the
    // transactional one is imported by name, the others through globs, so
    // two derives compile side by side. A generic block of such a struct is
    // refused as ambiguous: give each form its own struct.
    let export = match input.form {
        Form::Transactional => quote!(#[allow(unused_imports)] pub(crate) use #helper::#name;),
        Form::Boxed | Form::Immutable => {
            quote!(#[allow(unused_imports)] pub(crate) use #helper::*;)
        }
    };
    quote! {
        #field_types

        #[doc(hidden)]
        #[allow(non_snake_case)]
        mod #helper {
            #[allow(unused_macros)]
            macro_rules! #name {
                (#form: $($path:tt)*) => {
                    const _: () = {
                        #[allow(dead_code)]
                        fn __steadfast_link_check #impl_g () where #(#predicates,)* {
                            #check::<#p::Probe<$($path)* #ty_g>, $($path)* #ty_g>();
                        }
                    };
                };
                ($($other:tt)*) => {};
            }
            #[allow(unused_imports)]
            pub(crate) use #name;
        }
        #export
    }
}

/// The transactional derive's predicates (`expand::derive_predicates`), with
/// field types as `FieldType` projections on the struct, and the `FieldType`
/// impls they need. A field under `#[cfg]` keeps its type as written, as in
/// the derive's own bounds: its impl could not be named when the field is
/// compiled out.
pub fn transactional_fields(
    input: &Input,
    fields: &[Field],
    p: &TokenStream,
    mentions_params: impl Fn(&syn::Type) -> bool,
) -> (Vec<TokenStream>, TokenStream) {
    let original = input.original;
    let name = input.ident();
    let (impl_g, ty_g, where_c) = original.generics.split_for_impl();
    let impls = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.cfgs.is_empty() && mentions_params(f.ty))
        .map(|(i, f)| {
            let ty = f.ty;
            quote! {
                #[automatically_derived]
                #[doc(hidden)]
                impl #impl_g #p::FieldType<#i> for #name #ty_g #where_c {
                    type Type = #ty;
                }
            }
        });
    let impls = quote!(#(#impls)*);
    let mut assumed = expand::derive_predicates(input, fields, |i, f| {
        if f.cfgs.is_empty() {
            quote!(<$($path)* #ty_g as #p::FieldType<#i>>::Type)
        } else {
            f.ty.to_token_stream()
        }
    });
    // The type parameters' predicates (first in the list) go last: rustc's
    // help on a failed check then points at the struct's parameters, not
    // into the derive attribute.
    assumed.rotate_left(original.generics.type_params().count());
    (assumed, impls)
}

/// A boxed or immutable struct's derive's predicates
/// (`whole::whole_predicates`), with the struct written `$($path)*`.
pub fn whole_assumed(input: &Input, bounds: &TokenStream) -> Vec<TokenStream> {
    let (_, ty_g, _) = input.original.generics.split_for_impl();
    whole::whole_predicates(input, bounds, quote!($($path)* #ty_g))
}

/// The block's half: for a generic block, a call of the macro its struct's
/// derive left, through the path of the block's self type (spanned there, so
/// a failed check names the block's bounds).
pub fn block_side(self_path: &Path, form: Form, generic: bool) -> TokenStream {
    if !generic {
        return quote!();
    }
    let mut path = self_path.clone();
    if let Some(last) = path.segments.last_mut() {
        last.arguments = PathArguments::None;
    }
    let form = form_keyword(form);
    respan(quote!(#path!(#form: #path);), self_path.span())
}
