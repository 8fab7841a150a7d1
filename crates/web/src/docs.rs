//! The service describes itself: its OpenAPI document at [`OPENAPI_PATH`] and an interactive page
//! (Swagger UI) at [`DOCS_PATH`]`/`.
//!
//! The page's assets are compiled into the binary: `utoipa-swagger-ui` with its `vendored` feature
//! takes Swagger UI from the `utoipa-swagger-ui-vendored` crate (a registry package that ships the
//! release archive inside the crate, so nothing is downloaded at build time), and `debug-embed`
//! embeds them in debug builds too. Nothing is fetched from a CDN at run time, and the online
//! validator is switched off, so the page works with no network.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::{self, ServiceConfig};
use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::Modify;
use utoipa_swagger_ui::Config;

use crate::error::ApiError;
use crate::routing::JSON_CONTENT_TYPE;

pub const OPENAPI_PATH: &str = "/openapi.json";
pub const DOCS_PATH: &str = "/docs";

/// Declares a security scheme `name` that sends a key in the request header `header`.
pub fn add_header_scheme(
    openapi: &mut utoipa::openapi::OpenApi,
    name: &str,
    header: &str,
    description: &str,
) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        name,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            header,
            description,
        ))),
    );
}

/// The `accessToken` security scheme of the routes that take a Cognito access token, as a
/// `modifiers(&AccessToken)` of a service's `#[openapi]`.
pub struct AccessToken;

impl Modify for AccessToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        add_header_scheme(
            openapi,
            "accessToken",
            "Authorization",
            "A Cognito access token, raw or as `Bearer <token>`",
        );
    }
}

/// A document as checked in under `openapi/`: pretty JSON with a final newline.
pub fn checked_in(doc: &utoipa::openapi::OpenApi) -> String {
    let mut json = doc
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}

/// The document and the page's configuration; cheap to clone.
#[derive(Clone)]
pub struct ApiDocs {
    json: web::Bytes,
    config: Arc<Config<'static>>,
}

impl std::fmt::Debug for ApiDocs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiDocs")
            .field("bytes", &self.json.len())
            .finish()
    }
}

impl ApiDocs {
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        let json = serde_json::to_vec(doc)
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
        let config = Config::new([OPENAPI_PATH])
            .validator_url("none")
            .try_it_out_enabled(true);
        Self {
            json: web::Bytes::from(json),
            config: Arc::new(config),
        }
    }

    /// Registers `GET /openapi.json`, `GET /docs` (a redirect to `/docs/`) and `GET /docs/...`.
    pub fn configure(&self) -> impl Fn(&mut ServiceConfig) + Clone + Send + 'static {
        let docs = self.clone();
        move |cfg: &mut ServiceConfig| {
            cfg.app_data(web::Data::new(docs.clone()))
                .route(OPENAPI_PATH, web::get().to(openapi_json))
                .route(DOCS_PATH, web::get().to(docs_redirect))
                .route("/docs/{file:.*}", web::get().to(docs_file));
        }
    }
}

async fn openapi_json(docs: web::Data<ApiDocs>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(JSON_CONTENT_TYPE)
        .body(docs.json.clone())
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

async fn docs_file(
    docs: web::Data<ApiDocs>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let file = file.into_inner();
    match utoipa_swagger_ui::serve(&file, Arc::clone(&docs.config)) {
        Ok(Some(found)) => {
            let content_type = if found.content_type.starts_with("text/")
                || found.content_type == "application/javascript"
            {
                format!("{}; charset=utf-8", found.content_type)
            } else {
                found.content_type
            };
            Ok(HttpResponse::Ok()
                .content_type(content_type)
                .body(found.bytes.into_owned()))
        }
        Ok(None) => Err(ApiError::not_found()),
        Err(e) => Err(ApiError::unexpected().with_detail(e)),
    }
}
