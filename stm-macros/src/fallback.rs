//! What is emitted after an error, so that code using the generated items
//! still type-checks and the user sees the one error that matters.

use crate::ast::{CachedFn, Input, Methods};
use crate::attr::{Form, Kind};
use crate::expand::{krate, replace_self};
use crate::valid;
use proc_macro2::TokenStream;
use quote::quote;
use quote::ToTokens;
use syn::Type;

/// The handle type and its factory's signatures, with no body.
pub fn derive(input: &Input) -> TokenStream {
    let krate = krate(&input.attrs.krate);
    let p = quote!(#krate::__private);
    let original = input.original;
    let (name, vis, handle) = (&original.ident, &original.vis, input.handle());
    let decl_g = &original.generics;
    let (impl_g, ty_g, where_c) = original.generics.split_for_impl();
    let derive = input.form.derive_name();
    let message = format!("`#[derive({derive})]` failed: see the error above");
    let doc = format!("Not generated: `#[derive({derive})]` reported an error.");
    let methods = match input.form {
        Form::Transactional => quote! {
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
        },
        Form::Boxed => quote! {
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
            #vis fn read<R>(
                &self,
                tx: &mut #p::Transaction,
                f: impl ::core::ops::FnOnce(&#name #ty_g) -> R,
            ) -> #p::StmResult<R> {
                ::core::unimplemented!(#message)
            }
            /// Not generated.
            #vis fn update<R>(
                &self,
                tx: &mut #p::Transaction,
                f: impl ::core::ops::FnOnce(&mut #name #ty_g) -> R,
            ) -> #p::StmResult<R> {
                ::core::unimplemented!(#message)
            }
        },
        Form::Immutable => quote! {
            /// Not generated.
            #vis fn new(value: #name #ty_g) -> Self {
                ::core::unimplemented!(#message)
            }
        },
    };
    let deref = if input.form == Form::Immutable {
        quote! {
            impl #impl_g ::core::ops::Deref for #handle #ty_g #where_c {
                type Target = #name #ty_g;
                fn deref(&self) -> &Self::Target {
                    ::core::unimplemented!(#message)
                }
            }
        }
    } else {
        quote!()
    };
    quote! {
        #[doc = #doc]
        #vis struct #handle #decl_g #where_c {
            __steadfast_marker: ::core::marker::PhantomData<fn() -> #name #ty_g>,
        }

        #deref

        #[allow(dead_code, unused_variables)]
        impl #impl_g #handle #ty_g #where_c {
            #methods
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
    let form = m.attrs.form;
    if valid::is_duplicate(m, index) || valid::reserved(form).contains(&name.as_str()) {
        return None;
    }
    // With a `tx` parameter but no `StmResult`, the declared type is the value.
    let value = match (f.value_ty().or(f.output.ty), f.kind()) {
        (Some(ty), _) => replace_self(quote!(#ty), self_ty),
        (None, Kind::Invariant) => quote!(bool),
        (None, Kind::Mutator) => quote!(()),
        (None, _) => return None,
    };
    let (ident, vis, cfgs) = (f.ident(), &f.original.vis, f.cfgs());
    let message = "`#[methods]` failed: see the error above";
    let signature = if f.kind() == Kind::Mutator {
        let generics = &f.original.sig.generics;
        let where_clause = &generics.where_clause;
        let params = f.extra_args().map(|(_, p)| {
            let ty = replace_self(p.ty.to_token_stream(), self_ty);
            quote!(_: #ty)
        });
        quote! {
            #ident #generics (&self, tx: &mut #p::Transaction, #(#params),*)
                -> #p::StmResult<#value> #where_clause
        }
    } else if form == Form::Immutable {
        quote!(#ident(&self) -> &#value)
    } else {
        quote!(#ident(&self, tx: &mut #p::Transaction) -> #p::StmResult<#value>)
    };
    Some(quote! {
        /// Not generated: `#[methods]` reported an error for this function.
        #(#cfgs)*
        #[allow(dead_code, unused_variables)]
        #vis fn #signature {
            ::core::unimplemented!(#message)
        }
    })
}
