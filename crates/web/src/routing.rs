//! Routing rules shared by every service (docs/contract.md §2.1, §2.4, §2.6).
//!
//! - Every GET route also answers HEAD: [`normalize`] routes HEAD as GET; actix-http then sends
//!   the headers without the body.
//! - A path segment longer than [`MAX_SEGMENT_LEN`] characters (measured URL-decoded) matches no
//!   route: 404, as upstream's `maxParamLength = 200`.
//! - JSON responses say `application/json; charset=utf-8`, as upstream's do: [`normalize`]
//!   rewrites the bare `application/json` that actix's `HttpResponse::json` sets.
//! - Path parameters are 1–[`MAX_PARAM_LEN`] characters: [`check_param`] answers upstream's 400.

use std::borrow::Cow;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

use crate::error::ApiError;

pub const MAX_SEGMENT_LEN: usize = 200;

/// The pattern a resource was registered with, in its app data (see [`resource`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoutePattern(pub &'static str);

/// `web::resource(pattern)` that carries its pattern, so that request tracing and the request
/// metrics label a request with it without matching the path against the route table a second
/// time (a dynamic segment costs a regex match: a few percent of a cheap request's CPU).
pub fn resource(pattern: &'static str) -> actix_web::Resource {
    actix_web::web::resource(pattern).app_data(RoutePattern(pattern))
}

/// The route pattern of a request that has been routed: its resource's [`RoutePattern`], else
/// (a resource registered another way) the pattern found by matching the path against the route
/// table; `None` when no route matched.
pub fn route_pattern(req: &actix_web::HttpRequest) -> Option<Cow<'static, str>> {
    match req.app_data::<RoutePattern>() {
        Some(pattern) => Some(Cow::Borrowed(pattern.0)),
        None => req.match_pattern().map(Cow::Owned),
    }
}

/// The JSON content type upstream (Fastify) answers; a bare `application/json` is rewritten to it.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
pub const MAX_PARAM_LEN: usize = 100;

/// `GET`/`HEAD /status`: 200 `text/plain; charset=utf-8` `OK`.
pub async fn status() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("OK")
}

/// Checks a path parameter's length (1–100 characters), answering upstream's message
/// (`params/<name> must NOT have more than 100 characters`).
pub fn check_param(name: &str, value: &str) -> Result<(), ApiError> {
    let len = value.chars().count();
    if len < 1 {
        Err(ApiError::bad_request(format!(
            "params/{name} must NOT have fewer than 1 characters"
        )))
    } else if len > MAX_PARAM_LEN {
        Err(ApiError::bad_request(format!(
            "params/{name} must NOT have more than {MAX_PARAM_LEN} characters"
        )))
    } else {
        Ok(())
    }
}

/// The number of characters of a percent-encoded path segment once decoded.
fn decoded_len(segment: &str) -> usize {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .chars()
        .count()
}

fn has_overlong_segment(path: &str) -> bool {
    path.split('/')
        .any(|segment| segment.len() > MAX_SEGMENT_LEN && decoded_len(segment) > MAX_SEGMENT_LEN)
}

/// The routing middleware (see the module docs), for [`actix_web::middleware::from_fn`].
pub async fn normalize(
    mut req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse, actix_web::Error> {
    if has_overlong_segment(req.path()) {
        return Ok(req.into_response(ApiError::not_found().error_response()));
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json"))
    {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_lengths() {
        assert!(check_param("id", "a").is_ok());
        assert!(check_param("id", &"é".repeat(100)).is_ok());
        assert_eq!(
            check_param("streamSessionId", &"a".repeat(101))
                .unwrap_err()
                .message(),
            Some("params/streamSessionId must NOT have more than 100 characters")
        );
        assert_eq!(
            check_param("channelResourceId", "").unwrap_err().message(),
            Some("params/channelResourceId must NOT have fewer than 1 characters")
        );
    }

    #[test]
    fn overlong_segments_are_measured_decoded() {
        assert!(!has_overlong_segment(&format!(
            "/channels/{}",
            "a".repeat(200)
        )));
        assert!(has_overlong_segment(&format!(
            "/channels/{}",
            "a".repeat(201)
        )));
        // 210 encoded characters decoding to 70.
        assert!(!has_overlong_segment(&format!(
            "/channels/{}",
            "%41".repeat(70)
        )));
        assert!(has_overlong_segment(&format!(
            "/channels/{}",
            "%41".repeat(201)
        )));
    }
}
