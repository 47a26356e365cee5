//! The macros' own attributes: `#[transactional(..)]` on the struct,
//! `#[methods(..)]` on the impl, and `#[cache_lazy]`, `#[cache_now]`,
//! `#[invariant]` on functions.

use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitStr, Path, Token, WherePredicate};

/// Options of `#[derive(Transactional)]`.
#[derive(Default)]
pub struct StructAttrs {
    /// `handle = "Name"`.
    pub handle: Option<Ident>,
    /// `bound = "T: Trait, .."`.
    pub bounds: Vec<WherePredicate>,
    /// `crate = "path"`.
    pub krate: Option<Path>,
}

/// Options of `#[methods]`.
#[derive(Default)]
pub struct MethodsAttrs {
    /// `handle = Name`.
    pub handle: Option<Ident>,
    /// `crate = path`.
    pub krate: Option<Path>,
}

/// What an annotated function becomes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Lazy,
    Now,
    Invariant,
}

impl Kind {
    pub fn attr_name(self) -> &'static str {
        match self {
            Kind::Lazy => "cache_lazy",
            Kind::Now => "cache_now",
            Kind::Invariant => "invariant",
        }
    }

    fn from_attr(attr: &Attribute) -> Option<Kind> {
        let ident = attr.path().get_ident()?;
        match ident.to_string().as_str() {
            "cache_lazy" => Some(Kind::Lazy),
            "cache_now" => Some(Kind::Now),
            "invariant" => Some(Kind::Invariant),
            _ => None,
        }
    }
}

/// One of our annotations on a function.
pub struct Annotation<'a> {
    pub kind: Kind,
    pub attr: &'a Attribute,
}

/// Our annotations among `attrs`, in order.
pub fn annotations(attrs: &[Attribute]) -> Vec<Annotation<'_>> {
    attrs
        .iter()
        .filter_map(|attr| Kind::from_attr(attr).map(|kind| Annotation { kind, attr }))
        .collect()
}

/// Whether `attr` is one of our function annotations (to strip it).
pub fn is_annotation(attr: &Attribute) -> bool {
    Kind::from_attr(attr).is_some()
}

const STRUCT_OPTIONS: &str =
    "expected `handle = \"Name\"`, `bound = \"T: Trait\"` or `crate = \"path\"`";

/// Parses every `#[transactional(..)]` on the struct.
pub fn struct_attrs(cx: &Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let mut out = StructAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("transactional")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("handle") {
                let ident = ident_value(&meta)?;
                set_once(cx, &meta, &mut out.handle, ident);
            } else if meta.path.is_ident("bound") {
                let lit: LitStr = meta.value()?.parse()?;
                let parser = Punctuated::<WherePredicate, Token![,]>::parse_terminated;
                let bounds = lit.parse_with(parser)?;
                out.bounds.extend(bounds);
            } else if meta.path.is_ident("crate") {
                let path = path_value(&meta)?;
                set_once(cx, &meta, &mut out.krate, path);
            } else {
                let name = path_name(&meta.path);
                return Err(meta.error(format!(
                    "unknown option `{name}` in `#[transactional(..)]`: {STRUCT_OPTIONS}"
                )));
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    out
}

/// Parses the arguments of `#[methods(..)]`.
pub fn methods_attrs(cx: &Ctxt, args: TokenStream) -> MethodsAttrs {
    let mut out = MethodsAttrs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("handle") {
            let ident = ident_value(&meta)?;
            set_once(cx, &meta, &mut out.handle, ident);
        } else if meta.path.is_ident("crate") {
            let path = path_value(&meta)?;
            set_once(cx, &meta, &mut out.krate, path);
        } else {
            let name = path_name(&meta.path);
            return Err(meta.error(format!(
                "unknown option `{name}` in `#[methods(..)]`: expected `handle = Name` or `crate = path`"
            )));
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(args) {
        cx.syn_error(err);
    }
    out
}

fn set_once<T>(cx: &Ctxt, meta: &ParseNestedMeta, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        let name = path_name(&meta.path);
        cx.error_spanned_by(&meta.path, format!("option `{name}` is given twice"));
    } else {
        *slot = Some(value);
    }
}

/// `name = Ident` or `name = "Ident"`.
fn ident_value(meta: &ParseNestedMeta) -> syn::Result<Ident> {
    let value = meta.value()?;
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        lit.parse::<Ident>().map_err(|_| {
            syn::Error::new(lit.span(), "expected a type name, such as \"AccountRef\"")
        })
    } else {
        value.parse()
    }
}

/// `name = path` or `name = "path"`.
fn path_value(meta: &ParseNestedMeta) -> syn::Result<Path> {
    let value = meta.value()?;
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        lit.parse()
    } else {
        value.call(Path::parse_mod_style)
    }
}

fn path_name(path: &Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The span of an attribute's arguments, if it has any (`#[cache_lazy(x)]`).
pub fn arguments_span(attr: &Attribute) -> Option<Span> {
    match &attr.meta {
        syn::Meta::Path(_) => None,
        syn::Meta::List(list) => Some(list.delimiter.span().join()),
        syn::Meta::NameValue(nv) => Some(nv.eq_token.span),
    }
}
