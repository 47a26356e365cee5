//! What is emitted after an error, so that code using the generated items
//! still type-checks and the user sees the one error that matters.

use crate::ast::{CachedFn, Input, Methods};
use crate::attr::Kind;
use crate::expand::{krate, replace_self};
use crate::valid;
use proc_macro2::TokenStream;
use quote::quote;
use syn::Type;

/// The handle type and its factory's signatures, with no body.
pub fn derive(input: &Input) -> TokenStream {
    let krate = krate(&input.attrs.krate);
    let p = quote!(#krate::__private);
    let original = input.original;
    let (name, vis, handle) = (&original.ident, &original.vis, input.handle());
    let decl_g = &original.generics;
    let (impl_g, ty_g, where_c) = original.generics.split_for_impl();
    let message = "`#[derive(Transactional)]` failed: see the error above";
    quote! {
        /// Not generated: `#[derive(Transactional)]` reported an error.
        #vis struct #handle #decl_g #where_c {
            __steadfast_marker: ::core::marker::PhantomData<fn() -> #name #ty_g>,
        }

        #[allow(dead_code, unused_variables)]
        impl #impl_g #handle #ty_g #where_c {
            /// Not generated.
            #vis fn new(value: #name #ty_g) -> ::core::result::Result<Self, #krate::BuildError> {
                ::core::unimplemented!(#message)
            }
            /// Not generated.
            #vis fn new_in(tx: &mut #p::Transaction, value: #name #ty_g) -> #p::StmResult<Self> {
                ::core::unimplemented!(#message)
            }
            /// Not generated.
            #vis fn snapshot(&self, tx: &mut #p::Transaction) -> #p::StmResult<#name #ty_g> {
                ::core::unimplemented!(#message)
            }
            /// Not generated.
            #vis fn ptr_eq(&self, other: &Self) -> bool {
                ::core::unimplemented!(#message)
            }
        }

        impl #impl_g ::core::clone::Clone for #handle #ty_g #where_c {
            fn clone(&self) -> Self {
                ::core::unimplemented!(#message)
            }
        }

        impl #impl_g ::core::fmt::Debug for #handle #ty_g #where_c {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::unimplemented!(#message)
            }
        }
    }
}

/// A handle method with the signature the user expects and no body, for an
/// annotated function that had an error: calls to it then type-check and
/// report nothing more. None for a duplicate or a reserved name (a stub would
/// clash) or when the value type is unknown.
pub fn method_stub(
    m: &Methods,
    index: usize,
    f: &CachedFn,
    p: &TokenStream,
    self_ty: &Type,
) -> Option<TokenStream> {
    let name = f.ident().to_string();
    if valid::is_duplicate(m, index) || valid::RESERVED.contains(&name.as_str()) {
        return None;
    }
    // With a `tx` parameter but no `StmResult`, the declared type is the value.
    let value = match (f.value_ty().or(f.output.ty), f.kind()) {
        (Some(ty), _) => replace_self(quote!(#ty), self_ty),
        (None, Kind::Invariant) => quote!(bool),
        (None, _) => return None,
    };
    let (ident, vis, cfgs) = (f.ident(), &f.original.vis, f.cfgs());
    Some(quote! {
        /// Not generated: `#[methods]` reported an error for this function.
        #(#cfgs)*
        #[allow(dead_code, unused_variables)]
        #vis fn #ident(&self, tx: &mut #p::Transaction) -> #p::StmResult<#value> {
            ::core::unimplemented!("`#[methods]` failed: see the error above")
        }
    })
}
