//! Renders tokens as a user would write them, for messages.

use quote::ToTokens;

/// `Vec < i64 >` becomes `Vec<i64>`, `& mut Transaction` becomes `&mut Transaction`.
pub fn pretty<T: ToTokens>(tokens: &T) -> String {
    let raw = tokens.to_token_stream().to_string();
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            let glue_after = match out.chars().last() {
                Some('<' | '&' | '(' | '[') => true,
                // `a::b` is glued, `T: 'static` is not.
                Some(':') => out.ends_with("::"),
                _ => false,
            };
            let glue_before = matches!(next, '<' | '>' | ',' | ')' | ']' | ';' | ':');
            if glue_after || glue_before {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn types_read_like_source() {
        let ty: syn::Type = syn::parse_quote!(Vec<Option<i64>>);
        assert_eq!(pretty(&ty), "Vec<Option<i64>>");
        let ty: syn::Type = syn::parse_quote!(&mut steadfast::Transaction);
        assert_eq!(pretty(&ty), "&mut steadfast::Transaction");
        let ty: syn::Type = syn::parse_quote!(Result<(), String>);
        assert_eq!(pretty(&ty), "Result<(), String>");
        let ty: syn::Type = syn::parse_quote!(std::rc::Rc<[u8]>);
        assert_eq!(pretty(&ty), "std::rc::Rc<[u8]>");
    }
}
