//! Percent-encoding as AWS uses it, on the `percent-encoding` crate: SigV4's canonical URI and
//! query, S3's listing keys and POST `Location`, and the ARNs in restJson paths.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`) is encoded.
pub const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// [`UNRESERVED`], keeping `/` (SigV4 paths, S3 keys listed with `encoding-type=url`).
pub const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// RFC 3986 encoding (upper-case hex); `/` stays unless `encode_slash`.
pub fn encode(input: &str, encode_slash: bool) -> String {
    let set = if encode_slash {
        UNRESERVED
    } else {
        UNRESERVED_AND_SLASH
    };
    utf8_percent_encode(input, set).to_string()
}

/// Decodes `%XX` escapes; a stray `%` and `+` are kept as sent, invalid UTF-8 becomes U+FFFD.
pub fn decode_lossy(input: &str) -> String {
    percent_decode_str(input).decode_utf8_lossy().into_owned()
}

/// Decodes `%XX` escapes, refusing a `%` not followed by two hex digits and invalid UTF-8.
pub fn decode_strict(input: &str) -> Result<String, DecodeError> {
    let mut rest = input.as_bytes();
    while let Some(at) = rest.iter().position(|b| *b == b'%') {
        let escape = rest.get(at + 1..at + 3).ok_or(DecodeError::Escape)?;
        if !escape.iter().all(u8::is_ascii_hexdigit) {
            return Err(DecodeError::Escape);
        }
        rest = rest.get(at + 3..).unwrap_or_default();
    }
    percent_decode_str(input)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| DecodeError::Utf8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A `%` without two hex digits after it.
    Escape,
    /// The decoded bytes are not UTF-8.
    Utf8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_sigv4() {
        assert_eq!(encode("/tags/arn%3Aaws", false), "/tags/arn%253Aaws");
        assert_eq!(encode("a b/c", true), "a%20b%2Fc");
        assert_eq!(encode("a/b c~ü", false), "a/b%20c~%C3%BC");
    }

    #[test]
    fn lossy_decoding_keeps_stray_percents_and_plus() {
        assert_eq!(
            decode_lossy("arn%3Aaws%3Aivschat%3Aus-east-1%3A1%3Aroom%2Fabc"),
            "arn:aws:ivschat:us-east-1:1:room/abc"
        );
        assert_eq!(decode_lossy("a%2"), "a%2");
        assert_eq!(decode_lossy("a+b%20c"), "a+b c");
    }

    #[test]
    fn strict_decoding_refuses_bad_escapes_and_utf8() {
        let key = "a b/ü+c";
        assert_eq!(decode_strict(&encode(key, true)).as_deref(), Ok(key));
        assert_eq!(decode_strict("%zz"), Err(DecodeError::Escape));
        assert_eq!(decode_strict("a%2"), Err(DecodeError::Escape));
        assert_eq!(decode_strict("%C3"), Err(DecodeError::Utf8));
    }
}
