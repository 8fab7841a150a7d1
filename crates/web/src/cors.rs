//! CORS as upstream's `@fastify/cors` 8.3 defaults answer it (docs/contract.md §2.5):
//!
//! - off (`ALLOWED_ORIGINS` unset or `[]`): no `Access-Control-Allow-Origin`; `OPTIONS` is 404.
//! - `"*"` anywhere in the list: `Access-Control-Allow-Origin: *` on every response.
//! - a list: the request `Origin` is echoed when it is in the list (exact match), else omitted;
//!   the response itself is served either way.
//!
//! Every response carries `Vary: Origin`. With CORS on, any `OPTIONS` with `Origin` and
//! `Access-Control-Request-Method` is a preflight answered 204 (allow-methods
//! `GET,HEAD,PUT,PATCH,POST,DELETE`, requested headers echoed); one missing either is 400
//! `Invalid Preflight Request`. No credentials, exposed headers or max-age.

use std::collections::HashSet;
use std::rc::Rc;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::error::ApiError;

pub const ALLOW_METHODS: &str = "GET,HEAD,PUT,PATCH,POST,DELETE";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsConfig {
    Disabled,
    AnyOrigin,
    Origins(HashSet<String>),
}

impl CorsConfig {
    /// From the parsed `ALLOWED_ORIGINS` array.
    pub fn from_origins(origins: &[String]) -> Self {
        if origins.is_empty() {
            Self::Disabled
        } else if origins.iter().any(|o| o == "*") {
            Self::AnyOrigin
        } else {
            Self::Origins(origins.iter().cloned().collect())
        }
    }

    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match self {
            Self::Disabled => None,
            Self::AnyOrigin => Some(HeaderValue::from_static("*")),
            Self::Origins(list) => {
                let origin = origin?;
                let text = origin.to_str().ok()?;
                list.contains(text).then(|| origin.clone())
            }
        }
    }
}

fn append_vary(headers: &mut HeaderMap, value: &'static str) {
    headers.append(header::VARY, HeaderValue::from_static(value));
}

/// The CORS middleware for `config`, for [`actix_web::App::wrap`]; see the module docs.
pub fn middleware(
    config: CorsConfig,
) -> impl Fn(ServiceRequest, Next<BoxBody>) -> LocalBoxFuture<'static, Result<ServiceResponse, Error>>
       + Clone
       + 'static {
    let config = Rc::new(config);
    move |req, next| Box::pin(cors(Rc::clone(&config), req, next))
}

async fn cors(
    config: Rc<CorsConfig>,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse, Error> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    if req.method() == Method::OPTIONS {
        let response = match *config {
            // Upstream registers no OPTIONS routes when CORS is off.
            CorsConfig::Disabled => {
                let mut res = ApiError::not_found().error_response();
                append_vary(res.headers_mut(), "Origin");
                res
            }
            _ => preflight(&config, &req, origin.as_ref()),
        };
        return Ok(req.into_response(response));
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if let Some(allow) = config.allow_origin(origin.as_ref()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    }
    append_vary(headers, "Origin");
    Ok(res)
}

fn preflight(
    config: &CorsConfig,
    req: &ServiceRequest,
    origin: Option<&HeaderValue>,
) -> HttpResponse {
    let request_method = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD);
    if origin.is_none() || request_method.is_none() {
        let mut res = HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("Invalid Preflight Request");
        append_vary(res.headers_mut(), "Origin");
        return res;
    }
    let mut res = HttpResponse::NoContent().finish();
    let headers = res.headers_mut();
    if let Some(allow) = config.allow_origin(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    append_vary(headers, "Origin, Access-Control-Request-Headers");
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_from_origins() {
        assert_eq!(CorsConfig::from_origins(&[]), CorsConfig::Disabled);
        let any = CorsConfig::from_origins(&["https://a.example".into(), "*".into()]);
        assert_eq!(any, CorsConfig::AnyOrigin);
        let list = CorsConfig::from_origins(&["https://a.example".into()]);
        let ok = HeaderValue::from_static("https://a.example");
        let other = HeaderValue::from_static("https://a.example.evil");
        assert_eq!(list.allow_origin(Some(&ok)), Some(ok.clone()));
        assert_eq!(list.allow_origin(Some(&other)), None);
        assert_eq!(list.allow_origin(None), None);
        assert_eq!(any.allow_origin(None), Some(HeaderValue::from_static("*")));
    }
}
