//! S3's REST-XML wire details (`docs/wire-protocols.md` §7.5, §11.4): errors, the headers every
//! response carries (request ids, CORS), percent-encoding and aws-chunked bodies. The XML documents
//! themselves are in `xml.rs`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use percent_encoding::{utf8_percent_encode, AsciiSet};

use super::xml::{self, ErrorDocument};
use crate::core::percent::{self, DecodeError};

/// Headers the browser may read from an S3 response (docs/wire-protocols.md §0.3): the SPA reads these after an upload.
pub const EXPOSE_HEADERS: &str =
    "ETag, Location, x-amz-version-id, Date, x-amz-request-id, x-amz-delete-marker";

/// An S3 error: rendered as `<Error><Code>…` XML (no body for HEAD requests).
#[derive(Debug, Clone)]
pub struct S3Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra elements after `<Message>` (`Key`, `BucketName`, `ProposedSize`, …), in order.
    pub extra: Vec<(&'static str, String)>,
    /// Extra response headers (`x-amz-delete-marker`, …).
    pub headers: Vec<(&'static str, String)>,
}

impl S3Error {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message: message.into(),
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new(404, "NoSuchBucket", "The specified bucket does not exist")
            .with("BucketName", bucket)
    }

    pub fn no_such_key(key: &str) -> Self {
        Self::new(404, "NoSuchKey", "The specified key does not exist.").with("Key", key)
    }

    pub fn no_such_version(key: &str, version_id: &str) -> Self {
        Self::new(
            404,
            "NoSuchVersion",
            "The specified version does not exist.",
        )
        .with("Key", key)
        .with("VersionId", version_id)
    }

    pub fn malformed_xml() -> Self {
        Self::new(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidArgument", message)
    }

    pub fn access_denied_policy(detail: impl std::fmt::Display) -> Self {
        Self::new(
            403,
            "AccessDenied",
            format!("Invalid according to Policy: {detail}"),
        )
    }

    pub fn invalid_policy(detail: &str) -> Self {
        Self::new(
            400,
            "InvalidPolicyDocument",
            format!("Invalid Policy: {detail}"),
        )
    }

    /// The response for `req`: XML body, except for HEAD where only the status and headers go out.
    pub fn response(&self, req: &HttpRequest) -> HttpResponse {
        let request_id = request_id();
        let mut builder = base_response(self.status, req, &request_id);
        for (name, value) in &self.headers {
            builder.insert_header((*name, value.as_str()));
        }
        if req.method() == actix_web::http::Method::HEAD {
            return builder.finish();
        }
        let document = ErrorDocument {
            code: self.code,
            message: &self.message,
            extra: &self.extra,
            request_id: &request_id,
            host_id: &host_id(),
        };
        // Every field is a string, so rendering cannot fail; an empty body would still carry the status.
        let body = xml::render(&document).unwrap_or_default();
        builder.content_type("application/xml").body(body)
    }
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A response builder with the headers every S3 answer carries: request ids, `Server`, and CORS.
pub fn base_response(
    status: StatusCode,
    req: &HttpRequest,
    request_id: &str,
) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header(("x-amz-request-id", request_id))
        .insert_header(("x-amz-id-2", host_id()))
        .insert_header(("Server", "AmazonS3"));
    cors(&mut builder, req);
    builder
}

/// A request header as text (`None` when missing or not visible ASCII).
pub fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `Access-Control-Allow-Origin` (the request's origin, else `*`) and the exposed headers.
pub fn cors(builder: &mut HttpResponseBuilder, req: &HttpRequest) {
    let origin = header(req, "origin").unwrap_or("*").to_owned();
    if origin != "*" {
        builder.insert_header(("Vary", "Origin"));
    }
    builder
        .insert_header(("Access-Control-Allow-Origin", origin))
        .insert_header(("Access-Control-Expose-Headers", EXPOSE_HEADERS));
}

/// 16 uppercase hex characters, like S3's `x-amz-request-id`.
pub fn request_id() -> String {
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_uppercase()
        .chars()
        .take(16)
        .collect()
}

fn host_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// Percent-decodes a URL path segment or query value (`+` is kept as is).
pub fn percent_decode(input: &str) -> Result<String, S3Error> {
    percent::decode_strict(input).map_err(|e| match e {
        DecodeError::Escape => S3Error::invalid_argument("Invalid percent-encoding in the URI"),
        DecodeError::Utf8 => S3Error::invalid_argument("The URI is not valid UTF-8"),
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters (`/` becomes `%2F`; with
/// `keep_slash` it stays, as in listing keys with `encoding-type=url`).
pub fn percent_encode(input: &str, keep_slash: bool) -> String {
    percent::encode(input, !keep_slash)
}

/// Form-style encoding of a key in event notifications (docs/wire-protocols.md §8.1): space → `+`; `/` and `*` kept.
pub fn form_encode_key(key: &str) -> String {
    const FORM_KEY: &AsciiSet = &percent::UNRESERVED_AND_SLASH.add(b'~').remove(b'*');
    key.split(' ')
        .map(|part| utf8_percent_encode(part, FORM_KEY).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// Decodes an `aws-chunked` body (docs/wire-protocols.md §11.5): hex-sized chunks, optional chunk signatures, trailers.
pub fn decode_aws_chunked(body: &[u8]) -> Result<Vec<u8>, S3Error> {
    let bad = || S3Error::invalid_argument("Malformed aws-chunked body");
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let header =
            std::str::from_utf8(rest.get(..line_end).ok_or_else(bad)?).map_err(|_| bad())?;
        let size_hex = header.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad())?;
        rest = rest.get(line_end + 2..).ok_or_else(bad)?;
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(rest.get(..size).ok_or_else(bad)?);
        rest = rest.get(size..).ok_or_else(bad)?;
        rest = rest.strip_prefix(b"\r\n").ok_or_else(bad)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_bodies_are_unframed() {
        let body = b"5;chunk-signature=abc\r\nhello\r\n3\r\n, w\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        assert_eq!(decode_aws_chunked(body).unwrap(), b"hello, w");
        assert!(decode_aws_chunked(b"zz\r\n").is_err());
    }

    #[test]
    fn percent_coding_round_trips() {
        let key = "a b/ü+c";
        assert_eq!(percent_decode(&percent_encode(key, false)).unwrap(), key);
        assert_eq!(percent_encode("a/b c", true), "a/b%20c");
        assert_eq!(form_encode_key("a b/c"), "a+b/c");
        assert_eq!(form_encode_key("x*~y%"), "x*%7Ey%25");
        assert!(percent_decode("%zz").is_err());
    }
}
