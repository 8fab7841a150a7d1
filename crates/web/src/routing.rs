//! Routing rules shared by every service (docs/contract.md §2.1, §2.4, §2.6).
//!
//! - Every GET route also answers HEAD: [`Normalize`] routes HEAD as GET; actix-http then sends
//!   the headers without the body.
//! - A path segment longer than [`MAX_SEGMENT_LEN`] characters (measured URL-decoded) matches no
//!   route: 404, as upstream's `maxParamLength = 200`.
//! - Path parameters are 1–[`MAX_PARAM_LEN`] characters: [`check_param`] answers upstream's 400.

use std::future::{ready, Ready};
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::Method;
use actix_web::{HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::error::ApiError;

pub const MAX_SEGMENT_LEN: usize = 200;
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
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(decoded) = hex {
                out.push(decoded);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).chars().count()
}

fn has_overlong_segment(path: &str) -> bool {
    path.split('/')
        .any(|segment| segment.len() > MAX_SEGMENT_LEN && decoded_len(segment) > MAX_SEGMENT_LEN)
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Normalize;

impl<S, B> Transform<S, ServiceRequest> for Normalize
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = NormalizeMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(NormalizeMiddleware {
            service: Rc::new(service),
        }))
    }
}

pub struct NormalizeMiddleware<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for NormalizeMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if has_overlong_segment(req.path()) {
            let res = req.into_response(ApiError::not_found().error_response());
            return Box::pin(ready(Ok(res)));
        }
        if req.method() == Method::HEAD {
            req.head_mut().method = Method::GET;
        }
        let service = Rc::clone(&self.service);
        Box::pin(async move { Ok(service.call(req).await?.map_into_boxed_body()) })
    }
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
