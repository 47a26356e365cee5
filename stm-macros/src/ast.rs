//! Typed views of the macros' inputs. They borrow the original syntax tree,
//! so every error and every generated token can carry the user's span.

use crate::attr::{self, Annotation, Form, Kind, MethodsAttrs, StructAttrs};
use crate::ctxt::Ctxt;
use syn::{
    Attribute, Data, DeriveInput, Fields, FnArg, GenericArgument, Ident, ImplItem, ImplItemFn,
    ItemImpl, Pat, PatType, PathArguments, Receiver, ReturnType, Type, Visibility,
};

// ---- #[derive(Transactional)], #[derive(Boxed)], #[derive(Immutable)] ---------------

pub struct Input<'a> {
    pub original: &'a DeriveInput,
    pub form: Form,
    pub attrs: StructAttrs,
    pub shape: Shape<'a>,
}

pub enum Shape<'a> {
    Named(Vec<Field<'a>>),
    Tuple(&'a syn::FieldsUnnamed),
    Unit,
    Enum(&'a syn::DataEnum),
    Union(&'a syn::DataUnion),
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub vis: &'a Visibility,
    pub docs: Vec<&'a Attribute>,
    pub cfgs: Vec<&'a Attribute>,
}

impl<'a> Input<'a> {
    pub fn from_syn(cx: &Ctxt, input: &'a DeriveInput, form: Form) -> Self {
        let attrs = attr::struct_attrs(cx, &input.attrs, form);
        let shape = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Shape::Named(
                    named
                        .named
                        .iter()
                        .map(|f| Field {
                            ident: f.ident.as_ref().expect("named field"),
                            ty: &f.ty,
                            vis: &f.vis,
                            docs: f
                                .attrs
                                .iter()
                                .filter(|a| a.path().is_ident("doc"))
                                .collect(),
                            cfgs: cfgs(&f.attrs),
                        })
                        .collect(),
                ),
                Fields::Unnamed(unnamed) => Shape::Tuple(unnamed),
                Fields::Unit => Shape::Unit,
            },
            Data::Enum(data) => Shape::Enum(data),
            Data::Union(data) => Shape::Union(data),
        };
        Input {
            original: input,
            form,
            attrs,
            shape,
        }
    }

    pub fn ident(&self) -> &'a Ident {
        &self.original.ident
    }

    /// The handle's name: `T<Name>`, `<Name>Box` or `Imm<Name>` unless renamed.
    pub fn handle(&self) -> Ident {
        match &self.attrs.handle {
            Some(ident) => ident.clone(),
            None => self.form.default_handle(self.ident()),
        }
    }
}

// ---- #[methods] ----------------------------------------------------------------------

pub struct Methods<'a> {
    pub original: &'a ItemImpl,
    pub attrs: MethodsAttrs,
    /// Functions with at least one of our annotations.
    pub fns: Vec<CachedFn<'a>>,
}

pub struct CachedFn<'a> {
    pub original: &'a ImplItemFn,
    pub annotations: Vec<Annotation<'a>>,
    pub args: Vec<Arg<'a>>,
    pub output: Output<'a>,
}

/// One parameter of an annotated function, classified.
pub enum Arg<'a> {
    /// `self`, `&self`, `&mut self`: the raw value in a box's or immutable
    /// value's block, not allowed in a transactional struct's.
    Receiver(&'a Receiver),
    /// `tx: &mut Transaction`.
    Tx(&'a PatType),
    /// `name: &T`: the field `name`, of type `T`.
    Field {
        ident: &'a Ident,
        referent: &'a Type,
        pat_type: &'a PatType,
    },
    /// A pattern other than a plain name: not allowed.
    Pattern(&'a PatType),
    /// `name: T` without `&`: not allowed.
    ByValue(&'a PatType),
    /// `name: &mut T`: not allowed.
    MutRef(&'a PatType),
}

pub struct Output<'a> {
    /// The declared return type.
    pub ty: Option<&'a Type>,
    /// `V` when the return type is `StmResult<V>` or `Result<V, StmError>`.
    pub stm_inner: Option<&'a Type>,
}

impl<'a> Methods<'a> {
    pub fn from_syn(cx: &Ctxt, args: proc_macro2::TokenStream, item: &'a ItemImpl) -> Self {
        let attrs = attr::methods_attrs(cx, args);
        let fns = item
            .items
            .iter()
            .filter_map(|item| match item {
                ImplItem::Fn(f) => CachedFn::from_syn(f),
                _ => None,
            })
            .collect();
        Methods {
            original: item,
            attrs,
            fns,
        }
    }
}

impl<'a> CachedFn<'a> {
    fn from_syn(f: &'a ImplItemFn) -> Option<Self> {
        let annotations = attr::annotations(&f.attrs);
        if annotations.is_empty() {
            return None;
        }
        let args = f.sig.inputs.iter().map(Arg::from_syn).collect();
        let ty = match &f.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some(&**ty),
        };
        Some(CachedFn {
            original: f,
            annotations,
            args,
            output: Output {
                ty,
                stm_inner: ty.and_then(stm_inner),
            },
        })
    }

    pub fn kind(&self) -> Kind {
        self.annotations[0].kind
    }

    pub fn ident(&self) -> &'a Ident {
        &self.original.sig.ident
    }

    /// The receiver, if the function has one.
    pub fn receiver(&self) -> Option<&'a Receiver> {
        self.args.iter().find_map(|a| match a {
            Arg::Receiver(r) => Some(*r),
            _ => None,
        })
    }

    /// The parameters other than the receiver and `tx` (a mutator's
    /// arguments), with their index among all parameters.
    pub fn extra_args(&self) -> impl Iterator<Item = (usize, &'a PatType)> + '_ {
        self.args.iter().enumerate().filter_map(|(i, a)| match a {
            Arg::Receiver(_) | Arg::Tx(_) => None,
            Arg::Field { pat_type, .. }
            | Arg::Pattern(pat_type)
            | Arg::ByValue(pat_type)
            | Arg::MutRef(pat_type) => Some((i, *pat_type)),
        })
    }

    pub fn tx(&self) -> Option<&'a PatType> {
        self.args.iter().find_map(|a| match a {
            Arg::Tx(p) => Some(*p),
            _ => None,
        })
    }

    /// The field parameters: (name, field type as written).
    pub fn fields(&self) -> impl Iterator<Item = (&'a Ident, &'a Type)> + '_ {
        self.args.iter().filter_map(|a| match a {
            Arg::Field {
                ident, referent, ..
            } => Some((*ident, *referent)),
            _ => None,
        })
    }

    /// What the handle's method returns inside `StmResult`.
    pub fn value_ty(&self) -> Option<&'a Type> {
        if self.tx().is_some() {
            self.output.stm_inner
        } else {
            self.output.ty
        }
    }

    pub fn cfgs(&self) -> Vec<&'a Attribute> {
        cfgs(&self.original.attrs)
    }

    pub fn docs(&self) -> Vec<&'a Attribute> {
        self.original
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect()
    }
}

impl<'a> Arg<'a> {
    fn from_syn(arg: &'a FnArg) -> Self {
        let pat_type = match arg {
            FnArg::Receiver(r) => return Arg::Receiver(r),
            FnArg::Typed(p) => p,
        };
        let reference = match &*pat_type.ty {
            Type::Reference(r) => r,
            _ => return Arg::ByValue(pat_type),
        };
        if reference.mutability.is_some() {
            return if is_named(&reference.elem, "Transaction") {
                Arg::Tx(pat_type)
            } else {
                Arg::MutRef(pat_type)
            };
        }
        match &*pat_type.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
                Arg::Field {
                    ident: &p.ident,
                    referent: &reference.elem,
                    pat_type,
                }
            }
            _ => Arg::Pattern(pat_type),
        }
    }
}

/// How a method takes `self`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SelfKind {
    /// `&self` or `self: &Self`.
    Ref,
    /// `&mut self` or `self: &mut Self`.
    MutRef,
    /// `self`, `self: Box<Self>`, ...
    Other,
}

pub fn self_kind(r: &Receiver) -> SelfKind {
    match &*r.ty {
        Type::Reference(reference) if is_self(&reference.elem) => {
            if reference.mutability.is_some() {
                SelfKind::MutRef
            } else {
                SelfKind::Ref
            }
        }
        _ => SelfKind::Other,
    }
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

fn cfgs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("cfg")).collect()
}

/// Whether `ty` is a path whose last segment is `name` (with any arguments).
pub fn is_named(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name)
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// The type arguments of the last segment of a path type.
pub fn type_args(ty: &Type) -> Vec<&Type> {
    match last_segment(ty).map(|s| &s.arguments) {
        Some(PathArguments::AngleBracketed(args)) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `V` of `StmResult<V>` or of `Result<V, StmError>`.
fn stm_inner(ty: &Type) -> Option<&Type> {
    let args = type_args(ty);
    if is_named(ty, "StmResult") && args.len() == 1 {
        return Some(args[0]);
    }
    if is_named(ty, "Result") && args.len() == 2 && is_named(args[1], "StmError") {
        return Some(args[0]);
    }
    None
}

/// `(T, E)` of a value type written `Result<T, E>`.
pub fn result_parts(ty: &Type) -> Option<(&Type, &Type)> {
    let args = type_args(ty);
    if is_named(ty, "Result") && args.len() == 2 && !is_named(args[1], "StmError") {
        Some((args[0], args[1]))
    } else {
        None
    }
}

/// Whether `ty` is `()`.
pub fn is_unit(ty: &Type) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.is_empty(),
        Type::Paren(p) => is_unit(&p.elem),
        Type::Group(g) => is_unit(&g.elem),
        _ => false,
    }
}
