//! The SAM line tokenizer: one `\n`-terminated line into words and `KEY=VALUE` pairs.
//!
//! samv3.md, "Encoding and Escaping": "All of these SAM messages are sent on a single
//! line, terminated by the newline character (\n). [...] As of SAM 3.2, the encoding must
//! be UTF-8." "Values must be enclosed in double quotes if they contain spaces" and "As
//! of SAM 3.2, double quotes may be escaped with a backslash '\' and a backslash may be
//! represented as two backslashes '\\'."
//!
//! The same tokenizer reads commands (client to bridge) and replies (bridge to client).

use crate::error::ParseError;

/// Longest accepted line in bytes, not counting the `\n` (or `\r\n`) terminator.
///
/// The spec sets no limit; the longest legitimate line is a SESSION CREATE carrying a
/// private key with an offline signature (a few KiB of base64) plus options.
pub const MAX_LINE_LEN: usize = 64 * 1024;
/// Longest accepted key, in bytes.
pub const MAX_KEY_LEN: usize = 256;
/// Longest accepted value, in bytes (after unquoting).
pub const MAX_VALUE_LEN: usize = 16 * 1024;
/// Most `KEY=VALUE` pairs accepted on one line.
pub const MAX_PAIRS: usize = 128;

/// A tokenized line: the command words and the key/value pairs, in order.
#[derive(Clone, PartialEq, Eq)]
pub struct Line {
    /// First word, mapped to ASCII upper case (samv3.md, "Case Sensitivity": "It is
    /// recommended [...] that the server map commands to upper case").
    pub verb: String,
    /// Second word (upper-cased) if it is a bare word; `None` for one-word commands.
    pub sub: Option<String>,
    /// `KEY=VALUE` pairs; keys are case-sensitive and never mapped. A bare `KEY` (no
    /// `=`) has the empty value ("Empty values": "KEY, KEY=, or KEY=\"\" may be allowed").
    pub pairs: Vec<(String, String)>,
    /// For `PING`/`PONG` only: the arbitrary text after the first space, verbatim.
    pub text: Option<String>,
}

impl std::fmt::Debug for Line {
    // Values may hold private keys or passwords: print keys only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.pairs.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Line")
            .field("verb", &self.verb)
            .field("sub", &self.sub)
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

impl Line {
    /// Value of `key` (exact, case-sensitive match), if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Strips the terminator and checks length, encoding and control characters.
fn check_line(raw: &[u8]) -> Result<&str, ParseError> {
    let mut body = raw;
    if let Some(rest) = body.strip_suffix(b"\n") {
        body = rest;
        if let Some(rest) = body.strip_suffix(b"\r") {
            body = rest;
        }
    }
    if body.len() > MAX_LINE_LEN {
        return Err(ParseError::LineTooLong {
            len: body.len(),
            max: MAX_LINE_LEN,
        });
    }
    let text = std::str::from_utf8(body).map_err(|e| ParseError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    // A line can never contain a newline or another control character (a tab is
    // accepted as a separator, for telnet users).
    if let Some((offset, c)) = text
        .char_indices()
        .find(|&(_, c)| (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}')
    {
        return Err(ParseError::ControlCharacter {
            offset,
            code: u32::from(c),
        });
    }
    Ok(text)
}

fn is_sep(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// One raw word: its key part, and its value part if a literal `=` was seen.
struct Word {
    key: String,
    value: Option<String>,
    /// Whether any quoting or escaping was used (such a word is never a command word).
    quoted: bool,
}

/// Reads one word starting at `chars`, honouring quotes and backslash escapes.
fn read_word(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> Result<Word, ParseError> {
    let mut key = String::new();
    let mut value: Option<String> = None;
    let mut in_quotes = false;
    let mut quote_start = 0;
    let mut quoted = false;
    while let Some(&(i, c)) = chars.peek() {
        if !in_quotes && is_sep(c) {
            break;
        }
        chars.next();
        let literal = match c {
            '"' => {
                in_quotes = !in_quotes;
                quote_start = i;
                quoted = true;
                continue;
            }
            '\\' => {
                quoted = true;
                match chars.next() {
                    Some((_, e)) => Some(e),
                    None => return Err(ParseError::DanglingEscape { offset: i }),
                }
            }
            '=' if !in_quotes && value.is_none() => {
                value = Some(String::new());
                continue;
            }
            _ => None,
        };
        let ch = literal.unwrap_or(c);
        match value.as_mut() {
            None => {
                if key.len() >= MAX_KEY_LEN {
                    return Err(ParseError::KeyTooLong { max: MAX_KEY_LEN });
                }
                key.push(ch);
            }
            Some(v) => {
                if v.len() >= MAX_VALUE_LEN {
                    return Err(ParseError::ValueTooLong {
                        key: key.clone(),
                        max: MAX_VALUE_LEN,
                    });
                }
                v.push(ch);
            }
        }
    }
    if in_quotes {
        return Err(ParseError::UnterminatedQuote {
            offset: quote_start,
        });
    }
    Ok(Word { key, value, quoted })
}

/// Tokenizes one SAM line (with or without its `\n`).
///
/// Total: every byte string gives a [`Line`] or a [`ParseError`]; nothing is allocated
/// beyond [`MAX_LINE_LEN`]. Refuses: over-long lines, invalid UTF-8, control characters,
/// no command word, unterminated quotes, a trailing lone backslash, empty or over-long
/// keys, over-long values, more than [`MAX_PAIRS`] pairs and duplicate keys.
pub fn tokenize(raw: &[u8]) -> Result<Line, ParseError> {
    let text = check_line(raw)?;
    let trimmed = text.trim_start_matches(is_sep);

    // PING/PONG carry free text: "PING[ arbitrary text]" (samv3.md, "PING/PONG").
    let first_end = trimmed.find(is_sep).unwrap_or(trimmed.len());
    let first = trimmed.get(..first_end).unwrap_or_default();
    let first_upper = first.to_ascii_uppercase();
    if first_upper == "PING" || first_upper == "PONG" {
        let rest = trimmed.get(first_end..).unwrap_or_default();
        let text = rest.strip_prefix(is_sep).unwrap_or(rest);
        return Ok(Line {
            verb: first_upper,
            sub: None,
            pairs: Vec::new(),
            text: Some(text.to_owned()),
        });
    }

    let mut chars = text.char_indices().peekable();
    let mut verb: Option<String> = None;
    let mut sub: Option<String> = None;
    let mut pairs: Vec<(String, String)> = Vec::new();
    loop {
        while chars.peek().is_some_and(|&(_, c)| is_sep(c)) {
            chars.next();
        }
        let Some(&(offset, _)) = chars.peek() else {
            break;
        };
        let word = read_word(&mut chars)?;
        let bare = word.value.is_none() && !word.quoted;
        if verb.is_none() {
            if !bare || word.key.is_empty() {
                return Err(ParseError::NoCommand);
            }
            verb = Some(word.key.to_ascii_uppercase());
            continue;
        }
        if sub.is_none() && pairs.is_empty() && bare {
            sub = Some(word.key.to_ascii_uppercase());
            continue;
        }
        if word.key.is_empty() {
            return Err(ParseError::EmptyKey { offset });
        }
        if pairs.len() >= MAX_PAIRS {
            return Err(ParseError::TooManyPairs { max: MAX_PAIRS });
        }
        if pairs.iter().any(|(k, _)| *k == word.key) {
            return Err(ParseError::DuplicateKey { key: word.key });
        }
        pairs.push((word.key, word.value.unwrap_or_default()));
    }
    let verb = verb.ok_or(ParseError::NoCommand)?;
    Ok(Line {
        verb,
        sub,
        pairs,
        text: None,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn simple_pairs_in_order() {
        let l = tokenize(b"HELLO VERSION MIN=3.0 MAX=3.3\n").unwrap();
        assert_eq!(l.verb, "HELLO");
        assert_eq!(l.sub.as_deref(), Some("VERSION"));
        assert_eq!(l.get("MIN"), Some("3.0"));
        assert_eq!(l.get("MAX"), Some("3.3"));
        assert_eq!(l.get("max"), None, "keys are case-sensitive");
    }

    #[test]
    fn quoted_values_and_escapes() {
        let l =
            tokenize(br#"A B K="long value text" Q="say \"hi\"" S=a\\b U=x\"y E="" F= G"#).unwrap();
        assert_eq!(l.get("K"), Some("long value text"));
        assert_eq!(l.get("Q"), Some("say \"hi\""));
        assert_eq!(l.get("S"), Some("a\\b"));
        assert_eq!(l.get("U"), Some("x\"y"));
        assert_eq!(l.get("E"), Some(""));
        assert_eq!(l.get("F"), Some(""));
        assert_eq!(l.get("G"), Some(""));
    }

    #[test]
    fn equals_inside_value_and_quotes() {
        let l = tokenize(b"A B DESTINATION=abc~-== M=\"x=y z\"").unwrap();
        assert_eq!(l.get("DESTINATION"), Some("abc~-=="));
        assert_eq!(l.get("M"), Some("x=y z"));
    }

    #[test]
    fn multiple_spaces_tabs_and_crlf() {
        let l = tokenize(b"  hello   version \t MIN=3.1   \r\n").unwrap();
        assert_eq!(l.verb, "HELLO");
        assert_eq!(l.sub.as_deref(), Some("VERSION"));
        assert_eq!(l.get("MIN"), Some("3.1"));
    }

    #[test]
    fn utf8_values() {
        let l = tokenize("A B NAME=\"héllo wörld\" 名前=値".as_bytes()).unwrap();
        assert_eq!(l.get("NAME"), Some("héllo wörld"));
        assert_eq!(l.get("名前"), Some("値"));
    }

    #[test]
    fn ping_keeps_text_verbatim() {
        let l = tokenize(b"PING  some  text=\"x\n").unwrap();
        assert_eq!(l.verb, "PING");
        assert_eq!(l.text.as_deref(), Some(" some  text=\"x"));
        assert_eq!(tokenize(b"PONG").unwrap().text.as_deref(), Some(""));
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(tokenize(b""), Err(ParseError::NoCommand));
        assert_eq!(tokenize(b"   \n"), Err(ParseError::NoCommand));
        assert_eq!(tokenize(b"K=V"), Err(ParseError::NoCommand));
        assert_eq!(tokenize(b"\"HELLO\" VERSION"), Err(ParseError::NoCommand));
        assert!(matches!(
            tokenize(b"A B K=\"open"),
            Err(ParseError::UnterminatedQuote { offset: 6 })
        ));
        assert!(matches!(
            tokenize(b"A B K=x\\"),
            Err(ParseError::DanglingEscape { .. })
        ));
        assert!(matches!(
            tokenize(b"A B K=1 K=2"),
            Err(ParseError::DuplicateKey { key }) if key == "K"
        ));
        assert!(matches!(
            tokenize(b"A B =v"),
            Err(ParseError::EmptyKey { .. })
        ));
        assert!(matches!(
            tokenize(b"A B K=a\nX=b"),
            Err(ParseError::ControlCharacter { code: 10, .. })
        ));
        assert!(matches!(
            tokenize(b"A B K=\x00"),
            Err(ParseError::ControlCharacter { code: 0, .. })
        ));
        assert!(matches!(
            tokenize(b"A B K=\x1b[31m"),
            Err(ParseError::ControlCharacter { code: 0x1b, .. })
        ));
        assert!(matches!(
            tokenize(b"A B K=\xff"),
            Err(ParseError::InvalidUtf8 { offset: 6 })
        ));
    }

    #[test]
    fn bounds() {
        let mut long = b"A B K=".to_vec();
        long.resize(MAX_LINE_LEN + 1, b'x');
        assert!(matches!(
            tokenize(&long),
            Err(ParseError::LineTooLong { .. })
        ));
        let mut ok = b"A B K=".to_vec();
        ok.resize(MAX_VALUE_LEN + 6, b'x');
        assert_eq!(
            tokenize(&ok).unwrap().get("K").map(str::len),
            Some(MAX_VALUE_LEN)
        );
        ok.push(b'x');
        assert!(matches!(
            tokenize(&ok),
            Err(ParseError::ValueTooLong { .. })
        ));
        let key = "k".repeat(MAX_KEY_LEN + 1);
        assert!(matches!(
            tokenize(format!("A B {key}=1").as_bytes()),
            Err(ParseError::KeyTooLong { .. })
        ));
        let many: String = (0..=MAX_PAIRS).map(|i| format!(" K{i}=1")).collect();
        assert!(matches!(
            tokenize(format!("A B{many}").as_bytes()),
            Err(ParseError::TooManyPairs { .. })
        ));
    }
}
