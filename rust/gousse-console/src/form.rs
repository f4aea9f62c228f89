//! Decoding of `application/x-www-form-urlencoded` bodies and query strings
//! (WHATWG URL Standard, "application/x-www-form-urlencoded parsing"), strictly: a
//! `%` not followed by two hex digits, or bytes that are not UTF-8 after decoding,
//! are errors rather than passed through, so that what the router sees is exactly
//! what the person typed.
//!
//! Total: any byte string gives fields or an error; the output is never longer than
//! the input.

/// Most `key=value` pairs in one form body or query string.
pub(crate) const MAX_FIELDS: usize = 32;

/// Why a form body or query string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum FormError {
    /// `%` not followed by two hexadecimal digits.
    #[error("malformed percent-encoding at byte {0}")]
    BadPercent(usize),
    /// The decoded bytes of a key or value are not UTF-8.
    #[error("the form is not UTF-8 text")]
    NotUtf8,
    /// More than [`MAX_FIELDS`] pairs.
    #[error("more than {MAX_FIELDS} fields")]
    TooManyFields,
    /// A field we read appears twice.
    #[error("the field `{0}` appears more than once")]
    Duplicate(&'static str),
}

/// The value of one hexadecimal digit.
fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes one key or value: `+` is a space, `%XY` the byte `0xXY`, every other byte
/// itself. `offset` is where `input` starts in the whole body, for error messages.
fn decode_component(input: &[u8], offset: usize) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&byte) = input.get(i) {
        match byte {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = input.get(i + 1).copied().and_then(hex_value);
                let lo = input.get(i + 2).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(FormError::BadPercent(offset.saturating_add(i))),
                }
                i += 3;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8)
}

/// Splits and decodes a form body or query string into its `(key, value)` pairs, in
/// order. Empty pairs (`a=1&&b=2`) are skipped; a pair without `=` has an empty value;
/// only the first `=` separates (`a=b=c` is `a` → `b=c`).
pub(crate) fn parse_form(input: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut fields = Vec::new();
    let mut offset = 0usize;
    for pair in input.split(|&b| b == b'&') {
        let start = offset;
        offset = offset.saturating_add(pair.len()).saturating_add(1);
        if pair.is_empty() {
            continue;
        }
        if fields.len() == MAX_FIELDS {
            return Err(FormError::TooManyFields);
        }
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (
                pair.get(..eq).unwrap_or_default(),
                pair.get(eq + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        let key = decode_component(key, start)?;
        let value_start = start.saturating_add(pair.len() - value.len());
        let value = decode_component(value, value_start)?;
        fields.push((key, value));
    }
    Ok(fields)
}

/// The value of the field named `key`, if present once; an error if present twice.
pub(crate) fn field<'a>(
    fields: &'a [(String, String)],
    key: &'static str,
) -> Result<Option<&'a str>, FormError> {
    let mut found = None;
    for (k, v) in fields {
        if k == key {
            if found.is_some() {
                return Err(FormError::Duplicate(key));
            }
            found = Some(v.as_str());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod test {
    use super::*;

    fn pairs(input: &str) -> Vec<(String, String)> {
        parse_form(input.as_bytes()).unwrap()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    /// The form encoding a browser produces: bytes other than `*-._` and ASCII
    /// alphanumerics are percent-encoded, space becomes `+`.
    fn encode(text: &str) -> String {
        let mut out = String::new();
        for &b in text.as_bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }

    #[test]
    fn decodes_what_browsers_send() {
        assert_eq!(
            pairs("name=my+site.i2p&destination=AbC~-%3D%3D"),
            vec![kv("name", "my site.i2p"), kv("destination", "AbC~-==")]
        );
        assert_eq!(pairs("q=%2B%25%26%3D"), vec![kv("q", "+%&=")]);
        assert_eq!(pairs("q=caf%C3%A9"), vec![kv("q", "café")]);
        assert_eq!(pairs("q=%e2%82%ac"), vec![kv("q", "€")], "lower-case hex");
        // Bytes a browser would have encoded are taken as they are.
        assert_eq!(pairs("q=a~b!c"), vec![kv("q", "a~b!c")]);
    }

    #[test]
    fn splitting_rules() {
        assert_eq!(pairs(""), vec![]);
        assert_eq!(pairs("&&&"), vec![]);
        assert_eq!(pairs("a=1&&b=2&"), vec![kv("a", "1"), kv("b", "2")]);
        assert_eq!(pairs("a=b=c"), vec![kv("a", "b=c")]);
        assert_eq!(pairs("flag"), vec![kv("flag", "")]);
        assert_eq!(pairs("=v"), vec![kv("", "v")]);
        assert_eq!(pairs("a="), vec![kv("a", "")]);
        assert_eq!(pairs("%61=%62"), vec![kv("a", "b")], "keys are decoded too");
    }

    #[test]
    fn malformed_percent_is_refused_with_its_place() {
        for (input, at) in [
            ("%", 0),
            ("q=%", 2),
            ("q=%4", 2),
            ("q=%4g", 2),
            ("q=%G4", 2),
            ("q=ok&r=x%%41", 8),
            ("%zz=1", 0),
            ("a=1&b%=2", 5),
        ] {
            assert_eq!(
                parse_form(input.as_bytes()),
                Err(FormError::BadPercent(at)),
                "{input}"
            );
        }
    }

    #[test]
    fn non_utf8_is_refused() {
        assert_eq!(parse_form(b"q=%FF"), Err(FormError::NotUtf8));
        assert_eq!(
            parse_form(b"q=%C3"),
            Err(FormError::NotUtf8),
            "cut sequence"
        );
        assert_eq!(parse_form(b"q=\xff"), Err(FormError::NotUtf8), "raw byte");
        assert_eq!(parse_form(b"%C0%AF=x"), Err(FormError::NotUtf8), "overlong");
    }

    #[test]
    fn field_count_is_bounded() {
        let ok = vec!["a=1"; MAX_FIELDS].join("&");
        assert_eq!(parse_form(ok.as_bytes()).unwrap().len(), MAX_FIELDS);
        let too_many = vec!["a=1"; MAX_FIELDS + 1].join("&");
        assert_eq!(
            parse_form(too_many.as_bytes()),
            Err(FormError::TooManyFields)
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let fields = pairs("name=a&x=1&name=b");
        assert_eq!(field(&fields, "name"), Err(FormError::Duplicate("name")));
        assert_eq!(field(&fields, "x"), Ok(Some("1")));
        assert_eq!(field(&fields, "y"), Ok(None));
    }

    #[test]
    fn round_trips_every_ascii_byte_and_some_unicode() {
        let mut text: String = (0u8..=0x7f).map(char::from).collect();
        text.push_str("é€𝄞 ~+%&=");
        let body = format!("k={}&other={}", encode(&text), encode("&="));
        assert_eq!(pairs(&body), vec![kv("k", &text), kv("other", "&=")]);
    }

    /// Every string of up to four bytes over an alphabet chosen to hit each branch:
    /// never a panic, output never longer than input, and the result agrees with a
    /// plain reference decoder.
    #[test]
    fn exhaustive_short_inputs() {
        const ALPHABET: [u8; 9] = [b'%', b'+', b'=', b'&', b'4', b'1', b'f', b'g', 0xc3];
        let mut checked = 0usize;
        for len in 0..=4u32 {
            for mut n in 0..ALPHABET.len().pow(len) {
                let mut input = Vec::new();
                for _ in 0..len {
                    input.push(ALPHABET[n % ALPHABET.len()]);
                    n /= ALPHABET.len();
                }
                let got = parse_form(&input);
                assert_eq!(got, reference(&input), "{input:?}");
                if let Ok(fields) = got {
                    let out: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
                    assert!(out <= input.len(), "{input:?}");
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 1 + 9 + 81 + 729 + 6561);
    }

    /// A second, independent decoder for the exhaustive test (string-based, slow).
    fn reference(input: &[u8]) -> Result<Vec<(String, String)>, FormError> {
        let mut fields = Vec::new();
        let mut pos = 0;
        for pair in input.split(|&b| b == b'&') {
            let here = pos;
            pos += pair.len() + 1;
            if pair.is_empty() {
                continue;
            }
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let key = parts.next().unwrap();
            let value = parts.next().unwrap_or(&[]);
            let mut decoded = Vec::new();
            for (part, start) in [(key, here), (value, here + pair.len() - value.len())] {
                let mut bytes = Vec::new();
                let mut i = 0;
                while i < part.len() {
                    if part[i] == b'%' {
                        let hex = part
                            .get(i + 1..i + 3)
                            .and_then(|h| std::str::from_utf8(h).ok());
                        match hex.filter(|h| h.chars().all(|c| c.is_ascii_hexdigit())) {
                            Some(h) => bytes.push(u8::from_str_radix(h, 16).unwrap()),
                            None => return Err(FormError::BadPercent(start + i)),
                        }
                        i += 3;
                    } else {
                        bytes.push(if part[i] == b'+' { b' ' } else { part[i] });
                        i += 1;
                    }
                }
                decoded.push(String::from_utf8(bytes).map_err(|_| FormError::NotUtf8)?);
            }
            let value = decoded.pop().unwrap();
            let key = decoded.pop().unwrap();
            fields.push((key, value));
        }
        Ok(fields)
    }
}
