//! The rules, one function each. Every rule reports through the `Ctxt`, at the
//! user's token, and says whether the checked item may be expanded.

use crate::ast::{self, Arg, CachedFn, Field, Input, Methods, SelfKind, Shape};
use crate::attr::{self, Form, Kind};
use crate::ctxt::Ctxt;
use crate::pretty::pretty;
use std::collections::HashSet;
use syn::{GenericParam, Type};

// ---- #[derive(Transactional)], #[derive(Boxed)], #[derive(Immutable)] ---------------

/// Whether the struct can be expanded (otherwise the fallback stub is emitted).
pub fn derive_input(cx: &Ctxt, input: &Input) -> bool {
    let shape_ok = match input.form {
        Form::Transactional => shape(cx, input),
        Form::Boxed | Form::Immutable => not_a_union(cx, input),
    };
    let lifetimes_ok = no_lifetimes(cx, input);
    if let (Form::Transactional, Shape::Named(fields)) = (input.form, &input.shape) {
        field_names(cx, input, fields);
    }
    handle_name(cx, input);
    shape_ok && lifetimes_ok
}

/// Rule: a box or an immutable value holds any struct or enum, whole (its
/// functions take `&self`), but not a union, whose fields cannot be read
/// without `unsafe`.
fn not_a_union(cx: &Ctxt, input: &Input) -> bool {
    if let Shape::Union(data) = &input.shape {
        let derive = input.form.derive_name();
        cx.error_spanned_by(
            data.union_token,
            format!(
                "`#[derive({derive})]` needs a struct or an enum, not a union: its caches and \
                 invariants read the value through `&self`, and a union can only be read \
                 with `unsafe`"
            ),
        );
        false
    } else {
        true
    }
}

/// Rule: a struct with named fields.
fn shape(cx: &Ctxt, input: &Input) -> bool {
    let name = input.ident();
    match &input.shape {
        Shape::Named(_) => true,
        Shape::Enum(data) => {
            cx.error_spanned_by(
                data.enum_token,
                format!(
                    "`#[derive(Transactional)]` needs a struct with named fields, and `{name}` \
                     is an enum; keep the enum in a field of a struct instead \
                     (`struct Holder {{ value: {name} }}`)"
                ),
            );
            false
        }
        Shape::Union(data) => {
            cx.error_spanned_by(
                data.union_token,
                "`#[derive(Transactional)]` needs a struct with named fields, not a union",
            );
            false
        }
        Shape::Tuple(fields) => {
            cx.error_spanned_by(
                fields,
                format!(
                    "`#[derive(Transactional)]` needs named fields, and `{name}` is a tuple \
                     struct: `#[cache_lazy]` and `#[invariant]` functions refer to fields by name"
                ),
            );
            false
        }
        Shape::Unit => {
            cx.error_spanned_by(
                name,
                format!(
                    "`#[derive(Transactional)]` needs named fields, and `{name}` is a unit \
                     struct with nothing to share; write `struct {name} {{ .. }}`"
                ),
            );
            false
        }
    }
}

/// Rule: no lifetime parameters (fields live in shared variables: `'static`).
fn no_lifetimes(cx: &Ctxt, input: &Input) -> bool {
    let message = match input.form {
        Form::Transactional => {
            "a transactional struct cannot have lifetime parameters: its fields live in \
             variables shared between threads, so they must be `'static`"
        }
        Form::Boxed => {
            "a boxed struct cannot have lifetime parameters: its value lives in a variable \
             shared between threads, so it must be `'static`"
        }
        Form::Immutable => {
            "an immutable struct cannot have lifetime parameters: the value and its caches \
             are shared between threads, so they must be `'static`"
        }
    };
    let mut ok = true;
    for param in &input.original.generics.params {
        if let GenericParam::Lifetime(lt) = param {
            cx.error_spanned_by(&lt.lifetime, message);
            ok = false;
        }
    }
    ok
}

/// Rule: getters and setters must not clash with the handle's other methods.
fn field_names(cx: &Ctxt, input: &Input, fields: &[Field]) {
    let handle = input.handle();
    let names: HashSet<String> = fields.iter().map(|f| unraw(f.ident)).collect();
    for field in fields {
        let name = unraw(field.ident);
        if RESERVED.contains(&name.as_str()) {
            cx.error_spanned_by(
                field.ident,
                format!(
                    "field `{name}` would get a getter `{handle}::{name}`, which clashes with \
                     the handle's own `{name}`; rename the field"
                ),
            );
        }
        for (prefix, what) in [
            ("set_", "setter"),
            ("modify_", "modifier"),
            ("update_", "updater"),
            ("with_", "lending reader"),
        ] {
            if let Some(base) = name.strip_prefix(prefix) {
                if names.contains(base) {
                    cx.error_spanned_by(
                        field.ident,
                        format!(
                            "field `{name}` would get a getter `{handle}::{name}`, which \
                             clashes with the {what} of field `{base}`; rename one of them"
                        ),
                    );
                }
            }
        }
    }
}

/// Rule: the handle needs its own name.
fn handle_name(cx: &Ctxt, input: &Input) {
    if let Some(handle) = &input.attrs.handle {
        if handle == input.ident() {
            cx.error_spanned_by(
                handle,
                "the handle needs a name different from the struct's: both types exist",
            );
        }
    }
}

/// Fields whose getter would clash with another method of the handle: the
/// expansion leaves their accessors out, so the clash is reported once.
pub fn clashing_fields(fields: &[Field]) -> HashSet<String> {
    let names: HashSet<String> = fields.iter().map(|f| unraw(f.ident)).collect();
    names
        .iter()
        .filter(|name| {
            RESERVED.contains(&name.as_str())
                || ["set_", "modify_", "update_", "with_"].iter().any(|p| {
                    name.strip_prefix(p)
                        .is_some_and(|base| names.contains(base))
                })
        })
        .cloned()
        .collect()
}

/// Names of the handle's methods that fields and caches must not take.
pub const RESERVED: &[&str] = &["new", "new_in", "snapshot", "ptr_eq"];

/// The same for each form of handle.
pub fn reserved(form: Form) -> &'static [&'static str] {
    match form {
        Form::Transactional => RESERVED,
        Form::Boxed => &["new", "new_in", "snapshot", "ptr_eq", "read", "update"],
        Form::Immutable => &["new", "ptr_eq"],
    }
}

fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

// ---- #[methods] ------------------------------------------------------------------------

/// Whether the impl block itself can be expanded.
pub fn methods_block(cx: &Ctxt, m: &Methods) -> bool {
    inherent(cx, m) && self_type(cx, m) && generic_over_all(cx, m)
}

/// Rule: an inherent impl, not a trait impl.
fn inherent(cx: &Ctxt, m: &Methods) -> bool {
    match &m.original.trait_ {
        None => true,
        Some((_, path, _)) => {
            cx.error_spanned_by(
                path,
                "`#[methods]` goes on an inherent `impl Name { .. }` block, not on an \
                 implementation of a trait",
            );
            false
        }
    }
}

/// Rule: the impl is for a named type (the struct).
fn self_type(cx: &Ctxt, m: &Methods) -> bool {
    match &*m.original.self_ty {
        Type::Path(p) if p.qself.is_none() => true,
        other => {
            cx.error_spanned_by(
                other,
                "`#[methods]` goes on `impl Name { .. }`, where `Name` is a struct with \
                 `#[derive(Transactional)]`, `#[derive(Boxed)]` or `#[derive(Immutable)]`",
            );
            false
        }
    }
}

/// Rule: for a generic struct, the block is generic over all its parameters
/// (`impl<T> Pair<T>`): the factory of every instantiation links one block.
fn generic_over_all(cx: &Ctxt, m: &Methods) -> bool {
    let Type::Path(p) = &*m.original.self_ty else {
        return true;
    };
    let Some(last) = p.path.segments.last() else {
        return true;
    };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return true;
    };
    let params: HashSet<String> = m
        .original
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    let mut seen = HashSet::new();
    for arg in &args.args {
        let ok = match arg {
            syn::GenericArgument::Type(Type::Path(t)) => t
                .path
                .get_ident()
                .is_some_and(|i| params.contains(&i.to_string()) && seen.insert(i.to_string())),
            _ => false,
        };
        if !ok {
            let name = &last.ident;
            cx.error_spanned_by(
                arg,
                format!(
                    "`#[methods]` goes on an `impl` generic over all of `{name}`'s type \
                     parameters (`impl<T> {name}<T>`), not on one instantiation: every \
                     `{name}<..>` object gets the same caches and invariants"
                ),
            );
            return false;
        }
    }
    true
}

/// Checks every annotated function; returns, per function, whether it is valid.
pub fn functions(cx: &Ctxt, m: &Methods) -> Vec<bool> {
    let form = m.attrs.form;
    let mut valid: Vec<bool> = m.fns.iter().map(|f| function(cx, f, form)).collect();
    duplicate_names(cx, m, &mut valid);
    valid
}

fn function(cx: &Ctxt, f: &CachedFn, form: Form) -> bool {
    // An annotation that does not belong to this kind of struct is the one
    // problem worth reporting: the other rules describe another form.
    if !kind_fits_form(cx, f, form) {
        return false;
    }
    // Every rule runs, so one pass reports every problem of the function.
    let rules = [
        one_annotation(cx, f),
        annotation_arguments(cx, f),
        receiver(cx, f, form),
        plain_fn(cx, f),
        no_generics(cx, f),
        match form {
            Form::Transactional => parameters(cx, f),
            Form::Boxed | Form::Immutable => self_parameters(cx, f, form),
        },
        return_type(cx, f),
        reserved_name(cx, f, form),
    ];
    rules.iter().all(|ok| *ok)
}

/// Rule: `#[mutator]` belongs to boxes, `#[cache_eager]` to immutable values,
/// and an immutable value has no `#[cache_now]` or `#[invariant]`.
fn kind_fits_form(cx: &Ctxt, f: &CachedFn, form: Form) -> bool {
    let mut ok = true;
    for a in &f.annotations {
        let message = match (a.kind, form) {
            (Kind::Mutator, Form::Transactional) => {
                "`#[mutator]` belongs to boxes: it changes the raw value of a \
                 `#[derive(Boxed)]` struct, in its `#[methods(boxed)]` block. A transactional \
                 struct changes through its setters (`set_field`), and its invariants are \
                 checked when the transaction commits"
            }
            (Kind::Mutator, Form::Immutable) => {
                "an immutable value has no `#[mutator]`: it never changes. Build a new value, \
                 or box the struct (`#[derive(Boxed)]` and `#[methods(boxed)]`)"
            }
            (Kind::Eager, Form::Transactional | Form::Boxed) => {
                "`#[cache_eager]` computes once, on a background thread, so it belongs to \
                 immutable values (`#[derive(Immutable)]` and `#[methods(immutable)]`); a value \
                 that changes keeps an eager cache with `#[cache_now]`, recomputed before each \
                 commit that changes what it read"
            }
            (Kind::Now, Form::Immutable) => {
                "an immutable value never changes, so there is nothing to keep up to date: \
                 use `#[cache_eager]` (computed on a background thread after `new`) or \
                 `#[cache_lazy]` (computed on first use)"
            }
            (Kind::Invariant, Form::Immutable) => {
                "an immutable value never changes, so an `#[invariant]` would only be checked \
                 once: check the value before building it, or box the struct \
                 (`#[derive(Boxed)]` and `#[methods(boxed)]`) to have it checked at every change"
            }
            _ => continue,
        };
        cx.error_spanned_by(a.attr, message);
        ok = false;
    }
    ok
}

fn attr_name(f: &CachedFn) -> String {
    format!("#[{}]", f.kind().attr_name())
}

/// Rule: one annotation per function.
fn one_annotation(cx: &Ctxt, f: &CachedFn) -> bool {
    let first = f.kind();
    let mut ok = true;
    for extra in &f.annotations[1..] {
        let message = if extra.kind == first {
            format!("`#[{}]` is repeated", first.attr_name())
        } else {
            format!(
                "a function is either `#[{}]` or `#[{}]`, not both",
                first.attr_name(),
                extra.kind.attr_name()
            )
        };
        cx.error_spanned_by(extra.attr, message);
        ok = false;
    }
    ok
}

/// Rule: the annotations take no arguments.
fn annotation_arguments(cx: &Ctxt, f: &CachedFn) -> bool {
    let mut ok = true;
    for a in &f.annotations {
        if let Some(span) = attr::arguments_span(a.attr) {
            cx.error_at(
                span,
                format!("`#[{}]` takes no arguments", a.kind.attr_name()),
            );
            ok = false;
        }
    }
    ok
}

/// Rule: how a function takes `self`, by form.
fn receiver(cx: &Ctxt, f: &CachedFn, form: Form) -> bool {
    match form {
        Form::Transactional => no_receiver(cx, f),
        Form::Boxed | Form::Immutable => self_receiver(cx, f, form),
    }
}

/// Rule (transactional): no `self`: parameters name fields (L42's
/// `Cache.Now` style).
fn no_receiver(cx: &Ctxt, f: &CachedFn) -> bool {
    let mut ok = true;
    for arg in &f.args {
        if let Arg::Receiver(r) = arg {
            cx.error_spanned_by(
                r,
                format!(
                    "a `{}` function takes no `self`: its parameters name the fields it reads, \
                     by reference (`balance: &i64`); the handle gets the method that takes \
                     `&self` (functions take `self` only in the `#[methods(boxed)]` and \
                     `#[methods(immutable)]` blocks of boxed and immutable structs)",
                    attr_name(f)
                ),
            );
            ok = false;
        }
    }
    ok
}

/// Rule (boxes, immutable values): the function takes the value whole, as
/// `&self`; a mutator takes `&mut self`.
fn self_receiver(cx: &Ctxt, f: &CachedFn, form: Form) -> bool {
    let name = attr_name(f);
    let (what, wanted) = match (form, f.kind()) {
        (_, Kind::Mutator) => ("changes the raw value", SelfKind::MutRef),
        (Form::Immutable, _) => ("reads the value", SelfKind::Ref),
        _ => ("reads the raw value", SelfKind::Ref),
    };
    let form_attr = form.methods_attr();
    let Some(r) = f.receiver() else {
        let sig = &f.original.sig;
        let receiver = if wanted == SelfKind::MutRef {
            "&mut self"
        } else {
            "&self"
        };
        let tokens = match &sig.inputs.first() {
            Some(first) => quote::quote!(#first),
            None => {
                let paren = sig.paren_token.span.join();
                quote::quote_spanned!(paren=> ())
            }
        };
        let fields = if form == Form::Boxed && f.kind() != Kind::Mutator {
            " plus an optional `tx: &mut Transaction`"
        } else {
            ""
        };
        let handle = if form == Form::Boxed {
            "the box gets a method of the same name that takes `tx`"
        } else {
            "the handle gets a method of the same name"
        };
        cx.error_spanned_by(
            tokens,
            format!(
                "in a `{form_attr}` block, a `{name}` function {what}: it takes `{receiver}`{fields} \
                 and reads fields as `self.field`; {handle}"
            ),
        );
        return false;
    };
    let kind = ast::self_kind(r);
    if kind == wanted {
        return true;
    }
    let message =
        match (kind, wanted) {
            (SelfKind::Ref, SelfKind::MutRef) => {
                "a `#[mutator]` changes the raw value: take `&mut self`. A function that only \
             reads it is a plain method (call it through `read`) or a `#[cache_lazy]`"
                    .to_string()
            }
            (SelfKind::MutRef, _) if form == Form::Boxed => format!(
                "a `{name}` function {what}, so it takes `&self`; only a `#[mutator]` takes \
             `&mut self`"
            ),
            (SelfKind::MutRef, _) => format!(
                "a `{name}` function of an immutable value takes `&self`: the value never changes"
            ),
            _ => format!(
            "a `{name}` function takes `{}`, not `self` by value: the value stays in the shared \
             handle",
            if wanted == SelfKind::MutRef { "&mut self" } else { "&self" }
        ),
        };
    cx.error_spanned_by(r, message);
    false
}

/// Rule: not `async`, `unsafe`, `extern` or variadic.
fn plain_fn(cx: &Ctxt, f: &CachedFn) -> bool {
    let sig = &f.original.sig;
    let name = attr_name(f);
    let mut ok = true;
    if let Some(token) = &sig.asyncness {
        cx.error_spanned_by(
            token,
            format!(
                "a `{name}` function cannot be `async`: it runs inside a transaction, which \
                 must not wait"
            ),
        );
        ok = false;
    }
    if let Some(token) = &sig.unsafety {
        cx.error_spanned_by(
            token,
            format!("a `{name}` function cannot be `unsafe`: the handle calls it for you"),
        );
        ok = false;
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(
            abi,
            format!("a `{name}` function cannot have an `extern` ABI"),
        );
        ok = false;
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, format!("a `{name}` function cannot be variadic"));
        ok = false;
    }
    ok
}

/// Rule: no generic parameters (the stored value's type is fixed). A
/// mutator stores nothing and may be generic.
fn no_generics(cx: &Ctxt, f: &CachedFn) -> bool {
    if f.kind() == Kind::Mutator {
        return true;
    }
    let generics = &f.original.sig.generics;
    let has_params = !generics.params.is_empty();
    if has_params || generics.where_clause.is_some() {
        let what = match f.kind() {
            Kind::Invariant => "an `#[invariant]` function",
            Kind::Lazy => "a `#[cache_lazy]` function",
            Kind::Now => "a `#[cache_now]` function",
            Kind::Eager => "a `#[cache_eager]` function",
            Kind::Mutator => unreachable!("mutators may be generic"),
        };
        let tokens = if has_params {
            generics.to_token_stream_spanned()
        } else {
            quote::ToTokens::to_token_stream(&generics.where_clause)
        };
        cx.error_spanned_by(
            tokens,
            format!(
                "{what} cannot have generic parameters: the object stores one result per \
                 function, so its types are fixed; use the parameters of the `impl` block"
            ),
        );
        false
    } else {
        true
    }
}

trait SpannedGenerics {
    fn to_token_stream_spanned(&self) -> proc_macro2::TokenStream;
}

impl SpannedGenerics for syn::Generics {
    fn to_token_stream_spanned(&self) -> proc_macro2::TokenStream {
        let (lt, params, gt) = (&self.lt_token, &self.params, &self.gt_token);
        quote::quote!(#lt #params #gt)
    }
}

/// Rule: parameters are fields by reference, plus at most one `&mut Transaction`.
fn parameters(cx: &Ctxt, f: &CachedFn) -> bool {
    let name = attr_name(f);
    let mut ok = true;
    let mut tx_seen = false;
    for arg in &f.args {
        match arg {
            Arg::Receiver(_) | Arg::Field { .. } => {}
            Arg::Tx(p) => {
                if tx_seen {
                    cx.error_spanned_by(
                        p,
                        format!(
                            "a `{name}` function takes at most one `&mut Transaction` parameter"
                        ),
                    );
                    ok = false;
                }
                tx_seen = true;
            }
            Arg::Pattern(p) => {
                cx.error_spanned_by(
                    &p.pat,
                    format!(
                        "the parameters of a `{name}` function are field names: write \
                         `field_name: &Type`, not a pattern"
                    ),
                );
                ok = false;
            }
            Arg::ByValue(p) => {
                let param = pretty(&p.pat);
                let ty = pretty(&p.ty);
                cx.error_spanned_by(
                    p,
                    format!(
                        "parameter `{param}` is taken by value: the parameters of a `{name}` \
                         function name fields of the struct and take them by reference \
                         (`{param}: &{ty}`), plus an optional `tx: &mut Transaction`; a \
                         cache or invariant has no other arguments"
                    ),
                );
                ok = false;
            }
            Arg::MutRef(p) => {
                let param = pretty(&p.pat);
                let ty = match &*p.ty {
                    Type::Reference(r) => pretty(&r.elem),
                    other => pretty(other),
                };
                cx.error_spanned_by(
                    &p.ty,
                    format!(
                        "fields are read-only in a `{name}` function: take `{param}: &{ty}`; \
                         the only `&mut` parameter allowed is `tx: &mut Transaction`"
                    ),
                );
                ok = false;
            }
        }
    }
    ok
}

/// Rule (boxes, immutable values): besides `self`, a cache or invariant of
/// a box takes at most one `tx: &mut Transaction` (for deep reads), a
/// mutator any arguments and at most one `tx`, and a function of an
/// immutable value nothing else.
fn self_parameters(cx: &Ctxt, f: &CachedFn, form: Form) -> bool {
    if f.receiver().is_none() {
        // Reported by `self_receiver`, which says where the fields are.
        return false;
    }
    let name = attr_name(f);
    let mut ok = true;
    let mut tx_seen = false;
    for arg in &f.args {
        match arg {
            Arg::Receiver(_) => {}
            Arg::Tx(p) if form == Form::Immutable => {
                cx.error_spanned_by(
                    p,
                    format!(
                        "a `{name}` function of an immutable value reads only the value: it \
                         cannot take a transaction, since nothing it would read through one \
                         could invalidate the cache"
                    ),
                );
                ok = false;
            }
            Arg::Tx(p) => {
                if tx_seen {
                    cx.error_spanned_by(
                        p,
                        format!(
                            "a `{name}` function takes at most one `&mut Transaction` parameter"
                        ),
                    );
                    ok = false;
                }
                tx_seen = true;
            }
            _ if f.kind() == Kind::Mutator => {}
            Arg::Field { pat_type: p, .. } | Arg::Pattern(p) | Arg::ByValue(p) | Arg::MutRef(p) => {
                let param = pretty(&p.pat);
                let (what, extra) = if form == Form::Boxed {
                    ("the raw value", " and an optional `tx: &mut Transaction`")
                } else {
                    ("the value", "")
                };
                cx.error_spanned_by(
                    p,
                    format!(
                        "`{param}` is not allowed here: a `{name}` function takes only `&self` \
                         ({what}, whose fields it reads as `self.field`){extra}; a cache or \
                         invariant has no other arguments"
                    ),
                );
                ok = false;
            }
        }
    }
    ok
}

/// Rule: the return type fits the annotation, and `StmResult` when taking `tx`.
fn return_type(cx: &Ctxt, f: &CachedFn) -> bool {
    let name = attr_name(f);
    let sig = &f.original.sig;
    let ident = f.ident();
    if let Some(tx) = f.tx() {
        if f.output.stm_inner.is_none() {
            let example = match (f.kind(), f.output.ty) {
                (Kind::Invariant, None) => "StmResult<bool>".to_string(),
                (Kind::Mutator, None) => "StmResult<()>".to_string(),
                (_, Some(ty)) if !ast::is_unit(ty) => format!("StmResult<{}>", pretty(ty)),
                _ => "StmResult<..>".to_string(),
            };
            let message = format!(
                "`{ident}` takes `{}: &mut Transaction`, so it returns `{example}`: reads \
                 through the transaction can fail, and `?` passes that on",
                pretty(&tx.pat)
            );
            match f.output.ty {
                Some(ty) => cx.error_spanned_by(ty, message),
                None => cx.error_spanned_by(&sig.ident, message),
            }
            return false;
        }
    }
    let value = f.value_ty();
    match f.kind() {
        Kind::Invariant => {
            if value.is_none() {
                cx.error_spanned_by(
                    &sig.ident,
                    "an `#[invariant]` returns `bool` or `Result<(), E>` with `E: Display`: \
                     add the return type",
                );
                return false;
            }
        }
        Kind::Mutator => {
            if let Some(ty) = value {
                if borrowed(ty).is_some() {
                    cx.error_spanned_by(
                        ty,
                        format!(
                            "a `#[mutator]` cannot return a borrow: the raw value is lent to \
                             `{ident}` only while it runs inside the transaction, and never \
                             leaves the box; return an owned value (`{}` is borrowed)",
                            pretty(ty)
                        ),
                    );
                    return false;
                }
            }
        }
        Kind::Lazy | Kind::Now | Kind::Eager => match value {
            None => {
                cx.error_spanned_by(
                    &sig.ident,
                    format!("a `{name}` function returns the value to cache: add `-> Type`"),
                );
                return false;
            }
            Some(ty) if ast::is_unit(ty) => {
                cx.error_spanned_by(
                    ty,
                    format!("a `{name}` function returns the value to cache, not `()`"),
                );
                return false;
            }
            Some(_) => {}
        },
    }
    true
}

/// The first reference or lifetime in a type, if it borrows.
fn borrowed(ty: &Type) -> Option<proc_macro2::TokenStream> {
    use quote::ToTokens;
    fn find(tokens: proc_macro2::TokenStream) -> Option<proc_macro2::TokenStream> {
        let mut iter = tokens.into_iter().peekable();
        while let Some(tt) = iter.next() {
            match tt {
                proc_macro2::TokenTree::Punct(p) if p.as_char() == '&' => {
                    return Some(p.into_token_stream());
                }
                proc_macro2::TokenTree::Punct(p) if p.as_char() == '\'' => {
                    // `'static` borrows nothing from the raw value.
                    if let Some(proc_macro2::TokenTree::Ident(i)) = iter.peek() {
                        if i == "static" {
                            continue;
                        }
                    }
                    let mut out = p.into_token_stream();
                    if let Some(next) = iter.next() {
                        out.extend([next]);
                    }
                    return Some(out);
                }
                proc_macro2::TokenTree::Group(g) => {
                    if let Some(found) = find(g.stream()) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        None
    }
    find(ty.to_token_stream())
}

/// Rule: the handle's own methods keep their names.
fn reserved_name(cx: &Ctxt, f: &CachedFn, form: Form) -> bool {
    let ident = f.ident();
    let name = unraw(ident);
    if reserved(form).contains(&name.as_str()) {
        cx.error_spanned_by(
            ident,
            format!(
                "`{name}` is taken by the handle's own `{name}`; rename the `{}` function",
                attr_name(f)
            ),
        );
        false
    } else {
        true
    }
}

/// Rule: one annotated function per name.
fn duplicate_names(cx: &Ctxt, m: &Methods, valid: &mut [bool]) {
    let mut seen = HashSet::new();
    for (i, f) in m.fns.iter().enumerate() {
        if !f.cfgs().is_empty() {
            // Alternatives under different `cfg`s may share a name.
            continue;
        }
        let name = unraw(f.ident());
        if !seen.insert(name.clone()) {
            cx.error_spanned_by(
                f.ident(),
                format!("`{name}` is defined twice in this `#[methods]` block"),
            );
            valid[i] = false;
        }
    }
}

/// Whether a function named like this one comes earlier in the block (so
/// the fallback can drop the duplicate and report only one error).
pub fn is_duplicate(m: &Methods, index: usize) -> bool {
    let f = &m.fns[index];
    f.cfgs().is_empty()
        && m.fns[..index]
            .iter()
            .any(|g| g.cfgs().is_empty() && unraw(g.ident()) == unraw(f.ident()))
}
