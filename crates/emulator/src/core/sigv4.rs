//! SigV4 verification of the `Authorization: AWS4-HMAC-SHA256 ...` header
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>).
//!
//! The emulator recomputes the signature from the request as received and the configured
//! credentials, so a client with the wrong secret is refused the way AWS refuses it. The clock is
//! not checked: tests replay fixed vectors, and the emulator has no use for replay protection.
//!
//! Error codes (all awsJson/restJson names; S3 maps them to its XML codes itself):
//! - `MissingAuthenticationTokenException` (403): no `Authorization` header;
//! - `IncompleteSignatureException` (400): the header or `x-amz-date` is malformed;
//! - `UnrecognizedClientException` (403): unknown access key id;
//! - `InvalidSignatureException` (403): the signature does not match;
//! - `XAmzContentSHA256Mismatch` (400): `x-amz-content-sha256` is not the body's hash.

use aws_lc_rs::{digest, hmac};

use crate::core::error::AwsError;
use crate::core::percent;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The parts of an HTTP request that SigV4 covers, as received on the wire.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The path exactly as sent (still percent-encoded), without the query string.
    pub path: &'a str,
    /// The raw query string without the `?`; empty when there is none.
    pub query: &'a str,
    /// Every header as (name, value); names in any case, repeated names allowed.
    pub headers: Vec<(&'a str, &'a str)>,
}

impl<'a> RequestParts<'a> {
    /// Borrows the parts of an actix request. Headers whose value is not visible ASCII are left
    /// out; no SDK signs such a header.
    pub fn from_actix(req: &'a actix_web::HttpRequest) -> Self {
        Self {
            method: req.method().as_str(),
            path: req.uri().path(),
            query: req.uri().query().unwrap_or(""),
            headers: req
                .headers()
                .iter()
                .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
                .collect(),
        }
    }

    fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name).next()
    }
}

/// What a verified signature says about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigInfo {
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    pub region: String,
    /// The signing name, e.g. `cognito-idp`, `ivs`, `s3`.
    pub service: String,
    /// `x-amz-date`, `YYYYMMDD'T'HHMMSS'Z'`.
    pub amz_date: String,
    /// Lower-case names of the signed headers.
    pub signed_headers: Vec<String>,
}

/// Verifies the request's `Authorization` header against `access_key_id` / `secret_access_key`.
pub fn verify(
    req: &RequestParts<'_>,
    body: &[u8],
    access_key_id: &str,
    secret_access_key: &str,
) -> Result<SigInfo, AwsError> {
    let authorization = req.header("authorization").ok_or_else(|| {
        AwsError::new(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    })?;
    let auth = parse_authorization(authorization)?;
    if auth.access_key_id != access_key_id {
        return Err(AwsError::new(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    let amz_date = req.header("x-amz-date").ok_or_else(|| {
        incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    if amz_date.len() != 16 || !amz_date.starts_with(&auth.date) {
        return Err(incomplete(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
        ));
    }

    if !signature_matches(req, body, &auth, amz_date, secret_access_key)? {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }

    Ok(SigInfo {
        access_key_id: auth.access_key_id,
        date: auth.date,
        region: auth.region,
        service: auth.service,
        amz_date: amz_date.to_owned(),
        signed_headers: auth.signed_headers,
    })
}

/// Recomputes the request's signature from its canonical form and compares it with the one sent.
fn signature_matches(
    req: &RequestParts<'_>,
    body: &[u8],
    auth: &Authorization,
    amz_date: &str,
    secret_access_key: &str,
) -> Result<bool, AwsError> {
    let payload_hash = payload_hash(req, body)?;
    let canonical_headers = canonical_headers(req, &auth.signed_headers)?;
    let canonical_query = canonical_query(req.query);
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let key = signing_key(secret_access_key, &auth.date, &auth.region, &auth.service);

    // S3 signs the path as sent; every other service signs it normalised and encoded once more.
    // Accepting either form only widens what a holder of the secret can send.
    let mut candidates = Vec::with_capacity(2);
    if auth.service != "s3" {
        candidates.push(uri_encode(&normalize_path(req.path), false));
    }
    candidates.push(req.path.to_owned());

    Ok(candidates.iter().any(|canonical_uri| {
        let canonical_request = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            req.method,
            canonical_uri,
            canonical_query,
            canonical_headers,
            auth.signed_headers.join(";"),
            payload_hash
        );
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(digest::digest(
                &digest::SHA256,
                canonical_request.as_bytes()
            ))
        );
        let expected = hmac::sign(&key, string_to_sign.as_bytes());
        constant_time_eq(
            hex::encode(expected.as_ref()).as_bytes(),
            auth.signature.as_bytes(),
        )
    }))
}

/// Convenience for actix handlers: [`verify`] on the request and its body.
pub fn verify_actix(
    req: &actix_web::HttpRequest,
    body: &[u8],
    access_key_id: &str,
    secret_access_key: &str,
) -> Result<SigInfo, AwsError> {
    verify(
        &RequestParts::from_actix(req),
        body,
        access_key_id,
        secret_access_key,
    )
}

/// The SigV4 signing key: HMAC chain over date, region, service and `aws4_request`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let k_secret = format!("AWS4{secret}");
    let mut key = hmac::Key::new(hmac::HMAC_SHA256, k_secret.as_bytes());
    for part in [date, region, service, "aws4_request"] {
        let tag = hmac::sign(&key, part.as_bytes());
        key = hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref());
    }
    key
}

struct Authorization {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn incomplete(message: &str) -> AwsError {
    AwsError::new(400, "IncompleteSignatureException", message)
}

fn parse_authorization(header: &str) -> Result<Authorization, AwsError> {
    let rest = header
        .trim()
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| incomplete("Unsupported signing algorithm; expected AWS4-HMAC-SHA256."))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        match name.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed_headers = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(&format!(
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. \
             Authorization={header}"
        )));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(&format!(
            "Credential should be scoped to a valid region. Credential={credential}"
        )));
    };
    if *terminator != "aws4_request" || date.len() != 8 {
        return Err(incomplete(&format!(
            "Credential should be scoped with a valid terminator: 'aws4_request'. Credential={credential}"
        )));
    }
    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if signed_headers.is_empty() {
        return Err(incomplete("SignedHeaders must not be empty."));
    }
    Ok(Authorization {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

fn payload_hash(req: &RequestParts<'_>, body: &[u8]) -> Result<String, AwsError> {
    let computed = || hex::encode(digest::digest(&digest::SHA256, body));
    match req.header("x-amz-content-sha256") {
        None => Ok(computed()),
        // Unsigned and streaming (aws-chunked) payloads are signed with the marker itself.
        Some(marker) if marker == UNSIGNED_PAYLOAD || marker.starts_with("STREAMING-") => {
            Ok(marker.to_owned())
        }
        Some(claimed) => {
            let actual = computed();
            if claimed.eq_ignore_ascii_case(&actual) {
                Ok(claimed.to_owned())
            } else {
                Err(AwsError::new(
                    400,
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ))
            }
        }
    }
}

fn canonical_headers(req: &RequestParts<'_>, signed: &[String]) -> Result<String, AwsError> {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> = req.header_values(name).map(collapse_spaces).collect();
        if values.is_empty() {
            return Err(AwsError::new(
                403,
                "InvalidSignatureException",
                format!("The request signs the header '{name}' but does not send it."),
            ));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// Trims the value and folds each run of spaces into one, as SigV4 requires.
fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                uri_encode(&percent::decode_lossy(k), true),
                uri_encode(&percent::decode_lossy(v), true),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 encoding as SigV4 defines it: unreserved characters stay, everything else is `%XX`
/// (upper-case hex). `/` stays unless `encode_slash`.
pub fn uri_encode(input: &str, encode_slash: bool) -> String {
    percent::encode(input, encode_slash)
}

/// Removes `.` and `..` segments and empty segments (RFC 3986 §5.2.4, as the SDKs normalise).
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    if path.ends_with('/') && out.len() > 1 {
        out.push('/');
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn parts<'a>(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: Vec<(&'a str, &'a str)>,
    ) -> RequestParts<'a> {
        RequestParts {
            method,
            path,
            query,
            headers,
        }
    }

    // AWS SigV4 test suite, case "get-vanilla".
    fn get_vanilla(signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={signature}"
        )
    }

    /// The headers of the test suite's "get-vanilla" requests, with `authorization`.
    fn vanilla_headers(authorization: &str) -> Vec<(&str, &str)> {
        vec![
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", authorization),
        ]
    }

    #[test]
    fn accepts_the_get_vanilla_test_suite_vector() {
        let auth = get_vanilla("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        let req = parts("GET", "/", "", vanilla_headers(&auth));
        let info = verify(&req, b"", AKID, SECRET).expect("valid signature");
        assert_eq!(info.service, "service");
        assert_eq!(info.region, "us-east-1");
        assert_eq!(info.date, "20150830");
        assert_eq!(info.signed_headers, vec!["host", "x-amz-date"]);
    }

    #[test]
    fn refuses_a_wrong_secret_and_a_tampered_request() {
        let auth = get_vanilla("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        let headers = vanilla_headers(&auth);
        let req = parts("GET", "/", "", headers.clone());
        let err = verify(&req, b"", AKID, "not-the-secret").unwrap_err();
        assert_eq!(err.code, "InvalidSignatureException");
        assert_eq!(err.status.as_u16(), 403);

        let tampered = parts("GET", "/other", "", headers.clone());
        assert_eq!(
            verify(&tampered, b"", AKID, SECRET).unwrap_err().code,
            "InvalidSignatureException"
        );

        let err = verify(&req, b"", "SOMEONE-ELSE", SECRET).unwrap_err();
        assert_eq!(err.code, "UnrecognizedClientException");
    }

    #[test]
    fn sorts_the_query_like_the_test_suite() {
        // Case "get-vanilla-query-order-key-case".
        let auth = get_vanilla("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
        let req = parts(
            "GET",
            "/",
            "Param2=value2&Param1=value1",
            vanilla_headers(&auth),
        );
        assert!(verify(&req, b"", AKID, SECRET).is_ok());
    }

    #[test]
    fn checks_a_signed_body_hash() {
        // Case "post-x-www-form-urlencoded".
        let auth =
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
            SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, \
            Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b";
        let headers = vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "example.amazonaws.com"),
            ("Content-Length", "13"),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "x-amz-content-sha256",
                "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            ),
            ("Authorization", auth),
        ];
        let req = parts("POST", "/", "", headers);
        assert!(verify(&req, b"Param1=value1", AKID, SECRET).is_ok());
        assert_eq!(
            verify(&req, b"Param1=value2", AKID, SECRET)
                .unwrap_err()
                .code,
            "XAmzContentSHA256Mismatch"
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        let req = parts("GET", "/", "", vec![("Host", "example.amazonaws.com")]);
        assert_eq!(
            verify(&req, b"", AKID, SECRET).unwrap_err().code,
            "MissingAuthenticationTokenException"
        );
        let req = parts(
            "GET",
            "/",
            "",
            vec![
                ("Host", "example.amazonaws.com"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"),
            ],
        );
        assert_eq!(
            verify(&req, b"", AKID, SECRET).unwrap_err().code,
            "IncompleteSignatureException"
        );
    }

    #[test]
    fn encodes_and_normalises_paths() {
        assert_eq!(uri_encode("/tags/arn%3Aaws", false), "/tags/arn%253Aaws");
        assert_eq!(uri_encode("a b/c", true), "a%20b%2Fc");
        assert_eq!(normalize_path("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
    }
}
