//! What the handles of `#[derive(Transactional)]` and `#[derive(Boxed)]`
//! share: a shared allocation behind an `Arc`, the runtime trait that wraps
//! and unwraps it, the constructors, `ptr_eq` and `Clone`. The two derives
//! differ in the allocation's type and in how an object is built.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use syn::{ImplGenerics, TypeGenerics, Visibility, WhereClause};

/// One handle's names and the runtime items behind its form.
pub struct Plumbing<'a> {
    /// `#krate::__private`.
    pub p: &'a TokenStream,
    /// The path of the crate, for `BuildError`.
    pub krate: &'a TokenStream,
    pub vis: &'a Visibility,
    pub name: &'a Ident,
    pub handle: &'a Ident,
    pub impl_g: &'a ImplGenerics<'a>,
    pub ty_g: &'a TypeGenerics<'a>,
    pub where_c: Option<&'a WhereClause>,
    /// The handle's only field: the `Arc` of the shared allocation.
    pub inner: &'a TokenStream,
    /// Locals of the generated code.
    pub tx: &'a Ident,
    pub object: &'a Ident,
    pub value: &'a Ident,
    /// The runtime's wrapping trait (`Handle`, `BoxHandle`), its allocation
    /// (`Inner`, `BoxInner`) and its builders (`build`, `build_in`).
    pub handle_trait: TokenStream,
    pub allocation: TokenStream,
    pub build: TokenStream,
    pub build_in: TokenStream,
    /// Links the `#[methods]` block while building.
    pub link: &'a TokenStream,
    pub new_doc: &'a str,
    pub new_in_doc: &'a str,
    /// What "the same" means in `ptr_eq`'s documentation.
    pub ptr_eq_doc: &'a str,
}

impl Plumbing<'_> {
    /// The wrapping trait's impl and `Clone`, as items.
    pub fn items(&self) -> TokenStream {
        let Plumbing {
            p,
            name,
            handle,
            impl_g,
            ty_g,
            where_c,
            inner,
            object,
            handle_trait,
            allocation,
            ..
        } = self;
        quote! {
            #[automatically_derived]
            #[doc(hidden)]
            impl #impl_g #p::#handle_trait for #handle #ty_g #where_c {
                type Object = #name #ty_g;

                #[inline]
                fn inner(&self) -> &::std::sync::Arc<#p::#allocation<#name #ty_g>> {
                    &self.#inner
                }

                #[inline]
                fn from_inner(#object: ::std::sync::Arc<#p::#allocation<#name #ty_g>>) -> Self {
                    #handle { #inner: #object }
                }
            }

            #[automatically_derived]
            impl #impl_g ::core::clone::Clone for #handle #ty_g #where_c {
                #[inline]
                fn clone(&self) -> Self {
                    #handle { #inner: ::std::sync::Arc::clone(&self.#inner) }
                }
            }
        }
    }

    /// `new`, `new_in` and `ptr_eq`, for the handle's inherent impl.
    pub fn methods(&self) -> TokenStream {
        let Plumbing {
            p,
            krate,
            vis,
            name,
            ty_g,
            inner,
            tx,
            value,
            build,
            build_in,
            link,
            new_doc,
            new_in_doc,
            ptr_eq_doc,
            ..
        } = self;
        quote! {
            #[doc = #new_doc]
            #vis fn new(
                #value: #name #ty_g,
            ) -> ::core::result::Result<Self, #krate::BuildError> {
                #p::#build::<Self, _>(#value, #link)
            }

            #[doc = #new_in_doc]
            #vis fn new_in(
                #tx: &mut #p::Transaction,
                #value: #name #ty_g,
            ) -> #p::StmResult<Self> {
                #p::#build_in::<Self, _>(#tx, #value, #link)
            }

            #[doc = #ptr_eq_doc]
            #[inline]
            #vis fn ptr_eq(&self, other: &Self) -> bool {
                ::std::sync::Arc::ptr_eq(&self.#inner, &other.#inner)
            }
        }
    }
}
