//! The macros' own attributes: `#[transactional(..)]`, `#[boxed(..)]` and
//! `#[immutable(..)]` on the struct, `#[methods(..)]` on the impl, and
//! `#[cache_lazy]`, `#[cache_now]`, `#[cache_eager]`, `#[invariant]`,
//! `#[mutator]` on functions.

use crate::ctxt::Ctxt;
use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitStr, Path, Token, WherePredicate};

/// Which derive a struct has, and so which handle a `#[methods]` block
/// extends and what its functions look like.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Form {
    /// `#[derive(Transactional)]`: one variable per field, `T<Name>`.
    #[default]
    Transactional,
    /// `#[derive(Boxed)]`: the whole value in one variable, `<Name>Box`.
    Boxed,
    /// `#[derive(Immutable)]`: a shared value that never changes, `Imm<Name>`.
    Immutable,
}

impl Form {
    /// The derive's name, for messages.
    pub fn derive_name(self) -> &'static str {
        match self {
            Form::Transactional => "Transactional",
            Form::Boxed => "Boxed",
            Form::Immutable => "Immutable",
        }
    }

    /// The struct attribute holding the derive's options.
    pub fn attr_name(self) -> &'static str {
        match self {
            Form::Transactional => "transactional",
            Form::Boxed => "boxed",
            Form::Immutable => "immutable",
        }
    }

    /// The handle's name when not renamed.
    pub fn default_handle(self, name: &Ident) -> Ident {
        match self {
            Form::Transactional => quote::format_ident!("T{}", name, span = name.span()),
            Form::Boxed => quote::format_ident!("{}Box", name, span = name.span()),
            Form::Immutable => quote::format_ident!("Imm{}", name, span = name.span()),
        }
    }

    /// How `#[methods]` is written for this form.
    pub fn methods_attr(self) -> &'static str {
        match self {
            Form::Transactional => "#[methods]",
            Form::Boxed => "#[methods(boxed)]",
            Form::Immutable => "#[methods(immutable)]",
        }
    }
}

/// Options of `#[derive(Transactional)]`, `#[derive(Boxed)]` and
/// `#[derive(Immutable)]`.
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
    /// `boxed` or `immutable`; transactional by default.
    pub form: Form,
    /// Where `boxed` or `immutable` is written.
    pub form_span: Option<Span>,
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
    /// `#[cache_eager]`: computed on a background thread (immutable values).
    Eager,
    Invariant,
    /// `#[mutator]`: changes a box's raw value (boxes).
    Mutator,
}

impl Kind {
    pub fn attr_name(self) -> &'static str {
        match self {
            Kind::Lazy => "cache_lazy",
            Kind::Now => "cache_now",
            Kind::Eager => "cache_eager",
            Kind::Invariant => "invariant",
            Kind::Mutator => "mutator",
        }
    }

    fn from_attr(attr: &Attribute) -> Option<Kind> {
        let ident = attr.path().get_ident()?;
        match ident.to_string().as_str() {
            "cache_lazy" => Some(Kind::Lazy),
            "cache_now" => Some(Kind::Now),
            "cache_eager" => Some(Kind::Eager),
            "invariant" => Some(Kind::Invariant),
            "mutator" => Some(Kind::Mutator),
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

/// Parses every `#[transactional(..)]` (or `#[boxed(..)]`, `#[immutable(..)]`)
/// on the struct.
pub fn struct_attrs(cx: &Ctxt, attrs: &[Attribute], form: Form) -> StructAttrs {
    let mut out = StructAttrs::default();
    let attr_name = form.attr_name();
    for attr in attrs.iter().filter(|a| a.path().is_ident(attr_name)) {
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
                    "unknown option `{name}` in `#[{attr_name}(..)]`: {STRUCT_OPTIONS}"
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
    let mut form: Option<(Form, Path)> = None;
    let parser = syn::meta::parser(|meta| {
        let flag = if meta.path.is_ident("boxed") {
            Some(Form::Boxed)
        } else if meta.path.is_ident("immutable") {
            Some(Form::Immutable)
        } else {
            None
        };
        if let Some(flag) = flag {
            if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                let name = path_name(&meta.path);
                return Err(meta.error(format!(
                    "`{name}` takes no value: write `#[methods({name})]`"
                )));
            }
            match &form {
                Some((first, _)) if *first == flag => {
                    let name = path_name(&meta.path);
                    cx.error_spanned_by(&meta.path, format!("option `{name}` is given twice"));
                }
                Some((_, first)) => cx.error_spanned_by(
                    &meta.path,
                    format!(
                        "a `#[methods]` block is either `boxed` or `immutable`, not both \
                         (`{}` is given first)",
                        path_name(first)
                    ),
                ),
                None => form = Some((flag, meta.path.clone())),
            }
        } else if meta.path.is_ident("handle") {
            let ident = ident_value(&meta)?;
            set_once(cx, &meta, &mut out.handle, ident);
        } else if meta.path.is_ident("crate") {
            let path = path_value(&meta)?;
            set_once(cx, &meta, &mut out.krate, path);
        } else {
            let name = path_name(&meta.path);
            return Err(meta.error(format!(
                "unknown option `{name}` in `#[methods(..)]`: expected `boxed`, `immutable`, \
                 `handle = Name` or `crate = path`"
            )));
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(args) {
        cx.syn_error(err);
    }
    if let Some((form, path)) = form {
        out.form = form;
        out.form_span = Some(syn::spanned::Spanned::span(&path));
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
