//! Throttles and retries of the AWS SDK clients, for [`crate::metrics`].
//!
//! [`http_client`] is the SDK's default HTTPS client (rustls with aws-lc, as aws-config builds it),
//! one per thread (see [`PerThread`]), wrapped so that every attempt is seen on the wire; a service passes it to
//! `aws_config::defaults(...).http_client(...)`, and every client built from that `SdkConfig`
//! reports. The AWS service comes from the SigV4 credential scope (`.../<region>/<service>/aws4_request`),
//! so it is right against the emulator too.
//! - a retry: the SDK's `amz-sdk-request: attempt=N; max=M` header with `N > 1`;
//! - a throttle: HTTP 429, or an `x-amzn-ErrorType` naming throttling (the REST-JSON services
//!   such as IVS send it). Throttles a protocol reports only in the body (DynamoDB's
//!   `ProvisionedThroughputExceededException`) show as retries here, and in DynamoDB's own
//!   `ThrottledRequests` metric on the dashboard.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The SDK configuration every service builds its AWS clients from: the default provider chain
/// (region, credentials and endpoint from the environment) over [`http_client`].
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// The default SDK HTTPS client, one connection pool per thread, counting throttles and retries.
pub fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(Counting {
        inner: SharedHttpClient::new(PerThread {
            id: NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed),
        }),
    })
}

fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https()
}

static NEXT_CLIENT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's client of every [`PerThread`] used on it, by id (one or two per process).
    static THREAD_CLIENTS: RefCell<Vec<(u64, SharedHttpClient)>> = const { RefCell::new(Vec::new()) };
}

/// The default client with one connection pool per thread. Each actix worker is a single-threaded
/// runtime; hyper drives a connection from a task on the runtime that opened it, so with one shared
/// pool a call made on one worker was written and read by another thread (the one whose pool entry
/// it got), costing two cross-thread wake-ups per call. With a pool per thread, a call is sent and
/// answered on the thread that makes it. Connections: (threads making calls) × (their concurrency).
#[derive(Debug)]
struct PerThread {
    id: u64,
}

impl HttpClient for PerThread {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let client = THREAD_CLIENTS.with(|clients| {
            let mut clients = clients.borrow_mut();
            if let Some((_, client)) = clients.iter().find(|(id, _)| *id == self.id) {
                return client.clone();
            }
            let client = default_https_client();
            clients.push((self.id, client.clone()));
            client
        });
        client.http_connector(settings, components)
    }
}

#[derive(Debug)]
struct Counting {
    inner: SharedHttpClient,
}

impl HttpClient for Counting {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let headers = request.headers();
        let service = headers
            .get("authorization")
            .and_then(signing_service)
            .unwrap_or("unknown")
            .to_owned();
        if headers
            .get("amz-sdk-request")
            .and_then(attempt)
            .is_some_and(|n| n > 1)
        {
            crate::metrics::aws_retry(&service);
        }
        let call = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let response = call.await?;
            let throttled = response.status().as_u16() == 429
                || response
                    .headers()
                    .get("x-amzn-errortype")
                    .is_some_and(is_throttling);
            if throttled {
                crate::metrics::aws_throttle(&service);
            }
            Ok(response)
        })
    }
}

/// `dynamodb` from `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, ...`.
fn signing_service(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let mut parts = scope.rsplit('/');
    let terminator = parts.next()?;
    (terminator == "aws4_request").then_some(())?;
    parts.next()
}

/// `2` from `attempt=2; max=3`.
fn attempt(value: &str) -> Option<u32> {
    value
        .split(';')
        .find_map(|part| part.trim().strip_prefix("attempt="))
        .and_then(|n| n.parse().ok())
}

fn is_throttling(error_type: &str) -> bool {
    let name = error_type.split(':').next().unwrap_or(error_type);
    [
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
    ]
    .contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_signing_service_the_attempt_and_throttling_names() {
        let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(signing_service(auth), Some("dynamodb"));
        assert_eq!(signing_service("Bearer x"), None);
        assert_eq!(attempt("attempt=2; max=3"), Some(2));
        assert_eq!(attempt("ttl=1; attempt=1; max=3"), Some(1));
        assert_eq!(attempt("max=3"), None);
        assert!(is_throttling(
            "ThrottlingException:http://internal.amazon.com/"
        ));
        assert!(is_throttling("TooManyRequestsException"));
        assert!(!is_throttling("ResourceNotFoundException"));
    }
}
