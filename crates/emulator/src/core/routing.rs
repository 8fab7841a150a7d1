//! Guards that route a request to the emulated service it is meant for (`docs/wire-protocols.md` §0.1).

use std::marker::PhantomData;

use actix_web::guard::{Guard, GuardContext};
use serde::de::DeserializeOwned;

use crate::core::json;

/// Matches awsJson requests whose `X-Amz-Target` starts with `prefix` (e.g. `secretsmanager.`).
pub struct TargetPrefix(pub &'static str);

impl Guard for TargetPrefix {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        header(ctx, "x-amz-target").is_some_and(|v| v.starts_with(self.0))
    }
}

/// The route of an awsJson service: `POST /` with an `X-Amz-Target` starting with `prefix`.
pub fn target_route(prefix: &'static str) -> actix_web::Route {
    actix_web::web::post().guard(TargetPrefix(prefix))
}

/// A request header as text (absent when missing or not visible ASCII).
fn header<'c>(ctx: &'c GuardContext<'_>, name: &str) -> Option<&'c str> {
    ctx.head().headers().get(name).and_then(|v| v.to_str().ok())
}

/// The operation the last segment of `path` names (`/CreateRoom`, `/catalog/v1/searchItems`), for
/// protocols that put the operation in the path; `T` is the service's operation enum.
pub fn path_operation<T: DeserializeOwned>(path: &str) -> Option<T> {
    json::operation(path.rsplit('/').next()?)
}

/// Matches requests whose path names an operation of `T` (see [`path_operation`]), so a route
/// like `/{operation}` takes only its own service's operations and other paths fall through.
pub struct PathOperation<T>(PhantomData<fn() -> T>);

impl<T> PathOperation<T> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for PathOperation<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DeserializeOwned> Guard for PathOperation<T> {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        path_operation::<T>(ctx.head().uri.path()).is_some()
    }
}

/// Matches SigV4-signed requests whose credential scope names `service` (e.g. `ivschat`).
pub struct SigningService(pub &'static str);

impl Guard for SigningService {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        header(ctx, "authorization")
            .and_then(signing_service)
            .is_some_and(|s| s == self.0)
    }
}

/// The service name of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ivs/aws4_request, ...` → `ivs`.
pub fn signing_service(authorization: &str) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    scope.split('/').nth(3)
}

/// The `X-Amz-Target` operation name after the service prefix, if the request has one.
pub fn target_operation<'a>(req: &'a actix_web::HttpRequest, prefix: &str) -> Option<&'a str> {
    req.headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_service_reads_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/ivschat/aws4_request, SignedHeaders=host, Signature=ab";
        assert_eq!(signing_service(h), Some("ivschat"));
        assert_eq!(signing_service("Bearer x"), None);
    }
}
