//! Code generation. Everything generated names the runtime through absolute
//! paths (`#krate::__private`, `::core`, `::std`); helper items live inside
//! `const _: () = { .. };` so users cannot name them.
//!
//! This file generates `#[derive(Transactional)]` and every form of
//! `#[methods]` block; `whole` generates the handles of `#[derive(Boxed)]`
//! and `#[derive(Immutable)]`, which hold a value whole.

use crate::ast::{self, Arg, CachedFn, Field, Input, Methods, Shape};
use crate::attr::{self, Form, Kind};
use crate::ctxt::Ctxt;
use crate::handle::Plumbing;
use crate::{fallback, link_check, valid, whole};
use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use std::collections::HashSet;
use syn::spanned::Spanned;
use syn::{
    parse_quote, DeriveInput, GenericParam, Generics, ImplItem, ItemImpl, Path, Type,
    WherePredicate,
};

// ---- #[derive(Transactional)] -------------------------------------------------------

pub fn derive(input: &DeriveInput, form: Form) -> TokenStream {
    let cx = Ctxt::new();
    let parsed = Input::from_syn(&cx, input, form);
    let expandable = valid::derive_input(&cx, &parsed);
    let body = match (form, &parsed.shape, expandable) {
        (Form::Transactional, Shape::Named(fields), true) => derive_struct(&parsed, fields),
        (Form::Boxed, _, true) => whole::derive_boxed(&parsed),
        (Form::Immutable, _, true) => whole::derive_immutable(&parsed),
        _ => fallback::derive(&parsed),
    };
    with_errors(cx, body)
}

pub fn with_errors(cx: Ctxt, body: TokenStream) -> TokenStream {
    match cx.check() {
        None => body,
        Some(err) => {
            let err = err.to_compile_error();
            quote!(#err #body)
        }
    }
}

pub fn krate(path: &Option<Path>) -> TokenStream {
    match path {
        Some(path) => path.to_token_stream(),
        None => quote!(::steadfast),
    }
}

/// `tokens` with every span set to `span`, so an error anywhere in them is
/// reported at the user's token (a path's span is that of its first token).
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(group) = &tt {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                tt = TokenTree::Group(new);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// A call `path(args)` reported at `span`: the path and the parentheses take
/// the span (a call's span runs from its path to its closing parenthesis),
/// while the arguments keep theirs, and with them their hygiene.
pub fn call_at(path: TokenStream, args: TokenStream, span: Span) -> TokenStream {
    let path = respan(path, span);
    let mut group = Group::new(proc_macro2::Delimiter::Parenthesis, args);
    group.set_span(span);
    quote!(#path #group)
}

/// `prefix ty suffix` with our tokens at `span` and the user's type `ty`
/// untouched (its own spans carry its name resolution): an error about the
/// whole type is reported at `span`.
pub fn around_at(
    prefix: TokenStream,
    ty: &TokenStream,
    suffix: TokenStream,
    span: Span,
) -> TokenStream {
    let (prefix, suffix) = (respan(prefix, span), respan(suffix, span));
    quote!(#prefix #ty #suffix)
}

/// `{ body }` with the braces at `span` and the body's tokens untouched.
pub fn braces_at(body: TokenStream, span: Span) -> TokenStream {
    let mut group = Group::new(proc_macro2::Delimiter::Brace, body);
    group.set_span(span);
    group.into_token_stream()
}

/// Locals of generated code: invisible to (and unable to capture) the user's
/// identifiers.
pub fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

fn derive_struct(input: &Input, fields: &[Field]) -> TokenStream {
    let krate = krate(&input.attrs.krate);
    let p = quote!(#krate::__private);
    let original = input.original;
    let name = input.ident();
    let name_str = name.to_string();
    let vis = &original.vis;
    let handle = input.handle();
    let handle_str = handle.to_string();
    let fields_ty = fields_struct_name(input, &handle);

    let generics = derive_generics(input, fields);
    let (impl_g, ty_g, where_c) = generics.split_for_impl();
    let decl_g = &original.generics; // keeps defaults, for type declarations
    let debug_where = debug_where(&generics, fields);

    let (tx, object, value, fields_local) = (
        local("tx"),
        local("object"),
        local("value"),
        local("fields"),
    );
    let inner = quote!(__steadfast_inner);

    let var_fields = fields.iter().map(|f| {
        let (ident, ty, cfgs) = (f.ident, f.ty, &f.cfgs);
        let doc = format!("The variable holding `{}`.", unraw(ident));
        // Spanned at the field's type: a type that cannot be shared is reported there.
        let var = around_at(quote!(#p::TVar<), &quote!(#ty), quote!(>), ty.span());
        quote!(#[doc = #doc] #(#cfgs)* pub #ident: #var,)
    });
    let idents: Vec<_> = fields.iter().map(|f| f.ident).collect();
    let shares: Vec<_> = fields
        .iter()
        .map(|f| {
            let (ident, ty) = (f.ident, f.ty);
            let path = around_at(quote!(#p::share_var::<), &quote!(#ty), quote!(>), ty.span());
            call_at(path, quote!(&#fields_local.#ident), ty.span())
        })
        .collect();
    // Spanned at the field's type: a type that cannot be shared is reported there.
    let reads: Vec<_> = fields
        .iter()
        .map(|f| Ident::new("read", f.ty.span()))
        .collect();
    let loads: Vec<_> = fields
        .iter()
        .map(|f| Ident::new("load", f.ty.span()))
        .collect();
    let cfgs: Vec<_> = fields.iter().map(|f| &f.cfgs).collect();
    let new_vars = fields.iter().map(|f| {
        let (ident, ty) = (f.ident, f.ty);
        let path = around_at(quote!(#p::new_var::<), &quote!(#ty), quote!(>), ty.span());
        call_at(path, quote!(#ident), ty.span())
    });

    let link = quote! {
        |#tx: &mut #p::Transaction, #object: &::std::sync::Arc<#p::Inner<#name #ty_g>>| {
            #[allow(unused_imports)]
            use #p::{MethodsBlock as _, NoMethodsBlock as _};
            (&#p::Probe::<#name #ty_g>::new()).__steadfast_link(#tx, #object)
        }
    };

    let clashing = valid::clashing_fields(fields);
    let accessors = fields
        .iter()
        .filter(|f| !clashing.contains(&unraw(f.ident)))
        .map(|f| accessor(f, &p, &inner));

    let handle_doc = format!(
        "A shared, transactional [`{name}`]: each field is a transactional variable.\n\n\
         Generated by `#[derive(Transactional)]`. Clones are handles to the same object, \
         which lives until the last handle is dropped. Read and write it inside a \
         transaction; build one with `{handle}::new` or, inside a transaction, \
         `{handle}::new_in`."
    );
    let new_doc = format!(
        "Builds a shared `{name}` in its own transaction: computes the `#[cache_now]` \
         values and checks the invariants of its `#[methods]` block.\n\n\
         # Errors\n\
         A [`BuildError`]({krate_doc}::BuildError) naming the first invariant that `value` \
         violates.\n\n\
         # Panics\n\
         Inside a running transaction: use `{handle}::new_in` there.",
        krate_doc = krate_doc_path(&input.attrs.krate),
    );
    let new_in_doc = format!(
        "Builds a shared `{name}` inside a running transaction: computes the `#[cache_now]` \
         values and checks the invariants of its `#[methods]` block. A violated invariant \
         fails the transaction, naming it; the object exists for others once the \
         transaction commits."
    );
    let snapshot_doc = format!("A plain `{name}` with the value of every field.");
    let plumbing = Plumbing {
        p: &p,
        krate: &krate,
        vis,
        name,
        handle: &handle,
        impl_g: &impl_g,
        ty_g: &ty_g,
        where_c,
        inner: &inner,
        tx: &tx,
        object: &object,
        value: &value,
        handle_trait: quote!(Handle),
        allocation: quote!(Inner),
        build: quote!(build),
        build_in: quote!(build_in),
        link: &link,
        new_doc: &new_doc,
        new_in_doc: &new_in_doc,
        ptr_eq_doc: "Whether `self` and `other` are handles to the same object.",
    };
    let (plumbing_items, plumbing_methods) = (plumbing.items(), plumbing.methods());
    let (assumed, field_types) = link_check::transactional_fields(input, fields, &p, |ty| {
        mentions_params(ty, &original.generics)
    });
    let link_check = link_check::derive_side(input, &p, &assumed, field_types);

    quote! {
        #link_check

        #[doc = #handle_doc]
        #vis struct #handle #decl_g #where_c {
            #inner: ::std::sync::Arc<#p::Inner<#name #ty_g>>,
        }

        const _: () = {
            #[doc(hidden)]
            pub struct #fields_ty #decl_g #where_c {
                #(#var_fields)*
            }

            #[automatically_derived]
            #[doc(hidden)]
            impl #impl_g #p::Object for #name #ty_g #where_c {
                type Fields = #fields_ty #ty_g;
                const NAME: &'static str = #name_str;

                fn into_fields(self) -> Self::Fields {
                    let #name { #(#(#cfgs)* #idents,)* } = self;
                    #fields_ty { #(#(#cfgs)* #idents: #new_vars,)* }
                }

                fn share_fields(#fields_local: &Self::Fields) -> Self::Fields {
                    #fields_ty {
                        #(#(#cfgs)* #idents: #shares,)*
                    }
                }

                fn snapshot(
                    #fields_local: &Self::Fields,
                    #tx: &mut #p::Transaction,
                ) -> #p::StmResult<Self> {
                    ::core::result::Result::Ok(#name {
                        #(#(#cfgs)* #idents: #fields_local.#idents.#reads(#tx)?,)*
                    })
                }
            }

            #plumbing_items

            #[automatically_derived]
            #[allow(dead_code)]
            impl #impl_g #handle #ty_g #where_c {
                #plumbing_methods

                #[doc = #snapshot_doc]
                #vis fn snapshot(&self, #tx: &mut #p::Transaction) -> #p::StmResult<#name #ty_g> {
                    #p::snapshot(&self.#inner, #tx)
                }

                #(#accessors)*
            }

            #[automatically_derived]
            impl #impl_g ::core::fmt::Debug for #handle #ty_g #debug_where {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    #[allow(unused_imports)]
                    use #p::{DebugViaDebug as _, DebugViaTypeName as _};
                    let #fields_local = self.#inner.fields();
                    #p::debug_handle(f, #handle_str, |d| {
                        #(
                            #(#cfgs)*
                            {
                                let #value = #fields_local.#idents.#loads();
                                d.field(
                                    ::core::stringify!(#idents),
                                    (&#p::DebugField(&#value)).__steadfast_debug(),
                                );
                            }
                        )*
                    })
                }
            }
        };
    }
}

/// The getter and setter of one field.
fn accessor(f: &Field, p: &TokenStream, inner: &TokenStream) -> TokenStream {
    let (ident, ty, vis, docs, cfgs) = (f.ident, f.ty, f.vis, &f.docs, &f.cfgs);
    let name = unraw(ident);
    let setter = format_ident!("set_{}", name, span = ident.span());
    let modifier = format_ident!("modify_{}", name, span = ident.span());
    let updater = format_ident!("update_{}", name, span = ident.span());
    let lender = format_ident!("with_{}", name, span = ident.span());
    let sep = if docs.is_empty() {
        quote!()
    } else {
        quote!(#[doc = ""])
    };
    let get_doc = format!("Reads `{name}` inside a transaction.");
    let set_doc = format!(
        "Writes `{name}` inside a transaction; others see it once the transaction commits, \
         after the caches and invariants that read `{name}` have run."
    );
    let modify_doc = format!(
        "Replaces `{name}` with `update` applied to its current value, inside a \
         transaction (like a read followed by `{setter}`)."
    );
    let update_doc = format!(
        "Changes `{name}` in place with `change`, inside a transaction, and returns what \
         `change` returns. The transaction's first change of `{name}` works on a clone; \
         later ones change that same copy."
    );
    let with_doc = format!(
        "Lends `{name}` to `look` inside a transaction, without cloning it, and returns \
         what `look` returns."
    );
    let (tx, value, update) = (local("tx"), local("value"), local("update"));
    let look = local("look");
    // Unlikely to shadow a type parameter of the struct that `#ty` may name.
    let (change, out) = (local("change"), local("__R"));
    // A clash with another method of the handle is reported at the field's
    // name: a function's span runs from `fn` to its closing brace.
    let at = ident.span();
    let fn_token = respan(quote!(fn), at);
    let get_ret = around_at(quote!(#p::StmResult<), &quote!(#ty), quote!(>), at);
    let unit_ret = respan(quote!(#p::StmResult<()>), at);
    // Spanned at the field's type: a type that cannot be shared is reported there.
    let span = ty.span();
    let (read, write, modify, update_in_place, read_with) = (
        Ident::new("read", span),
        Ident::new("write", span),
        Ident::new("modify", span),
        Ident::new("update", span),
        Ident::new("read_with", span),
    );
    let get_body = braces_at(quote!(self.#inner.fields().#ident.#read(#tx)), at);
    let set_body = braces_at(quote!(self.#inner.fields().#ident.#write(#tx, #value)), at);
    let modify_body = braces_at(
        quote!(self.#inner.fields().#ident.#modify(#tx, #update)),
        at,
    );
    let update_body = braces_at(
        quote!(self.#inner.fields().#ident.#update_in_place(#tx, #change)),
        at,
    );
    let with_body = braces_at(
        quote!(self.#inner.fields().#ident.#read_with(#tx, #look)),
        at,
    );
    let out_ret = around_at(quote!(#p::StmResult<), &quote!(#out), quote!(>), at);
    quote! {
        #(#docs)*
        #sep
        #[doc = #get_doc]
        #[inline]
        #(#cfgs)*
        #vis #fn_token #ident(&self, #tx: &mut #p::Transaction) -> #get_ret
        #get_body

        #[doc = #set_doc]
        #[inline]
        #(#cfgs)*
        #vis #fn_token #setter(&self, #tx: &mut #p::Transaction, #value: #ty) -> #unit_ret
        #set_body

        #[doc = #modify_doc]
        #[inline]
        #(#cfgs)*
        #vis #fn_token #modifier(
            &self,
            #tx: &mut #p::Transaction,
            #update: impl ::core::ops::FnOnce(#ty) -> #ty,
        ) -> #unit_ret
        #modify_body

        #[doc = #update_doc]
        #[inline]
        #(#cfgs)*
        #vis #fn_token #updater<#out>(
            &self,
            #tx: &mut #p::Transaction,
            #change: impl ::core::ops::FnOnce(&mut #ty) -> #out,
        ) -> #out_ret
        #update_body

        #[doc = #with_doc]
        #[inline]
        #(#cfgs)*
        #vis #fn_token #lender<#out>(
            &self,
            #tx: &mut #p::Transaction,
            #look: impl ::core::ops::FnOnce(&#ty) -> #out,
        ) -> #out_ret
        #with_body
    }
}

/// The struct's generics plus what the handle needs (`derive_predicates`)
/// and the `bound = ".."` predicates.
fn derive_generics(input: &Input, fields: &[Field]) -> Generics {
    let mut generics = input.original.generics.clone();
    let predicates = derive_predicates(input, fields, |_, f| f.ty.to_token_stream())
        .into_iter()
        .map(|tokens| syn::parse2::<WherePredicate>(tokens).expect("a where predicate"))
        .chain(input.attrs.bounds.iter().cloned());
    generics.make_where_clause().predicates.extend(predicates);
    generics
}

/// What the derive asks beyond the struct's own bounds: each type parameter
/// is `'static` and each field type that mentions one is `Clone + Send +
/// Sync + 'static`, the field's type written by `field_ty` (from its
/// position), so that the link check can name it its own way.
pub fn derive_predicates(
    input: &Input,
    fields: &[Field],
    field_ty: impl Fn(usize, &Field) -> TokenStream,
) -> Vec<TokenStream> {
    let generics = &input.original.generics;
    let params = generics.type_params().map(|param| {
        let ident = &param.ident;
        quote!(#ident: 'static)
    });
    let fields = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| mentions_params(f.ty, generics))
        .map(|(i, f)| {
            let ty = field_ty(i, f);
            // Spelled out (not `FieldValue`) so the handle's documentation reads plainly.
            quote!(#ty: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static)
        });
    params.chain(fields).collect()
}

fn debug_where(generics: &Generics, fields: &[Field]) -> TokenStream {
    let mut generics = generics.clone();
    for f in fields {
        if mentions_params(f.ty, &generics) {
            let ty = f.ty;
            generics
                .make_where_clause()
                .predicates
                .push(parse_quote!(#ty: ::core::fmt::Debug));
        }
    }
    generics.where_clause.to_token_stream()
}

fn mentions_params(ty: &Type, generics: &Generics) -> bool {
    let params: HashSet<String> = generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect();
    !params.is_empty() && tokens_mention(ty.to_token_stream(), &params)
}

fn tokens_mention(tokens: TokenStream, names: &HashSet<String>) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => names.contains(&ident.to_string()),
        TokenTree::Group(group) => tokens_mention(group.stream(), names),
        _ => false,
    })
}

/// `<Name>Fields`, unless the user's tokens already use that name.
fn fields_struct_name(input: &Input, handle: &Ident) -> Ident {
    let mut taken = HashSet::new();
    collect_idents(input.original.to_token_stream(), &mut taken);
    taken.insert(handle.to_string());
    let mut name = format!("{}Fields", input.ident());
    while taken.contains(&name) {
        name.insert(0, '_');
    }
    Ident::new(&name, input.ident().span())
}

fn collect_idents(tokens: TokenStream, out: &mut HashSet<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(ident) => {
                out.insert(ident.to_string());
            }
            TokenTree::Group(group) => collect_idents(group.stream(), out),
            _ => {}
        }
    }
}

pub fn krate_doc_path(path: &Option<Path>) -> String {
    match path {
        Some(path) => crate::pretty::pretty(path),
        None => "::steadfast".to_string(),
    }
}

pub fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

// ---- #[methods] ------------------------------------------------------------------------

pub fn methods(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_impl: ItemImpl = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Impl(item_impl)) => item_impl,
        Ok(other) => {
            let err = syn::Error::new_spanned(
                item_start(&other),
                "`#[methods]` goes on an `impl Name { .. }` block of a struct with \
                 `#[derive(Transactional)]`",
            )
            .to_compile_error();
            return quote!(#err #item);
        }
        Err(err) => {
            let err = err.to_compile_error();
            return quote!(#err #item);
        }
    };
    let cx = Ctxt::new();
    let m = Methods::from_syn(&cx, args, &item_impl);
    let block_ok = valid::methods_block(&cx, &m);
    let valid = valid::functions(&cx, &m);
    let plain = plain_impl(&m);
    let generated = if block_ok {
        methods_block(&m, &valid)
    } else {
        quote!()
    };
    with_errors(cx, quote!(#plain #generated))
}

/// The first tokens of an item, to span an error without covering its body.
fn item_start(item: &syn::Item) -> TokenStream {
    match item {
        syn::Item::Fn(f) => f.sig.to_token_stream(),
        syn::Item::Struct(s) => {
            let (token, ident) = (&s.struct_token, &s.ident);
            quote!(#token #ident)
        }
        syn::Item::Enum(e) => {
            let (token, ident) = (&e.enum_token, &e.ident);
            quote!(#token #ident)
        }
        syn::Item::Trait(t) => {
            let (token, ident) = (&t.trait_token, &t.ident);
            quote!(#token #ident)
        }
        syn::Item::Mod(m) => {
            let (token, ident) = (&m.mod_token, &m.ident);
            quote!(#token #ident)
        }
        other => other.to_token_stream(),
    }
}

/// The user's impl block as written, minus our annotations (and minus a
/// duplicated annotated function, already reported).
fn plain_impl(m: &Methods) -> TokenStream {
    let mut item = m.original.clone();
    let mut annotated = 0;
    let mut keep = Vec::with_capacity(item.items.len());
    for mut impl_item in std::mem::take(&mut item.items) {
        if let ImplItem::Fn(f) = &mut impl_item {
            if f.attrs.iter().any(attr::is_annotation) {
                let duplicate = valid::is_duplicate(m, annotated);
                annotated += 1;
                if duplicate {
                    continue;
                }
                f.attrs.retain(|a| !attr::is_annotation(a));
                // Fields are taken by reference whatever their type (`&String`, `&i64`).
                f.attrs.push(parse_quote!(
                    #[allow(clippy::ptr_arg, clippy::trivially_copy_pass_by_ref)]
                ));
            }
        }
        keep.push(impl_item);
    }
    item.items = keep;
    item.to_token_stream()
}

struct Block<'a> {
    p: TokenStream,
    form: Form,
    self_ty: &'a Type,
    self_name: String,
    caches_ty: TokenStream,
    /// The same, in expression position.
    caches_new: TokenStream,
    tx: Ident,
    object: Ident,
    caches: Ident,
    /// A box's raw value, or an immutable value, as the functions see it.
    raw: Ident,
}

fn methods_block(m: &Methods, valid: &[bool]) -> TokenStream {
    let krate = krate(&m.attrs.krate);
    let p = quote!(#krate::__private);
    let item = m.original;
    let self_ty = &*item.self_ty;
    let self_path = match self_ty {
        Type::Path(tp) => &tp.path,
        _ => unreachable!("checked by valid::self_type"),
    };
    let last = self_path.segments.last().expect("a path has a segment");
    let self_name = last.ident.to_string();

    let form = m.attrs.form;
    let mut handle_path = self_path.clone();
    let handle_ident = match &m.attrs.handle {
        Some(ident) => ident.clone(),
        None => form.default_handle(&last.ident),
    };
    handle_path
        .segments
        .last_mut()
        .expect("a path has a segment")
        .ident = handle_ident;

    let generics = static_generics(&item.generics);
    let (impl_g, ty_g, where_c) = generics.split_for_impl();
    let decl_g = &item.generics;
    let decl_where = &item.generics.where_clause;

    let b = Block {
        p: p.clone(),
        form,
        self_ty,
        self_name,
        caches_ty: quote!(__SteadfastCaches #ty_g),
        caches_new: {
            let turbofish = ty_g.as_turbofish();
            quote!(__SteadfastCaches #turbofish)
        },
        tx: local("tx"),
        object: local("object"),
        caches: local("caches"),
        raw: local("raw"),
    };
    let (tx, object, caches, caches_new) = (&b.tx, &b.object, &b.caches, &b.caches_new);
    let (object_ty, object_path) = (b.object_ty(), b.object_path());

    let good: Vec<&CachedFn> = m
        .fns
        .iter()
        .zip(valid)
        .filter(|(_, ok)| **ok)
        .map(|(f, _)| f)
        .collect();

    let cache_fields = good.iter().filter_map(|f| b.cache_field(f));
    let cache_inits = good.iter().filter_map(|f| b.cache_init(f));
    let invariants = good.iter().filter_map(|f| b.invariant(f));
    let handle_methods = good.iter().map(|f| b.handle_method(f));
    let stubs = m
        .fns
        .iter()
        .enumerate()
        .filter(|(i, _)| !valid[*i])
        .filter_map(|(i, f)| fallback::method_stub(m, i, f, &p, self_ty));

    let new_caches = quote! {
        #caches_new {
            #(#cache_inits)*
            __steadfast_marker: ::core::marker::PhantomData,
        }
    };
    // Whether the struct has the matching derive is checked once, here, at
    // the `boxed` or `immutable` option: the runtime's types ask nothing
    // more of it than to be shareable, so other uses stay quiet.
    let form_check = match (form, m.attrs.form_span) {
        (Form::Boxed, Some(span)) => respan(quote!(#self_ty: #p::BoxObject), span),
        (Form::Immutable, Some(span)) => respan(quote!(#self_ty: #p::ImmutableObject), span),
        _ => quote!(),
    };
    let link_where = {
        let mut generics = generics.clone();
        if !form_check.is_empty() {
            generics
                .make_where_clause()
                .predicates
                .push(syn::parse2(form_check).expect("a where predicate"));
        }
        generics.where_clause.to_token_stream()
    };
    let link = match form {
        Form::Transactional | Form::Boxed => {
            let (link_trait, link_fn) = match form {
                Form::Transactional => (quote!(MethodsBlock), quote!(__steadfast_link)),
                _ => (quote!(BoxMethodsBlock), quote!(__steadfast_link_box)),
            };
            quote! {
                #[automatically_derived]
                #[doc(hidden)]
                impl #impl_g #p::#link_trait<#self_ty> for #p::Probe<#self_ty> #link_where {
                    fn #link_fn(
                        &self,
                        #tx: &mut #p::Transaction,
                        #object: &::std::sync::Arc<#object_ty>,
                    ) -> #p::StmResult<()> {
                        let #caches = #new_caches;
                        #object_path::set_ext(#object, #caches);
                        #(#invariants)*
                        ::core::result::Result::Ok(())
                    }
                }
            }
        }
        Form::Immutable => {
            let value = &b.raw;
            quote! {
                #[automatically_derived]
                #[doc(hidden)]
                impl #impl_g #p::ImmutableMethodsBlock<#self_ty> for #p::Probe<#self_ty> #link_where {
                    fn __steadfast_link_immutable(
                        &self,
                        #value: &::std::sync::Arc<#self_ty>,
                    ) -> ::core::option::Option<
                        ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync>,
                    > {
                        let _ = #value;
                        let #caches = #new_caches;
                        ::core::option::Option::Some(::std::boxed::Box::new(#caches))
                    }
                }
            }
        }
    };

    let link_check = link_check::block_side(
        self_path,
        form,
        item.generics.type_params().next().is_some(),
    );

    quote! {
        const _: () = {
            #link_check

            #[doc(hidden)]
            pub struct __SteadfastCaches #decl_g #decl_where {
                #(#cache_fields)*
                __steadfast_marker: ::core::marker::PhantomData<fn() -> #self_ty>,
            }

            #link

            #[automatically_derived]
            impl #impl_g #handle_path #where_c {
                #(#handle_methods)*
                #(#stubs)*
            }
        };
    }
}

/// The impl's generics, with every type parameter `'static` (the caches live
/// in a `dyn Any` slot).
fn static_generics(generics: &Generics) -> Generics {
    let mut generics = generics.clone();
    let params: Vec<Ident> = generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.clone()),
            _ => None,
        })
        .collect();
    if !params.is_empty() {
        let clause = generics.make_where_clause();
        for ident in params {
            clause.predicates.push(parse_quote!(#ident: 'static));
        }
    }
    generics
}

/// Replaces `Self` (the struct, in the user's impl) by the struct's type, for
/// tokens moved into other impls.
pub fn replace_self(tokens: TokenStream, self_ty: &Type) -> TokenStream {
    let mut out = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(tt) = iter.next() {
        match tt {
            TokenTree::Ident(ident) if ident == "Self" => {
                let ty = self_ty.to_token_stream();
                let path_follows =
                    matches!(iter.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                // Before `::`, one group keeps `Self::Assoc` well-formed
                // (`<Pair<T>>::Assoc`); elsewhere `<..>` would start a
                // qualified path (`Option<&<Pair<T>>>` does not parse).
                let replaced: TokenStream = if path_follows {
                    quote_spanned!(ident.span()=> <#ty>)
                } else {
                    respan(ty, ident.span())
                };
                out.extend(replaced);
            }
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), replace_self(group.stream(), self_ty));
                new.set_span(group.span());
                out.push(TokenTree::Group(new));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

impl Block<'_> {
    fn ty(&self, ty: &Type) -> TokenStream {
        replace_self(ty.to_token_stream(), self.self_ty)
    }

    /// What the handle points to.
    fn object_ty(&self) -> TokenStream {
        let (p, self_ty) = (&self.p, self.self_ty);
        match self.form {
            Form::Transactional => quote!(#p::Inner<#self_ty>),
            Form::Boxed => quote!(#p::BoxInner<#self_ty>),
            Form::Immutable => quote!(#p::ImmInner<#self_ty>),
        }
    }

    /// The same, without its parameter, to call its functions.
    fn object_path(&self) -> TokenStream {
        let p = &self.p;
        match self.form {
            Form::Transactional => quote!(#p::Inner),
            Form::Boxed => quote!(#p::BoxInner),
            Form::Immutable => quote!(#p::ImmInner),
        }
    }

    /// What the handle's method returns inside `StmResult`.
    fn value_ty(&self, f: &CachedFn) -> TokenStream {
        self.ty(f.value_ty().expect("checked by valid::return_type"))
    }

    /// For a lazy cache written `-> Result<T, E>`: `T` and `E`.
    fn ok_only<'f>(&self, f: &CachedFn<'f>) -> Option<(&'f Type, &'f Type)> {
        match f.kind() {
            Kind::Lazy => f.value_ty().and_then(ast::result_parts),
            _ => None,
        }
    }

    /// The type a cache stores.
    fn stored_ty(&self, f: &CachedFn) -> TokenStream {
        match self.ok_only(f) {
            Some((ok, _)) => self.ty(ok),
            None => self.value_ty(f),
        }
    }

    fn cache_field(&self, f: &CachedFn) -> Option<TokenStream> {
        let p = &self.p;
        let (ident, cfgs) = (f.ident(), f.cfgs());
        if matches!(f.kind(), Kind::Invariant | Kind::Mutator) {
            return None;
        }
        let stored = self.stored_ty(f);
        let slot = match (f.kind(), self.form) {
            (Kind::Lazy, Form::Immutable) => quote!(#p::ImmLazy<#stored>),
            (Kind::Lazy, _) => quote!(#p::Lazy<#stored>),
            (Kind::Now, _) => quote!(#p::Eager<#stored>),
            (Kind::Eager, _) => quote!(#p::ImmEager<#stored>),
            (Kind::Invariant | Kind::Mutator, _) => return None,
        };
        Some(quote!(#(#cfgs)* #ident: #slot,))
    }

    /// What a computation reads before calling the user's function: each
    /// field parameter (`let field = object.fields().field.read(tx)?;`), or
    /// a box's raw value.
    fn reads(&self, f: &CachedFn) -> TokenStream {
        let (p, object, tx, raw) = (&self.p, &self.object, &self.tx, &self.raw);
        match self.form {
            Form::Transactional => {
                let reads = f.fields().map(
                    |(ident, _)| quote!(let #ident = #p::Inner::fields(#object).#ident.read(#tx)?;),
                );
                quote!(#(#reads)*)
            }
            Form::Boxed => quote!(let #raw = #p::BoxInner::raw(#object, #tx)?;),
            Form::Immutable => quote!(let #raw = #p::ImmInner::value(#object);),
        }
    }

    /// For a computation that reads one value and not `tx` (one field, or a
    /// box's raw value): `body` in a closure the value is lent to, instead of
    /// cloned (`read_with(tx, |field| body)`), as `StmResult<body's type>`.
    /// `body` sees the value as a reference under the field's name or `raw`.
    fn lend(&self, f: &CachedFn, body: TokenStream) -> Option<TokenStream> {
        if f.tx().is_some() {
            return None;
        }
        let (p, object, tx, raw) = (&self.p, &self.object, &self.tx, &self.raw);
        match self.form {
            Form::Transactional => {
                let mut fields = f.fields();
                let (ident, _) = fields.next()?;
                if fields.next().is_some() {
                    return None;
                }
                Some(quote!(#p::Inner::fields(#object).#ident.read_with(#tx, |#ident| #body)))
            }
            Form::Boxed => Some(quote!(#p::BoxInner::read_raw(#object, #tx, |#raw| #body))),
            Form::Immutable => None,
        }
    }

    /// The call of the user's function with the values read (`lent`: each
    /// is already a reference, bound by [`lend`](Self::lend)).
    fn call(&self, f: &CachedFn, lent: bool) -> TokenStream {
        let self_ty = self.self_ty;
        let ident = f.ident();
        let (tx, raw) = (&self.tx, &self.raw);
        let args = f.args.iter().map(|arg| match arg {
            // Spanned at the parameter's type: a mismatch with the field's
            // type is reported there.
            Arg::Field {
                ident, pat_type, ..
            } if lent => quote_spanned!(pat_type.ty.span()=> #ident),
            Arg::Field {
                ident, pat_type, ..
            } => quote_spanned!(pat_type.ty.span()=> &#ident),
            Arg::Tx(_) => quote!(#tx),
            Arg::Receiver(_) if self.form == Form::Boxed && lent => quote!(#raw),
            Arg::Receiver(_) if self.form == Form::Boxed => quote!(&*#raw),
            Arg::Receiver(_) => quote!(#raw),
            _ => unreachable!("checked by valid::parameters"),
        });
        quote!(<#self_ty>::#ident(#(#args),*))
    }

    /// The computation of a cache: reads, then the call, as `StmResult<V>`.
    fn compute(&self, f: &CachedFn) -> TokenStream {
        if let Some(lent) = self.lend(f, self.call(f, true)) {
            return lent;
        }
        let reads = self.reads(f);
        let call = self.call(f, false);
        if f.tx().is_some() {
            quote!({ #reads #call })
        } else {
            quote!({ #reads ::core::result::Result::Ok(#call) })
        }
    }

    fn cache_init(&self, f: &CachedFn) -> Option<TokenStream> {
        let (p, tx, object, raw) = (&self.p, &self.tx, &self.object, &self.raw);
        let (self_ty, object_ty) = (self.self_ty, self.object_ty());
        let (ident, cfgs) = (f.ident(), f.cfgs());
        if matches!(f.kind(), Kind::Invariant | Kind::Mutator) {
            return None;
        }
        // The cache's type is checked here, once, spanned at the user's return type.
        let span = f.value_ty().expect("checked by valid::return_type").span();
        let stored = self.stored_ty(f);
        let init = match (f.kind(), self.form) {
            (Kind::Lazy, form) => {
                let slot = match form {
                    Form::Immutable => quote!(#p::ImmLazy::<),
                    _ => quote!(#p::Lazy::<),
                };
                let path = around_at(slot, &stored, quote!(>::new), span);
                call_at(path, quote!(), span)
            }
            (Kind::Now, _) => {
                let compute = self.compute(f);
                let new = call_at(
                    around_at(quote!(#p::Eager::<), &stored, quote!(>::new), span),
                    quote! {
                        #tx,
                        #object,
                        |#object: &#object_ty, #tx: &mut #p::Transaction| #compute,
                    },
                    span,
                );
                quote!(#new?)
            }
            (Kind::Eager, _) => {
                let call = self.call(f, false);
                call_at(
                    around_at(quote!(#p::ImmEager::<), &stored, quote!(>::new), span),
                    quote!(#raw, |#raw: &#self_ty| #call),
                    span,
                )
            }
            (Kind::Invariant | Kind::Mutator, _) => return None,
        };
        Some(quote!(#(#cfgs)* #ident: #init,))
    }

    fn invariant_name(&self, f: &CachedFn) -> String {
        format!("{}::{}", self.self_name, unraw(f.ident()))
    }

    fn invariant(&self, f: &CachedFn) -> Option<TokenStream> {
        if f.kind() != Kind::Invariant {
            return None;
        }
        let (p, tx, object, object_ty) = (&self.p, &self.tx, &self.object, self.object_ty());
        let cfgs = f.cfgs();
        let name = self.invariant_name(f);
        let check = self.check(f);
        Some(quote! {
            #(#cfgs)*
            #tx.invariant_owned(
                #name,
                #object,
                |#object: &#object_ty, #tx: &mut #p::Transaction| -> #p::steadfast_core::CheckResult {
                    #check
                },
            )?;
        })
    }

    /// An invariant's check: reads, the call, the outcome as a `CheckResult`.
    /// The outcome's type is named at the user's return type, so a wrong
    /// type is reported there.
    fn check(&self, f: &CachedFn) -> TokenStream {
        let p = &self.p;
        let (reads, call) = match self.lend(f, self.call(f, true)) {
            Some(lent) => (quote!(), quote!(#lent?)),
            None => (self.reads(f), self.call(f, false)),
        };
        let ret = f.value_ty().expect("checked by valid::return_type");
        let ret_tokens = self.ty(ret);
        let function = if f.tx().is_some() {
            quote!(#p::check_stm::<)
        } else {
            quote!(#p::check::<)
        };
        let function = around_at(function, &ret_tokens, quote!(>), ret.span());
        quote!({
            #reads
            #function(#call)
        })
    }

    fn handle_method(&self, f: &CachedFn) -> TokenStream {
        match (self.form, f.kind()) {
            (Form::Immutable, _) => self.immutable_method(f),
            (_, Kind::Mutator) => self.mutator_method(f),
            _ => self.transactional_method(f),
        }
    }

    /// `#(#docs)* [blank line] #[doc = generated]`.
    fn docs(&self, f: &CachedFn) -> TokenStream {
        let docs = f.docs();
        let sep = if docs.is_empty() {
            quote!()
        } else {
            quote!(#[doc = ""])
        };
        let doc = self.method_doc(f);
        quote!(#(#docs)* #sep #[doc = #doc])
    }

    /// A cache's or invariant's method on a transactional or box handle:
    /// `fn name(&self, tx) -> StmResult<V>`.
    fn transactional_method(&self, f: &CachedFn) -> TokenStream {
        let (p, tx, object, caches) = (&self.p, &self.tx, &self.object, &self.caches);
        let (caches_ty, object_ty) = (&self.caches_ty, self.object_ty());
        let object_path = self.object_path();
        let (ident, cfgs) = (f.ident(), f.cfgs());
        let vis = &f.original.vis;
        let value = self.value_ty(f);
        let body = match f.kind() {
            Kind::Lazy => {
                let compute = self.compute(f);
                match self.ok_only(f) {
                    Some(_) => {
                        quote!(#p::lazy_ok(&#caches.#ident, #tx, |#tx: &mut #p::Transaction| #compute))
                    }
                    None => quote!(#caches.#ident.get(#tx, |#tx: &mut #p::Transaction| #compute)),
                }
            }
            Kind::Now => quote!(#caches.#ident.get(#tx)),
            Kind::Invariant => {
                let compute = self.compute(f);
                quote!({
                    let _ = #caches;
                    #compute
                })
            }
            Kind::Eager | Kind::Mutator => unreachable!("checked by valid::kind_fits_form"),
        };
        let docs = self.docs(f);
        // A clash with another method of the handle (a field's getter) is
        // reported at the function's name: a function's span runs from `fn`
        // to its closing brace.
        let span = ident.span();
        let fn_token = respan(quote!(fn), span);
        let ret = around_at(quote!(#p::StmResult<), &value, quote!(>), span);
        let handle_trait = match self.form {
            Form::Boxed => quote!(#p::BoxHandle),
            _ => quote!(#p::Handle),
        };
        let block = braces_at(
            quote! {
                let #object: &::std::sync::Arc<#object_ty> = #handle_trait::inner(self);
                let #caches = #object_path::ext::<#caches_ty>(#object);
                #body
            },
            span,
        );
        quote! {
            #docs
            #[allow(dead_code)]
            #(#cfgs)*
            #vis #fn_token #ident(&self, #tx: &mut #p::Transaction) -> #ret
            #block
        }
    }

    /// A cache's method on an immutable handle: `fn name(&self) -> &V`, or
    /// `Result<&T, E>` for a lazy cache of a `Result`.
    fn immutable_method(&self, f: &CachedFn) -> TokenStream {
        let (p, object, caches) = (&self.p, &self.object, &self.caches);
        let (caches_ty, object_ty) = (&self.caches_ty, self.object_ty());
        let object_path = self.object_path();
        let (ident, cfgs) = (f.ident(), f.cfgs());
        let vis = &f.original.vis;
        let span = ident.span();
        let (ret, body) = match (f.kind(), self.ok_only(f)) {
            (Kind::Lazy, Some((ok, err))) => {
                let (ok, err) = (self.ty(ok), self.ty(err));
                let reads = self.reads(f);
                let call = self.call(f, false);
                (
                    around_at(
                        quote!(::core::result::Result<&),
                        &quote!(#ok, #err),
                        quote!(>),
                        span,
                    ),
                    quote!(#caches.#ident.try_get(|| { #reads #call })),
                )
            }
            (Kind::Lazy, None) => {
                let reads = self.reads(f);
                let call = self.call(f, false);
                (
                    around_at(quote!(&), &self.value_ty(f), quote!(), span),
                    quote!(#caches.#ident.get(|| { #reads #call })),
                )
            }
            (Kind::Eager, _) => (
                around_at(quote!(&), &self.value_ty(f), quote!(), span),
                quote!(#caches.#ident.get()),
            ),
            _ => unreachable!("checked by valid::kind_fits_form"),
        };
        let docs = self.docs(f);
        let fn_token = respan(quote!(fn), span);
        let block = braces_at(
            quote! {
                let #object: &::std::sync::Arc<#object_ty> = #p::ImmHandle::inner(self);
                let #caches = #object_path::ext::<#caches_ty>(#object);
                #body
            },
            span,
        );
        quote! {
            #docs
            // The kept value is handed out by reference, whatever its type.
            #[allow(dead_code, clippy::borrowed_box)]
            #(#cfgs)*
            #vis #fn_token #ident(&self) -> #ret
            #block
        }
    }

    /// A mutator forwarded to the box: `fn name(&self, tx, args..) -> StmResult<R>`.
    fn mutator_method(&self, f: &CachedFn) -> TokenStream {
        let (p, tx, object, raw) = (&self.p, &self.tx, &self.object, &self.raw);
        let self_ty = self.self_ty;
        let sig = &f.original.sig;
        let (ident, cfgs) = (f.ident(), f.cfgs());
        let vis = &f.original.vis;
        // The forwarder's parameters: the user's, named so they can be passed on.
        let mut params = Vec::new();
        let mut names = std::collections::HashMap::new();
        for (i, pat_type) in f.extra_args() {
            let name = match &*pat_type.pat {
                syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
                _ => local(&format!("arg{i}")),
            };
            let ty = self.ty(&pat_type.ty);
            let attrs = &pat_type.attrs;
            params.push(quote!(#(#attrs)* #name: #ty));
            names.insert(i, name);
        }
        let args = f.args.iter().enumerate().map(|(i, arg)| match arg {
            Arg::Receiver(_) => quote!(#raw),
            Arg::Tx(_) => quote!(#tx),
            _ => {
                let name = &names[&i];
                quote!(#name)
            }
        });
        let call = quote!(<#self_ty>::#ident(#(#args),*));
        let (ret, body) = if f.tx().is_some() {
            let ret = self.ty(f.output.ty.expect("checked by valid::return_type"));
            let body = quote! {
                #p::box_mutate_stm(
                    self,
                    #tx,
                    |#raw, #tx: &mut #p::Transaction| #call,
                )
            };
            (ret, body)
        } else {
            let value = match f.output.ty {
                Some(ty) => self.ty(ty),
                None => quote!(()),
            };
            let ret = quote!(#p::StmResult<#value>);
            // The closure's type comes from the box: if the handle does not
            // exist (another error), nothing more is reported here.
            let body = quote!(#p::box_mutate(self, #tx, |#raw| #call));
            (ret, body)
        };
        let generics = replace_self(sig.generics.to_token_stream(), self_ty);
        let where_clause = replace_self(sig.generics.where_clause.to_token_stream(), self_ty);
        let docs = self.docs(f);
        let span = ident.span();
        let fn_token = respan(quote!(fn), span);
        let caches_ty = &self.caches_ty;
        let block = braces_at(
            quote! {
                let #object = #p::BoxHandle::inner(self);
                // A box built without this block's invariants (generic bounds
                // the derive did not know) must not be changed unchecked.
                let _ = #p::BoxInner::ext::<#caches_ty>(#object);
                #body
            },
            span,
        );
        quote! {
            #docs
            #[allow(dead_code, clippy::too_many_arguments)]
            #(#cfgs)*
            #vis #fn_token #ident #generics (
                &self,
                #tx: &mut #p::Transaction,
                #(#params),*
            ) -> #ret
            #where_clause
            #block
        }
    }

    fn method_doc(&self, f: &CachedFn) -> String {
        let function = format!("{}::{}", self.self_name, unraw(f.ident()));
        let fields: Vec<String> = f.fields().map(|(i, _)| format!("`{}`", unraw(i))).collect();
        let mut inputs = match (self.form, fields.len()) {
            (Form::Boxed, _) => "the raw value".to_string(),
            (Form::Immutable, _) => "the value".to_string(),
            (_, 0) => String::new(),
            (_, 1) => fields[0].clone(),
            (_, n) => format!("{} and {}", fields[..n - 1].join(", "), fields[n - 1]),
        };
        if f.tx().is_some() {
            if inputs.is_empty() {
                inputs = "what it reads through the transaction".into();
            } else {
                inputs.push_str(" and what it reads through the transaction");
            }
        }
        let from = if inputs.is_empty() {
            String::new()
        } else {
            format!(" from {inputs}")
        };
        match (self.form, f.kind()) {
            (Form::Immutable, Kind::Lazy) => format!(
                "Lazily cached `{function}`: computed{from} on first call, then kept for \
                 every later call, from any thread. Threads racing on the first call may \
                 each compute it; one result is kept and all of them get that one.{}",
                if self.ok_only(f).is_some() {
                    " Only `Ok` values are kept: an `Err` is computed again next time."
                } else {
                    ""
                }
            ),
            (_, Kind::Eager) => format!(
                "Eagerly cached `{function}`: computed{from} on a background thread after the \
                 value is built. A call before it is ready computes it rather than wait, so \
                 it never sees a missing value."
            ),
            (_, Kind::Lazy) => format!(
                "Lazily cached `{function}`: computed{from} on first call, then answered from \
                 the cache until a committed transaction changes what it read. A transaction \
                 that changed it itself gets a fresh value.{}",
                if self.ok_only(f).is_some() {
                    " Only `Ok` values are cached."
                } else {
                    ""
                }
            ),
            (_, Kind::Now) => format!(
                "Eagerly maintained `{function}`: computed{from} when the object is built and \
                 again, before commit, by every transaction that changes what it read. \
                 Reading it never computes."
            ),
            (_, Kind::Invariant) => format!(
                "Evaluates the invariant `{function}`{from}. The object's factory and every \
                 transaction that changes what it reads check it; a transaction that would \
                 leave it failing cannot commit."
            ),
            (_, Kind::Mutator) => format!(
                "Runs the mutator `{function}` on the box's raw value, inside the transaction: \
                 a copy of the value is changed and written back. The invariants may be broken \
                 in between; they are checked once, when the transaction commits."
            ),
        }
    }
}
