//! How the tool writes arbitrary bytes as one line of text, and reads them back.
//!
//! Two forms, both one line and free of tabs, so that `key<TAB>value` lines stay
//! unambiguous:
//!
//! - the **display** form ([`display_into`], what `kevo scan` prints by default): valid UTF-8
//!   as is except control characters; backslashes are left alone so that JSON text reads
//!   naturally. It is for reading, not for reading back: `\n` and a backslash followed by `n`
//!   print alike.
//! - the **escaped** form ([`escape_into`], what `kevo scan --escaped` and `kevo shell` print,
//!   and what `kevo import --escaped` and `kevo shell` read with [`parse`]): the display form
//!   plus `\\` for a backslash, `\u{N}` for the control characters U+0080..U+009F, and
//!   `\x30` for a leading `0` that is followed by `x` (so that the text never starts with
//!   `0x`, which [`parse`] reads as hex). Every byte string has exactly one escaped form and
//!   `parse(escape(b)) == b`.
//!
//! The escapes [`parse`] reads: `\\`, `\t`, `\n`, `\r`, `\0`, `\xNN` (one byte, any value,
//! two hex digits), `\u{N}` (the UTF-8 bytes of the character U+N, 1 to 6 hex digits). Text
//! that starts with `0x` is hex instead: `0x00ff` is the bytes 0x00 0xff (`0x` alone is the
//! empty string).

/// Appends the display form of `bytes`: valid UTF-8 as is, except control characters (`\t`,
/// `\n`, `\r`, other controls as `\xNN` or `\u{N}`); bytes that are not UTF-8 as `\xNN`.
/// Backslashes are left alone, so JSON text reads naturally; see the module documentation.
pub fn display_into(out: &mut Vec<u8>, bytes: &[u8]) {
    write_into(out, bytes, false);
}

/// Appends the escaped form of `bytes`, which [`parse`] reads back exactly; see the module
/// documentation.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    write_into(out, bytes, true);
}

/// The escaped form of `bytes` (see [`escape_into`]).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    escape_into(&mut out, bytes);
    String::from_utf8(out).expect("the escaped form is ASCII plus valid UTF-8")
}

fn write_into(out: &mut Vec<u8>, bytes: &[u8], exact: bool) {
    // In the escaped form `\xNN` is always one byte, so a control character that takes two
    // bytes in UTF-8 (U+0080..U+009F) is written as a character, `\u{N}`.
    let byte_escape_below: u32 = if exact { 0x80 } else { 0x100 };
    let mut rest = bytes;
    if exact && bytes.starts_with(b"0x") {
        out.extend_from_slice(b"\\x30");
        rest = &bytes[1..];
    }
    for chunk in rest.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => out.extend_from_slice(b"\\t"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\\' if exact => out.extend_from_slice(b"\\\\"),
                c if c.is_control() && (c as u32) < byte_escape_below => {
                    out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
                }
                c if c.is_control() => {
                    out.extend_from_slice(format!("\\u{{{:x}}}", c as u32).as_bytes())
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
}

/// The bytes that `text` stands for: hex digits after a `0x` prefix, else `text` with its
/// backslash escapes decoded (see the module documentation).
///
/// Errors: a message naming the bad hex digits, an unknown escape, or a malformed `\x`/`\u`.
pub fn parse(text: &str) -> Result<Vec<u8>, String> {
    match text.strip_prefix("0x") {
        Some(digits) => hex::decode(digits).map_err(|e| format!("not valid hex after 0x: {e}")),
        None => unescape(text),
    }
}

/// `text` with its backslash escapes decoded (no `0x` rule; see [`parse`]).
///
/// Errors: a message naming an unknown escape, or a malformed `\x`/`\u`.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let esc = &rest[i + 1..];
        let mut chars = esc.chars();
        let consumed = match chars.next() {
            None => {
                return Err("a lone backslash at the end (write \\\\ for a backslash)".to_string())
            }
            Some('\\') => {
                out.push(b'\\');
                1
            }
            Some('t') => {
                out.push(b'\t');
                1
            }
            Some('n') => {
                out.push(b'\n');
                1
            }
            Some('r') => {
                out.push(b'\r');
                1
            }
            Some('0') => {
                out.push(0);
                1
            }
            Some('x') => {
                let digits = esc
                    .get(1..3)
                    .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
                let Some(digits) = digits else {
                    return Err("\\x takes two hex digits".to_string());
                };
                out.push(u8::from_str_radix(digits, 16).expect("two hex digits"));
                3
            }
            Some('u') => {
                let bad = || "\\u takes a character number, e.g. \\u{85}".to_string();
                let body = esc[1..].strip_prefix('{').ok_or_else(bad)?;
                let close = body.find('}').ok_or_else(bad)?;
                let digits = &body[..close];
                if digits.is_empty()
                    || digits.len() > 6
                    || !digits.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(bad());
                }
                let n = u32::from_str_radix(digits, 16).expect("hex digits");
                let c = char::from_u32(n)
                    .ok_or_else(|| format!("\\u{{{digits}}} is not a character"))?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                1 + 1 + close + 1
            }
            Some(c) => {
                return Err(format!(
                    "unknown escape \\{c} (known: \\\\ \\t \\n \\r \\0 \\xNN \\u{{N}})"
                ));
            }
        };
        rest = &esc[consumed..];
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn disp(b: &[u8]) -> String {
        let mut v = Vec::new();
        display_into(&mut v, b);
        String::from_utf8(v).expect("display output is UTF-8")
    }

    #[test]
    fn display_shows_printable_utf8_as_is() {
        assert_eq!(disp(b"hello"), "hello");
        assert_eq!(disp("Zürich/東京".as_bytes()), "Zürich/東京");
        assert_eq!(disp(br#"{"a":"b\"c"}"#), r#"{"a":"b\"c"}"#);
        assert_eq!(disp(b"0x41"), "0x41");
    }

    #[test]
    fn display_escapes_control_and_invalid_bytes() {
        assert_eq!(disp(b"a\tb\nc\rd"), "a\\tb\\nc\\rd");
        assert_eq!(disp(b"\x00\x1f\x7f"), "\\x00\\x1f\\x7f");
        assert_eq!(disp(b"ok\xff\xfeok"), "ok\\xff\\xfeok");
        assert_eq!(disp("\u{85}".as_bytes()), "\\x85");
        assert_eq!(disp("\u{2028}".as_bytes()), "\u{2028}");
    }

    #[test]
    fn escaped_form_is_unambiguous() {
        assert_eq!(escape(b"a\\nb"), "a\\\\nb");
        assert_eq!(escape(b"a\nb"), "a\\nb");
        assert_eq!(escape(b"\x00\xff\t"), "\\x00\\xff\\t");
        assert_eq!(escape("\u{85}".as_bytes()), "\\u{85}");
        assert_eq!(escape(b"\xc2\x85"), "\\u{85}");
        assert_eq!(escape(b"\xc2"), "\\xc2");
        assert_eq!(escape(b"0x41"), "\\x30x41");
        assert_eq!(escape(b"0"), "0");
        assert_eq!(escape(b"10x"), "10x");
        assert_eq!(escape(b""), "");
        assert_eq!(escape("é 東".as_bytes()), "é 東");
    }

    #[test]
    fn parse_reads_escapes_and_hex() {
        assert_eq!(parse("a\\x00b").unwrap(), b"a\x00b");
        assert_eq!(parse("\\t\\n\\r\\0\\\\").unwrap(), b"\t\n\r\x00\\");
        assert_eq!(parse("\\xFF\\xfe").unwrap(), b"\xff\xfe");
        assert_eq!(
            parse("\\u{e9}\\u{10FFFF}").unwrap(),
            "é\u{10ffff}".as_bytes()
        );
        assert_eq!(parse("0x00ff").unwrap(), b"\x00\xff");
        assert_eq!(parse("0x").unwrap(), b"");
        assert_eq!(parse("\\x30x41").unwrap(), b"0x41");
        assert_eq!(parse("plain text").unwrap(), b"plain text");
        assert_eq!(parse("").unwrap(), b"");
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        let err = |s: &str| parse(s).unwrap_err();
        assert!(err("0xabc").contains("not valid hex"), "{}", err("0xabc"));
        assert!(err("0xzz").contains("not valid hex"));
        assert!(err("a\\").contains("lone backslash"));
        assert!(err("\\q").contains("unknown escape \\q"));
        assert!(err("\\x4").contains("two hex digits"));
        assert!(err("\\xg0").contains("two hex digits"));
        assert!(err("\\u85").contains("\\u takes"));
        assert!(err("\\u{}").contains("\\u takes"));
        assert!(err("\\u{1234567}").contains("\\u takes"));
        assert!(err("\\u{d800}").contains("not a character"));
        assert!(err("\\é").contains("unknown escape \\é"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes survive escape → parse, and the escaped form is one tab-free line.
        #[test]
        fn escape_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = escape(&bytes);
            prop_assert!(!text.contains(['\t', '\n', '\r']), "{:?}", text);
            prop_assert!(!text.starts_with("0x"), "{:?}", text);
            prop_assert_eq!(parse(&text).unwrap(), bytes);
        }

        /// Text made mostly of the characters escapes are about round-trips too.
        #[test]
        fn escape_round_trips_nasty_text(
            s in "[\\\\0x\\t\\n\\r\u{0}\u{85}é{}u]{0,24}"
        ) {
            let text = escape(s.as_bytes());
            prop_assert_eq!(parse(&text).unwrap(), s.as_bytes());
        }

        /// Different byte strings have different escaped forms.
        #[test]
        fn escape_is_injective(
            a in proptest::collection::vec(any::<u8>(), 0..16),
            b in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            prop_assert_eq!(a == b, escape(&a) == escape(&b));
        }
    }
}
