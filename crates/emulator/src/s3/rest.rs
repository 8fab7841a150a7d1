//! Path-style REST routing (docs/wire-protocols.md §11.1) and the bucket / object operations (§11.2, §11.3).

use std::collections::BTreeMap;
use std::time::SystemTime;

use actix_web::http::header::{HttpDate, LastModified};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;

use super::wire::{self, S3Error};
use super::xml::{self, XMLNS};
use super::{post, CreatedBy, Listed, NewObject};
use crate::core::sigv4;
use crate::server::Shared;

/// Largest PUT body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// S3 is the catch-all: every path no other service claimed (docs/wire-protocols.md §11.1).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/{bucket}", "/{bucket}/{key:.*}"]).to(dispatch));
}

/// Query parameters in order; valueless sub-resources (`?delete`) have an empty value.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(req: &HttpRequest) -> Result<Self, S3Error> {
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(|q| Self(q.into_inner()))
            .map_err(|_| S3Error::invalid_argument("Malformed query string"))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

async fn dispatch(
    req: HttpRequest,
    payload: web::Payload,
    shared: web::Data<Shared>,
) -> HttpResponse {
    match route(&req, payload, &shared).await {
        Ok(response) => response,
        Err(e) => e.response(&req),
    }
}

async fn route(
    req: &HttpRequest,
    payload: web::Payload,
    shared: &web::Data<Shared>,
) -> Result<HttpResponse, S3Error> {
    let path = req.uri().path().trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (wire::percent_decode(b)?, wire::percent_decode(k)?),
        None => (wire::percent_decode(path)?, String::new()),
    };
    let query = Query::parse(req)?;
    let method = req.method().clone();
    if method == Method::OPTIONS {
        return Ok(preflight(req));
    }
    // Browser uploads are authorised by their POST policy, not by a header signature.
    if key.is_empty() && method == Method::POST && !query.has("delete") && is_multipart(req) {
        return post::upload(req.clone(), payload, shared.clone(), bucket).await;
    }
    let raw = read_body(payload).await?;
    authorize(req, &raw, shared)?;
    let body = decode_body(req, raw)?;
    if key.is_empty() {
        match method {
            Method::PUT => put_bucket(req, &body, shared, &bucket, &query),
            Method::HEAD => head_bucket(req, shared, &bucket),
            Method::GET => get_bucket(req, shared, &bucket, &query),
            Method::DELETE => {
                shared.s3.delete_bucket(&bucket)?;
                Ok(ok(StatusCode::NO_CONTENT, req).finish())
            }
            Method::POST if query.has("delete") => delete_objects(req, &body, shared, &bucket),
            _ => Err(method_not_allowed()),
        }
    } else {
        match method {
            Method::PUT => put_object(req, body, shared, &bucket, &key),
            Method::GET | Method::HEAD => get_object(req, shared, &bucket, &key, &query),
            Method::DELETE => delete_object(req, shared, &bucket, &key, &query),
            _ => Err(method_not_allowed()),
        }
    }
}

/// Signed requests must carry a valid SigV4 signature for the configured credentials. Unsigned
/// reads are let through: browsers and the CDN fetch objects by plain URL (docs/wire-protocols.md §11.1). Unsigned
/// writes are refused.
fn authorize(req: &HttpRequest, raw_body: &[u8], shared: &Shared) -> Result<(), S3Error> {
    if !req.headers().contains_key("authorization") {
        if matches!(*req.method(), Method::GET | Method::HEAD) {
            return Ok(());
        }
        return Err(S3Error::new(403, "AccessDenied", "Access Denied"));
    }
    let (access_key, secret) = shared.s3.credentials();
    sigv4::verify_actix(req, raw_body, access_key, secret)
        .map(|_| ())
        .map_err(|e| {
            let (status, code) = match e.code {
                "UnrecognizedClientException" => (403, "InvalidAccessKeyId"),
                "InvalidSignatureException" => (403, "SignatureDoesNotMatch"),
                "IncompleteSignatureException" => (400, "AuthorizationHeaderMalformed"),
                "XAmzContentSHA256Mismatch" => (400, "XAmzContentSHA256Mismatch"),
                _ => (403, "AccessDenied"),
            };
            S3Error::new(status, code, e.message)
        })
}

fn method_not_allowed() -> S3Error {
    S3Error::new(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
    )
}

fn is_multipart(req: &HttpRequest) -> bool {
    wire::header(req, "content-type")
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn ok(status: StatusCode, req: &HttpRequest) -> actix_web::HttpResponseBuilder {
    wire::base_response(status, req, &wire::request_id())
}

/// A 200 answer carrying an XML document.
fn xml_response<T: serde::Serialize>(
    req: &HttpRequest,
    document: &T,
) -> Result<HttpResponse, S3Error> {
    Ok(ok(StatusCode::OK, req)
        .content_type("application/xml")
        .body(xml::render(document)?))
}

/// CORS preflight: S3 answers for any origin here (the upstream bucket allows the SPA's origins).
fn preflight(req: &HttpRequest) -> HttpResponse {
    let headers = wire::header(req, "access-control-request-headers")
        .unwrap_or("*")
        .to_owned();
    ok(StatusCode::OK, req)
        .insert_header((
            "Access-Control-Allow-Methods",
            "GET, PUT, POST, DELETE, HEAD",
        ))
        .insert_header(("Access-Control-Allow-Headers", headers))
        .insert_header(("Access-Control-Max-Age", "3000"))
        .finish()
}

async fn read_body(mut payload: web::Payload) -> Result<Bytes, S3Error> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| S3Error::new(400, "IncompleteBody", e.to_string()))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(S3Error::new(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            )
            .with("MaxSizeAllowed", MAX_BODY.to_string()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Removes the aws-chunked framing of streaming uploads (docs/wire-protocols.md §11.5).
fn decode_body(req: &HttpRequest, body: Bytes) -> Result<Bytes, S3Error> {
    let header = |name: &str| wire::header(req, name).unwrap_or_default();
    let chunked = header("content-encoding").contains("aws-chunked")
        || header("x-amz-content-sha256").starts_with("STREAMING-");
    if chunked {
        return wire::decode_aws_chunked(&body).map(Bytes::from);
    }
    Ok(body)
}

fn put_bucket(
    req: &HttpRequest,
    body: &[u8],
    shared: &Shared,
    bucket: &str,
    query: &Query,
) -> Result<HttpResponse, S3Error> {
    if query.has("versioning") {
        if !shared.s3.bucket_exists(bucket) {
            return Err(S3Error::no_such_bucket(bucket));
        }
        let config: xml::VersioningConfiguration = xml::parse(body, "VersioningConfiguration")?;
        // Every bucket here is versioned; the configuration is validated and acknowledged.
        return match config.status.as_deref() {
            Some("Enabled" | "Suspended") => Ok(ok(StatusCode::OK, req).finish()),
            _ => Err(S3Error::malformed_xml()),
        };
    }
    if let Some((sub, _)) = query.0.first() {
        return Err(S3Error::new(
            501,
            "NotImplemented",
            format!("The emulator does not implement PUT ?{sub}"),
        ));
    }
    if !body.iter().all(u8::is_ascii_whitespace) {
        let _: xml::CreateBucketConfiguration = xml::parse(body, "CreateBucketConfiguration")?;
    }
    if !valid_bucket_name(bucket) {
        return Err(S3Error::new(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        )
        .with("BucketName", bucket));
    }
    if !shared.s3.create_bucket(bucket) && shared.config.region != "us-east-1" {
        return Err(S3Error::new(
            409,
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
        )
        .with("BucketName", bucket));
    }
    Ok(ok(StatusCode::OK, req)
        .insert_header(("Location", format!("/{bucket}")))
        .finish())
}

fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

fn head_bucket(req: &HttpRequest, shared: &Shared, bucket: &str) -> Result<HttpResponse, S3Error> {
    let region = shared
        .s3
        .bucket_region(bucket)
        .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
    Ok(ok(StatusCode::OK, req)
        .insert_header(("x-amz-bucket-region", region))
        .finish())
}

fn get_bucket(
    req: &HttpRequest,
    shared: &Shared,
    bucket: &str,
    query: &Query,
) -> Result<HttpResponse, S3Error> {
    let region = shared
        .s3
        .bucket_region(bucket)
        .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
    if query.has("location") {
        let region = if region == "us-east-1" {
            String::new()
        } else {
            region
        };
        return xml_response(
            req,
            &xml::LocationConstraint {
                xmlns: XMLNS,
                region,
            },
        );
    }
    if query.has("versioning") {
        return xml_response(
            req,
            &xml::VersioningStatus {
                xmlns: XMLNS,
                status: "Enabled",
            },
        );
    }
    if let Some((sub, _)) = query
        .0
        .iter()
        .find(|(n, v)| v.is_empty() && n != "list-type" && n != "prefix" && n != "delimiter")
    {
        return Err(S3Error::new(
            501,
            "NotImplemented",
            format!("The emulator does not implement GET ?{sub}"),
        ));
    }
    list_objects(req, shared, bucket, query)
}

/// ListObjectsV2 (`list-type=2`) and, without it, ListObjects (v1, `marker`).
fn list_objects(
    req: &HttpRequest,
    shared: &Shared,
    bucket: &str,
    query: &Query,
) -> Result<HttpResponse, S3Error> {
    let request = ListRequest::parse(query)?;
    let all = shared
        .s3
        .list_objects(bucket, request.prefix, request.marker.as_deref())?;
    let page = ListPage::collect(&all, &request);
    xml_response(req, &page.document(bucket, &request))
}

/// The parameters of a listing.
struct ListRequest<'q> {
    v2: bool,
    prefix: &'q str,
    delimiter: Option<&'q str>,
    max_keys: usize,
    url_encoding: bool,
    token: Option<&'q str>,
    start_after: Option<&'q str>,
    /// Where the listing resumes: the decoded continuation token, else `start-after` (v2), or
    /// `marker` (v1).
    marker: Option<String>,
}

impl<'q> ListRequest<'q> {
    fn parse(query: &'q Query) -> Result<Self, S3Error> {
        let v2 = query.get("list-type") == Some("2");
        let max_keys = match query.get("max-keys") {
            Some(m) => m
                .parse::<usize>()
                .map_err(|_| {
                    S3Error::invalid_argument(
                        "Provided max-keys not an integer or within integer range",
                    )
                })?
                .min(1000),
            None => 1000,
        };
        let token = query.get("continuation-token");
        let start_after = query.get("start-after");
        let marker = match (v2, token) {
            (true, Some(t)) => Some(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        S3Error::invalid_argument("The continuation token provided is incorrect")
                    })?,
            ),
            (true, None) => start_after.map(str::to_owned),
            (false, _) => query.get("marker").map(str::to_owned),
        };
        Ok(Self {
            v2,
            prefix: query.get("prefix").unwrap_or_default(),
            delimiter: query.get("delimiter").filter(|d| !d.is_empty()),
            max_keys,
            url_encoding: query.get("encoding-type") == Some("url"),
            token,
            start_after,
            marker,
        })
    }

    /// A key or prefix as the response carries it (URL-encoded with `encoding-type=url`).
    fn encode(&self, s: &str) -> String {
        if self.url_encoding {
            wire::percent_encode(s, true)
        } else {
            s.to_owned()
        }
    }

    /// The common prefix `key` rolls up into, with a delimiter.
    fn common_prefix(&self, key: &str) -> Option<String> {
        let d = self.delimiter?;
        let rest = key.get(self.prefix.len()..)?;
        rest.find(d).map(|i| {
            format!(
                "{}{}",
                self.prefix,
                rest.get(..i + d.len()).unwrap_or_default()
            )
        })
    }
}

/// One page of a listing: objects and common prefixes, together at most `max-keys`.
struct ListPage<'a> {
    contents: Vec<&'a Listed>,
    prefixes: Vec<String>,
    /// The last key or prefix on the page, where the next page starts.
    last: Option<String>,
    truncated: bool,
}

impl<'a> ListPage<'a> {
    fn collect(all: &'a [Listed], request: &ListRequest<'_>) -> Self {
        let mut page = ListPage {
            contents: Vec::new(),
            prefixes: Vec::new(),
            last: None,
            truncated: false,
        };
        for item in all {
            // Resuming after a common prefix skips everything under it.
            if let (Some(m), Some(d)) = (&request.marker, request.delimiter) {
                if m.ends_with(d) && item.key.starts_with(m.as_str()) {
                    continue;
                }
            }
            let common = request.common_prefix(&item.key);
            if common.is_some() && page.prefixes.last() == common.as_ref() {
                continue;
            }
            if page.contents.len() + page.prefixes.len() >= request.max_keys {
                page.truncated = true;
                break;
            }
            match common {
                Some(cp) => {
                    page.last = Some(cp.clone());
                    page.prefixes.push(cp);
                }
                None => {
                    page.last = Some(item.key.clone());
                    page.contents.push(item);
                }
            }
        }
        page
    }

    fn document(self, bucket: &str, request: &ListRequest<'_>) -> xml::ListBucketResult {
        let next = self.last.as_deref().filter(|_| self.truncated);
        xml::ListBucketResult {
            xmlns: XMLNS,
            name: bucket.to_owned(),
            prefix: request.encode(request.prefix),
            key_count: request
                .v2
                .then(|| self.contents.len() + self.prefixes.len()),
            continuation_token: request.token.filter(|_| request.v2).map(str::to_owned),
            start_after: request
                .start_after
                .filter(|_| request.v2)
                .map(|s| request.encode(s)),
            marker: (!request.v2)
                .then(|| request.encode(request.marker.as_deref().unwrap_or_default())),
            max_keys: request.max_keys,
            delimiter: request.delimiter.map(|d| request.encode(d)),
            encoding_type: request.url_encoding.then_some("url"),
            is_truncated: self.truncated,
            next_continuation_token: next
                .filter(|_| request.v2)
                .map(|l| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(l)),
            next_marker: next.filter(|_| !request.v2).map(|l| request.encode(l)),
            contents: self
                .contents
                .into_iter()
                .map(|item| xml::ListedObject {
                    key: request.encode(&item.key),
                    last_modified: iso_millis(item.version.last_modified),
                    etag: format!("\"{}\"", item.version.etag),
                    size: item.version.size,
                    storage_class: "STANDARD",
                })
                .collect(),
            common_prefixes: self
                .prefixes
                .into_iter()
                .map(|p| xml::CommonPrefix {
                    prefix: request.encode(&p),
                })
                .collect(),
        }
    }
}

fn iso_millis(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

fn delete_objects(
    req: &HttpRequest,
    body: &[u8],
    shared: &Shared,
    bucket: &str,
) -> Result<HttpResponse, S3Error> {
    let delete: xml::Delete = xml::parse(body, "Delete")?;
    if !shared.s3.bucket_exists(bucket) {
        return Err(S3Error::no_such_bucket(bucket));
    }
    if delete.objects.len() > 1000 {
        return Err(S3Error::malformed_xml());
    }
    let quiet = delete.is_quiet();
    let mut entries = Vec::new();
    for object in delete.objects {
        let version = object.version_id;
        match shared
            .s3
            .delete_object(bucket, &object.key, version.as_deref())
        {
            Ok(deleted) if !quiet => {
                let (delete_marker, delete_marker_version_id) = match (&version, deleted.version_id)
                {
                    (Some(_), _) => (deleted.delete_marker.then_some(true), None),
                    (None, Some(marker)) => (Some(true), Some(marker)),
                    (None, None) => (None, None),
                };
                entries.push(xml::DeleteEntry::Deleted(xml::DeletedObject {
                    key: object.key,
                    version_id: version,
                    delete_marker,
                    delete_marker_version_id,
                }));
            }
            Ok(_) => {}
            Err(e) => entries.push(xml::DeleteEntry::Error(xml::DeleteError {
                key: object.key,
                code: e.code,
                message: e.message,
            })),
        }
    }
    xml_response(
        req,
        &xml::DeleteResult {
            xmlns: XMLNS,
            entries,
        },
    )
}

fn put_object(
    req: &HttpRequest,
    body: Bytes,
    shared: &Shared,
    bucket: &str,
    key: &str,
) -> Result<HttpResponse, S3Error> {
    if req.headers().contains_key("x-amz-copy-source") {
        return Err(S3Error::new(
            501,
            "NotImplemented",
            "The emulator does not implement CopyObject",
        ));
    }
    if wire::header(req, "if-none-match") == Some("*")
        && shared.s3.get_object(bucket, key, None).is_ok()
    {
        return Err(S3Error::new(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        )
        .with("Condition", "If-None-Match"));
    }
    let mut metadata = BTreeMap::new();
    for (name, value) in req.headers() {
        if let (Some(meta), Ok(v)) = (name.as_str().strip_prefix("x-amz-meta-"), value.to_str()) {
            metadata.insert(meta.to_owned(), v.to_owned());
        }
    }
    let content_type = wire::header(req, "content-type").map(str::to_owned);
    let version = shared.s3.put_object(
        bucket,
        key,
        NewObject {
            content_type,
            metadata,
            body,
        },
        CreatedBy::Put,
    )?;
    Ok(ok(StatusCode::OK, req)
        .insert_header(("ETag", format!("\"{}\"", version.etag)))
        .insert_header(("x-amz-version-id", version.version_id))
        .insert_header(("x-amz-server-side-encryption", "AES256"))
        .finish())
}

fn get_object(
    req: &HttpRequest,
    shared: &Shared,
    bucket: &str,
    key: &str,
    query: &Query,
) -> Result<HttpResponse, S3Error> {
    let object = shared.s3.get_object(bucket, key, query.get("versionId"))?;
    let v = &object.version;
    let etag = format!("\"{}\"", v.etag);
    let modified: SystemTime = v.last_modified.into();
    let header = |name: &str| req.headers().get(name).and_then(|h| h.to_str().ok());
    let mut builder = ok(StatusCode::OK, req);
    builder
        .insert_header(("ETag", etag.clone()))
        .insert_header(LastModified(HttpDate::from(modified)))
        .insert_header(("Accept-Ranges", "bytes"))
        .insert_header(("x-amz-version-id", v.version_id.clone()))
        .insert_header(("x-amz-server-side-encryption", "AES256"))
        .insert_header((
            "Content-Type",
            query
                .get("response-content-type")
                .unwrap_or(&v.content_type)
                .to_owned(),
        ));
    for (param, name) in [
        ("response-cache-control", "Cache-Control"),
        ("response-content-disposition", "Content-Disposition"),
        ("response-content-encoding", "Content-Encoding"),
        ("response-content-language", "Content-Language"),
        ("response-expires", "Expires"),
    ] {
        if let Some(value) = query.get(param) {
            builder.insert_header((name, value.to_owned()));
        }
    }
    for (name, value) in &v.metadata {
        builder.insert_header((format!("x-amz-meta-{name}"), value.clone()));
    }
    if let Some(expected) = header("if-match") {
        if !etag_matches(expected, &v.etag) {
            return Err(S3Error::new(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
            .with("Condition", "If-Match"));
        }
    }
    if header("if-none-match").is_some_and(|h| etag_matches(h, &v.etag)) {
        return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    let size = object.body.len();
    if let Some(range) = header("range") {
        let (start, end) = parse_range(range, size).ok_or_else(|| {
            S3Error::new(
                416,
                "InvalidRange",
                "The requested range is not satisfiable",
            )
            .with("RangeRequested", range)
            .with("ActualObjectSize", size.to_string())
        })?;
        builder
            .status(StatusCode::PARTIAL_CONTENT)
            .insert_header(("Content-Range", format!("bytes {start}-{end}/{size}")));
        return Ok(builder.body(object.body.slice(start..=end)));
    }
    Ok(builder.body(object.body))
}

fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').any(|t| {
        let t = t.trim().trim_start_matches("W/");
        t == "*" || t.trim_matches('"') == etag
    })
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive byte bounds within `size`.
fn parse_range(range: &str, size: usize) -> Option<(usize, usize)> {
    let spec = range.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let last = size.checked_sub(1)?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => (size.saturating_sub(n.parse().ok()?), last),
        (a, "") => (a.parse().ok()?, last),
        (a, b) => (a.parse().ok()?, b.parse::<usize>().ok()?.min(last)),
    };
    (start <= end && start < size).then_some((start, end))
}

fn delete_object(
    req: &HttpRequest,
    shared: &Shared,
    bucket: &str,
    key: &str,
    query: &Query,
) -> Result<HttpResponse, S3Error> {
    let deleted = shared
        .s3
        .delete_object(bucket, key, query.get("versionId"))?;
    let mut builder = ok(StatusCode::NO_CONTENT, req);
    if let Some(v) = deleted.version_id {
        builder.insert_header(("x-amz-version-id", v));
    }
    if deleted.delete_marker {
        builder.insert_header(("x-amz-delete-marker", "true"));
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-1", 10), Some((0, 1)));
        assert_eq!(parse_range("bytes=5-", 10), Some((5, 9)));
        assert_eq!(parse_range("bytes=-3", 10), Some((7, 9)));
        assert_eq!(parse_range("bytes=2-100", 10), Some((2, 9)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=0-0", 0), None);
    }

    #[test]
    fn bucket_names() {
        assert!(valid_bucket_name("channel-assets"));
        assert!(!valid_bucket_name("Upper"));
        assert!(!valid_bucket_name("ab"));
    }
}
