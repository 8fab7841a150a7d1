//! Amazon product search through the Amazon Creators API (OAuth 2.0 client credentials, SearchItems),
//! mapped onto the upstream `/products/:keywords` response items.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use ugc_domain::{Classify, Transience};

use crate::secrets::{SecretsClient, SecretsError};

#[derive(Debug, thiserror::Error)]
pub enum ProductsError {
    /// The credentials secret is incomplete or the configuration is unusable; the operator must act.
    #[error("product search is misconfigured: {0}")]
    Config(String),
    #[error("product search credentials unavailable: {0}")]
    Secret(#[from] SecretsError),
    /// The Creators API rejected our credentials or token (after one token refresh).
    #[error("Creators API rejected the credentials: {0}")]
    Unauthorized(String),
    #[error("Creators API throttled the request")]
    Throttled { retry_after: Option<Duration> },
    #[error("Creators API unavailable: {0}")]
    Unavailable(String),
    #[error("Creators API request failed: {0}")]
    Other(String),
}

impl Classify for ProductsError {
    fn transience(&self) -> Transience {
        match self {
            ProductsError::Throttled { retry_after } => Transience::Throttled {
                retry_after: *retry_after,
            },
            ProductsError::Unavailable(_) => Transience::Unavailable,
            ProductsError::Secret(secret) => secret.transience(),
            ProductsError::Config(_) | ProductsError::Unauthorized(_) | ProductsError::Other(_) => {
                Transience::Permanent
            }
        }
    }
}

/// A marketplace domain (`www.amazon.com`), the value of the `x-marketplace` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marketplace(String);

/// Upstream `PRODUCT_API_LOCALE` names (docs/contract.md §7) and their marketplaces.
const LOCALES: &[(&str, &str)] = &[
    ("Australia", "www.amazon.com.au"),
    ("Belgium", "www.amazon.com.be"),
    ("Brazil", "www.amazon.com.br"),
    ("Canada", "www.amazon.ca"),
    ("Egypt", "www.amazon.eg"),
    ("France", "www.amazon.fr"),
    ("Germany", "www.amazon.de"),
    ("India", "www.amazon.in"),
    ("Italy", "www.amazon.it"),
    ("Japan", "www.amazon.co.jp"),
    ("Mexico", "www.amazon.com.mx"),
    ("Netherlands", "www.amazon.nl"),
    ("Poland", "www.amazon.pl"),
    ("Singapore", "www.amazon.sg"),
    ("Saudi Arabia", "www.amazon.sa"),
    ("Spain", "www.amazon.es"),
    ("Sweden", "www.amazon.se"),
    ("Turkey", "www.amazon.com.tr"),
    ("United Arab Emirates", "www.amazon.ae"),
    ("United Kingdom", "www.amazon.co.uk"),
    ("United States", "www.amazon.com"),
];

impl Marketplace {
    pub fn new(domain: impl Into<String>) -> Self {
        Marketplace(domain.into())
    }

    /// The marketplace of an upstream locale name (exact, case-sensitive: `"United States"`, `"Japan"`).
    pub fn from_locale(locale: &str) -> Option<Self> {
        LOCALES
            .iter()
            .find(|(name, _)| *name == locale)
            .map(|(_, domain)| Marketplace::new(*domain))
    }

    /// As upstream: an empty or unknown locale means the United States (logged when unknown).
    pub fn from_locale_or_default(locale: &str) -> Self {
        Self::from_locale(locale).unwrap_or_else(|| {
            if !locale.is_empty() {
                tracing::warn!(locale, "unknown PRODUCT_API_LOCALE, using United States");
            }
            Marketplace::new("www.amazon.com")
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The Creators API credential as kept in Secrets Manager (`docs/wire-protocols.md` §13.8).
/// `clientId` / `clientSecret` are accepted as aliases of `credentialId` / `credentialSecret`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatorsCredentials {
    #[serde(alias = "clientId")]
    pub credential_id: String,
    #[serde(alias = "clientSecret")]
    pub credential_secret: String,
    /// `2.1`–`2.3` (Cognito) or `3.1`–`3.3` (Login with Amazon): picks token endpoint, scope,
    /// token-request encoding and `Authorization` format.
    pub version: String,
    pub partner_tag: String,
    /// The credential's marketplace; overrides the configured one when present.
    #[serde(default)]
    pub marketplace: Option<String>,
}

impl std::fmt::Debug for CreatorsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatorsCredentials")
            .field("credential_id", &self.credential_id)
            .field("version", &self.version)
            .field("partner_tag", &self.partner_tag)
            .field("marketplace", &self.marketplace)
            .finish_non_exhaustive()
    }
}

impl CreatorsCredentials {
    /// Parses and checks the secret's JSON; the error names the missing or empty field.
    pub fn from_json(value: serde_json::Value) -> Result<Self, ProductsError> {
        let credentials: CreatorsCredentials =
            serde_json::from_value(value).map_err(|err| {
                ProductsError::Config(format!(
                "the product search secret must hold credentialId, credentialSecret, version and \
                 partnerTag ({})",
                // serde names the missing field; the value is never quoted for missing fields.
                if err.is_data() { err.to_string() } else { "not an object".to_owned() }
            ))
            })?;
        for (name, value) in [
            ("credentialId", &credentials.credential_id),
            ("credentialSecret", &credentials.credential_secret),
            ("version", &credentials.version),
            ("partnerTag", &credentials.partner_tag),
        ] {
            if value.trim().is_empty() {
                return Err(ProductsError::Config(format!(
                    "fill in {name} in the product search secret"
                )));
            }
        }
        AuthFamily::of(&credentials.version)?;
        Ok(credentials)
    }
}

/// Where the client gets its credential: fixed, or a Secrets Manager secret (read through the
/// secrets cache, so a rotated secret is picked up within its TTL).
#[derive(Clone, Debug)]
pub enum CredentialsSource {
    Static(CreatorsCredentials),
    Secret {
        secrets: SecretsClient,
        secret_id: String,
    },
}

#[derive(Clone, Debug)]
pub struct ProductsConfig {
    /// `https://creatorsapi.amazon` in production.
    pub api_base_url: String,
    /// Overrides the token endpoint derived from the credential's version.
    pub token_url: Option<String>,
    pub marketplace: Marketplace,
    pub timeout: Duration,
}

impl ProductsConfig {
    pub const DEFAULT_API_BASE_URL: &'static str = "https://creatorsapi.amazon";

    pub fn new(marketplace: Marketplace) -> Self {
        ProductsConfig {
            api_base_url: Self::DEFAULT_API_BASE_URL.to_owned(),
            token_url: None,
            marketplace,
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthFamily {
    /// 2.x: Amazon Cognito token endpoint, form-encoded, `Bearer <token>, Version <v>`.
    Cognito,
    /// 3.x: Login with Amazon, JSON token request, plain `Bearer <token>`.
    LoginWithAmazon,
}

impl AuthFamily {
    fn of(version: &str) -> Result<Self, ProductsError> {
        match version.split('.').next() {
            Some("2") => Ok(AuthFamily::Cognito),
            Some("3") => Ok(AuthFamily::LoginWithAmazon),
            _ => Err(ProductsError::Config(format!(
                "unsupported Creators API credential version {version:?} (expected 2.x or 3.x)"
            ))),
        }
    }
}

fn default_token_url(version: &str) -> Option<&'static str> {
    Some(match version {
        "2.1" => "https://creatorsapi.auth.us-east-1.amazoncognito.com/oauth2/token",
        "2.2" => "https://creatorsapi.auth.eu-south-2.amazoncognito.com/oauth2/token",
        "2.3" => "https://creatorsapi.auth.us-west-2.amazoncognito.com/oauth2/token",
        "3.1" => "https://api.amazon.com/auth/o2/token",
        "3.2" => "https://api.amazon.co.uk/auth/o2/token",
        "3.3" => "https://api.amazon.co.jp/auth/o2/token",
        _ => return None,
    })
}

/// One search: the route's path parameter and query string, plus the caller's tracking id.
#[derive(Clone, Debug, Default)]
pub struct ProductQuery<'a> {
    pub keywords: &'a str,
    /// `Relevance`, `NewestArrivals`, `Price:LowToHigh`, `Price:HighToLow`, `Featured`, ...
    pub sort: Option<&'a str>,
    pub page: Option<u32>,
    /// e.g. `en_US`.
    pub language: Option<&'a str>,
    /// Replaces the `tag=` value of each product URL when non-empty.
    pub tracking_id: Option<&'a str>,
}

/// Search results in the upstream response shape; the route adds `keyword`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchResult {
    #[serde(rename = "searchCount")]
    pub total_count: Option<u64>,
    pub items: Vec<ProductItem>,
}

/// One product as the SPA reads it; every leaf is `null` when the Creators API had no value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductItem {
    pub images: ProductImages,
    #[serde(rename = "merchantInfo")]
    pub merchant_info: Option<String>,
    pub price: ProductPrice,
    #[serde(rename = "productURL")]
    pub product_url: Option<String>,
    pub title: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductImages {
    pub large: ImageUrl,
    pub medium: ImageUrl,
    pub small: ImageUrl,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageUrl {
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductPrice {
    #[serde(rename = "displayAmount")]
    pub display_amount: Option<String>,
}

struct CachedToken {
    credential_id: String,
    version: String,
    access_token: Arc<str>,
    refresh_at: Instant,
}

/// The SDKs refresh this long before `expires_in` runs out.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Assumed lifetime when the token response has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const ITEM_COUNT: u32 = 10;
const RESOURCES: &[&str] = &[
    "itemInfo.title",
    "images.primary.small",
    "images.primary.medium",
    "images.primary.large",
    "offersV2.listings.price",
    "offersV2.listings.merchantInfo",
];

/// Creators API client. Cloning shares the token cache.
#[derive(Clone)]
pub struct ProductsClient {
    http: reqwest::Client,
    config: Arc<ProductsConfig>,
    source: Arc<CredentialsSource>,
    /// Held across a token fetch, so concurrent callers wait for one refresh instead of each fetching.
    token: Arc<Mutex<Option<CachedToken>>>,
}

impl std::fmt::Debug for ProductsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductsClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

enum SearchFailure {
    TokenRejected(String),
    Failed(ProductsError),
}

impl ProductsClient {
    pub fn new(config: ProductsConfig, source: CredentialsSource) -> Result<Self, ProductsError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|err| ProductsError::Config(format!("HTTP client: {err}")))?;
        Ok(ProductsClient {
            http,
            config: Arc::new(config),
            source: Arc::new(source),
            token: Arc::default(),
        })
    }

    /// `SearchItems` (10 items per page), mapped to upstream items. No hits (404) is an empty result.
    pub async fn search_items(
        &self,
        query: &ProductQuery<'_>,
    ) -> Result<SearchResult, ProductsError> {
        let credentials = self.credentials().await?;
        let token = self.access_token(&credentials, None).await?;
        match self.send_search(&credentials, &token, query).await {
            Ok(result) => Ok(result),
            Err(SearchFailure::Failed(err)) => Err(err),
            Err(SearchFailure::TokenRejected(_)) => {
                // Expired or revoked early: fetch a new token once and retry.
                let token = self.access_token(&credentials, Some(&token)).await?;
                match self.send_search(&credentials, &token, query).await {
                    Ok(result) => Ok(result),
                    Err(SearchFailure::Failed(err)) => Err(err),
                    Err(SearchFailure::TokenRejected(reason)) => {
                        Err(ProductsError::Unauthorized(reason))
                    }
                }
            }
        }
    }

    async fn credentials(&self) -> Result<CreatorsCredentials, ProductsError> {
        match self.source.as_ref() {
            CredentialsSource::Static(credentials) => Ok(credentials.clone()),
            CredentialsSource::Secret { secrets, secret_id } => {
                CreatorsCredentials::from_json(secrets.get_json(secret_id).await?)
            }
        }
    }

    /// A cached token for these credentials, or a new one. `rejected` is a token the API refused: it
    /// is replaced unless another caller already replaced it.
    async fn access_token(
        &self,
        credentials: &CreatorsCredentials,
        rejected: Option<&str>,
    ) -> Result<Arc<str>, ProductsError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            let same_credential = token.credential_id == credentials.credential_id
                && token.version == credentials.version;
            let refused = rejected == Some(&*token.access_token);
            if same_credential && !refused && Instant::now() < token.refresh_at {
                return Ok(Arc::clone(&token.access_token));
            }
        }
        let (access_token, lifetime) = self.fetch_token(credentials).await?;
        let access_token: Arc<str> = access_token.into();
        *cached = Some(CachedToken {
            credential_id: credentials.credential_id.clone(),
            version: credentials.version.clone(),
            access_token: Arc::clone(&access_token),
            refresh_at: Instant::now()
                + lifetime.saturating_sub(TOKEN_REFRESH_MARGIN.min(lifetime / 2)),
        });
        Ok(access_token)
    }

    async fn fetch_token(
        &self,
        credentials: &CreatorsCredentials,
    ) -> Result<(String, Duration), ProductsError> {
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: String,
            expires_in: Option<u64>,
        }

        let family = AuthFamily::of(&credentials.version)?;
        let url = match &self.config.token_url {
            Some(url) => url.as_str(),
            None => default_token_url(&credentials.version).ok_or_else(|| {
                ProductsError::Config(format!(
                    "no token endpoint known for credential version {}",
                    credentials.version
                ))
            })?,
        };
        let request = self.http.post(url);
        let request = match family {
            AuthFamily::Cognito => request.form(&[
                ("grant_type", "client_credentials"),
                ("client_id", credentials.credential_id.as_str()),
                ("client_secret", credentials.credential_secret.as_str()),
                ("scope", "creatorsapi/default"),
            ]),
            AuthFamily::LoginWithAmazon => request.json(&serde_json::json!({
                "grant_type": "client_credentials",
                "client_id": credentials.credential_id,
                "client_secret": credentials.credential_secret,
                "scope": "creatorsapi::default",
            })),
        };
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after_header(&response);
            let body = response.text().await.unwrap_or_default();
            return Err(match status.as_u16() {
                400 | 401 | 403 => ProductsError::Unauthorized(format!(
                    "token request refused (HTTP {status}): {}",
                    oauth_error(&body)
                )),
                429 => ProductsError::Throttled { retry_after },
                500.. => {
                    ProductsError::Unavailable(format!("token endpoint answered HTTP {status}"))
                }
                _ => ProductsError::Other(format!("token endpoint answered HTTP {status}")),
            });
        }
        let token: TokenResponse = response
            .json()
            .await
            .map_err(|err| ProductsError::Other(format!("token response: {err}")))?;
        let lifetime = token
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        Ok((token.access_token, lifetime))
    }

    async fn send_search(
        &self,
        credentials: &CreatorsCredentials,
        token: &str,
        query: &ProductQuery<'_>,
    ) -> Result<SearchResult, SearchFailure> {
        let family = AuthFamily::of(&credentials.version).map_err(SearchFailure::Failed)?;
        let authorization = match family {
            AuthFamily::Cognito => format!("Bearer {token}, Version {}", credentials.version),
            AuthFamily::LoginWithAmazon => format!("Bearer {token}"),
        };
        let marketplace = credentials
            .marketplace
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or(self.config.marketplace.as_str());
        let body = search_body(credentials, marketplace, query);
        let url = format!(
            "{}/catalog/v1/searchItems",
            self.config.api_base_url.trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header("x-marketplace", marketplace)
            .json(&body)
            .send()
            .await
            .map_err(|err| SearchFailure::Failed(transport_error(err)))?;
        let status = response.status();
        if status.is_success() {
            let parsed: wire::SearchItemsResponse = response.json().await.map_err(|err| {
                SearchFailure::Failed(ProductsError::Other(format!("SearchItems response: {err}")))
            })?;
            return Ok(map_search_result(parsed, query.tracking_id));
        }
        search_refusal(response).await
    }
}

/// The `searchItems` request body.
fn search_body(
    credentials: &CreatorsCredentials,
    marketplace: &str,
    query: &ProductQuery<'_>,
) -> serde_json::Value {
    let mut body = serde_json::json!({
        "keywords": query.keywords,
        "partnerTag": credentials.partner_tag,
        "marketplace": marketplace,
        "itemCount": ITEM_COUNT,
        "resources": RESOURCES,
    });
    if let Some(object) = body.as_object_mut() {
        if let Some(page) = query.page {
            object.insert("itemPage".into(), page.into());
        }
        if let Some(sort) = query.sort.filter(|s| !s.is_empty()) {
            object.insert("sortBy".into(), sort.into());
        }
        if let Some(language) = query.language.filter(|l| !l.is_empty()) {
            object.insert(
                "languagesOfPreference".into(),
                serde_json::json!([language]),
            );
        }
    }
    body
}

/// What a non-2xx `searchItems` answer means: 404 is an empty result, 401 a token to renew, the
/// rest a failure.
async fn search_refusal(response: reqwest::Response) -> Result<SearchResult, SearchFailure> {
    let status = response.status();
    let header_retry_after = retry_after_header(&response);
    let error: wire::ApiError = response.json().await.unwrap_or_default();
    let describe = || {
        format!(
            "HTTP {status} {} {}: {}",
            error.kind.as_deref().unwrap_or("-"),
            error.reason.as_deref().unwrap_or("-"),
            error.message.as_deref().unwrap_or_default()
        )
    };
    Err(match status.as_u16() {
        404 => {
            return Ok(SearchResult {
                total_count: Some(0),
                items: Vec::new(),
            })
        }
        401 => SearchFailure::TokenRejected(describe()),
        403 => SearchFailure::Failed(ProductsError::Unauthorized(describe())),
        429 => SearchFailure::Failed(ProductsError::Throttled {
            retry_after: error
                .retry_after_seconds
                .map(Duration::from_secs)
                .or(header_retry_after),
        }),
        500.. => SearchFailure::Failed(ProductsError::Unavailable(describe())),
        _ => SearchFailure::Failed(ProductsError::Other(describe())),
    })
}

fn transport_error(err: reqwest::Error) -> ProductsError {
    ProductsError::Unavailable(format!("no response from the Creators API: {err}"))
}

fn retry_after_header(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// The OAuth `error` code of a token error body (never the body itself, which may echo input).
fn oauth_error(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown error".to_owned())
}

fn map_search_result(
    response: wire::SearchItemsResponse,
    tracking_id: Option<&str>,
) -> SearchResult {
    let Some(result) = response.search_result else {
        return SearchResult {
            total_count: None,
            items: Vec::new(),
        };
    };
    let tracking_id = tracking_id.filter(|t| !t.is_empty());
    let items = result
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|item| {
            let primary = item.images.and_then(|images| images.primary);
            let (large, medium, small) = match primary {
                Some(p) => (p.large, p.medium, p.small),
                None => (None, None, None),
            };
            let url = |image: Option<wire::Image>| ImageUrl {
                url: image.and_then(|i| i.url),
            };
            let listing = item
                .offers_v2
                .and_then(|offers| offers.listings)
                .and_then(|listings| listings.into_iter().next());
            let (display_amount, merchant) = match listing {
                Some(listing) => (
                    listing
                        .price
                        .and_then(|p| p.money)
                        .and_then(|m| m.display_amount),
                    listing.merchant_info.and_then(|m| m.name),
                ),
                None => (None, None),
            };
            ProductItem {
                images: ProductImages {
                    large: url(large),
                    medium: url(medium),
                    small: url(small),
                },
                merchant_info: merchant,
                price: ProductPrice { display_amount },
                product_url: item.detail_page_url.map(|detail| match tracking_id {
                    Some(tracking_id) => replace_tag(&detail, tracking_id),
                    None => detail,
                }),
                title: item
                    .item_info
                    .and_then(|info| info.title)
                    .and_then(|title| title.display_value),
            }
        })
        .collect();
    SearchResult {
        total_count: result.total_result_count,
        items,
    }
}

/// Replaces the value of the first `tag` query parameter; a URL without one is returned unchanged.
fn replace_tag(url: &str, tracking_id: &str) -> String {
    let Some(query_start) = url.find('?') else {
        return url.to_owned();
    };
    let (base, rest) = url.split_at(query_start + 1);
    let (query, fragment) = match rest.find('#') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let mut replaced = false;
    let params: Vec<String> = query
        .split('&')
        .map(|param| {
            if !replaced && (param == "tag" || param.starts_with("tag=")) {
                replaced = true;
                format!("tag={tracking_id}")
            } else {
                param.to_owned()
            }
        })
        .collect();
    format!("{base}{}{fragment}", params.join("&"))
}

/// The Creators API's JSON (lowerCamelCase; every level optional, `null` = absent).
mod wire {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct SearchItemsResponse {
        pub search_result: Option<SearchResult>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct SearchResult {
        pub total_result_count: Option<u64>,
        pub items: Option<Vec<Item>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Item {
        #[serde(rename = "detailPageURL")]
        pub detail_page_url: Option<String>,
        pub item_info: Option<ItemInfo>,
        pub images: Option<Images>,
        pub offers_v2: Option<Offers>,
    }

    #[derive(Deserialize)]
    pub(super) struct ItemInfo {
        pub title: Option<Title>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Title {
        pub display_value: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Images {
        pub primary: Option<Primary>,
    }

    #[derive(Deserialize)]
    pub(super) struct Primary {
        pub small: Option<Image>,
        pub medium: Option<Image>,
        pub large: Option<Image>,
    }

    #[derive(Deserialize)]
    pub(super) struct Image {
        pub url: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Offers {
        pub listings: Option<Vec<Listing>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Listing {
        pub price: Option<Price>,
        pub merchant_info: Option<MerchantInfo>,
    }

    #[derive(Deserialize)]
    pub(super) struct Price {
        pub money: Option<Money>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Money {
        pub display_amount: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct MerchantInfo {
        pub name: Option<String>,
    }

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct ApiError {
        #[serde(rename = "type")]
        pub kind: Option<String>,
        pub message: Option<String>,
        pub reason: Option<String>,
        pub retry_after_seconds: Option<u64>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_first_tag_value() {
        assert_eq!(
            replace_tag(
                "https://www.amazon.com/dp/B0BF422V1P?tag=123456061-20&linkCode=osi&th=1&psc=1",
                "vzln75J4knxa-20"
            ),
            "https://www.amazon.com/dp/B0BF422V1P?tag=vzln75J4knxa-20&linkCode=osi&th=1&psc=1"
        );
        assert_eq!(
            replace_tag("https://a/dp/X?linktag=a&tag=b&tag=c#top", "t"),
            "https://a/dp/X?linktag=a&tag=t&tag=c#top"
        );
        assert_eq!(replace_tag("https://a/dp/X", "t"), "https://a/dp/X");
    }

    #[test]
    fn locales_map_to_marketplaces() {
        assert_eq!(
            Marketplace::from_locale("Japan").unwrap().as_str(),
            "www.amazon.co.jp"
        );
        assert_eq!(
            Marketplace::from_locale_or_default("").as_str(),
            "www.amazon.com"
        );
        assert_eq!(
            Marketplace::from_locale_or_default("Kanada").as_str(),
            "www.amazon.com"
        );
        assert_eq!(Marketplace::from_locale("united states"), None);
    }

    #[test]
    fn maps_upstream_fixture_exactly() {
        let response: wire::SearchItemsResponse = serde_json::from_value(serde_json::json!({
            "searchResult": {"totalResultCount": 312, "items": [{
                "asin": "B0BF422V1P",
                "detailPageURL": "https://www.amazon.com/dp/B0BF422V1P?tag=123456061-20&linkCode=osi&th=1&psc=1",
                "itemInfo": {"title": {"displayValue": "Custom T-Shirts - Athletic Grey - 180pcs"}},
                "images": {"primary": {
                    "large": {"url": "https://m.media-amazon.com/images/I/41KsiGHKA-L._SL500_.jpg", "height": 500, "width": 500},
                    "medium": {"url": "https://m.media-amazon.com/images/I/41KsiGHKA-L._SL160_.jpg"},
                    "small": {"url": "https://m.media-amazon.com/images/I/41KsiGHKA-L._SL75_.jpg"}}},
                "offersV2": {"listings": [{"merchantInfo": {"name": "Custom Apparel House"},
                    "price": {"money": {"amount": 2740.0, "currency": "USD", "displayAmount": "$2,740.00"}}}]}
            }]}
        }))
        .unwrap();
        let result = map_search_result(response, Some("vzln75J4knxa-20"));
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            r#"{"searchCount":312,"items":[{"images":{"large":{"url":"https://m.media-amazon.com/images/I/41KsiGHKA-L._SL500_.jpg"},"medium":{"url":"https://m.media-amazon.com/images/I/41KsiGHKA-L._SL160_.jpg"},"small":{"url":"https://m.media-amazon.com/images/I/41KsiGHKA-L._SL75_.jpg"}},"merchantInfo":"Custom Apparel House","price":{"displayAmount":"$2,740.00"},"productURL":"https://www.amazon.com/dp/B0BF422V1P?tag=vzln75J4knxa-20&linkCode=osi&th=1&psc=1","title":"Custom T-Shirts - Athletic Grey - 180pcs"}]}"#
        );
    }

    #[test]
    fn missing_levels_become_nulls() {
        let response: wire::SearchItemsResponse = serde_json::from_value(serde_json::json!({
            "searchResult": {"items": [{"images": null, "offersV2": {"listings": []}}]}
        }))
        .unwrap();
        let result = map_search_result(response, None);
        assert_eq!(
            serde_json::to_value(&result).unwrap(),
            serde_json::json!({"searchCount": null, "items": [{
                "images": {"large": {"url": null}, "medium": {"url": null}, "small": {"url": null}},
                "merchantInfo": null, "price": {"displayAmount": null}, "productURL": null, "title": null}]})
        );
        let empty: wire::SearchItemsResponse =
            serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(
            map_search_result(empty, None),
            SearchResult {
                total_count: None,
                items: vec![]
            }
        );
    }

    #[test]
    fn credentials_from_secret_json() {
        let credentials = CreatorsCredentials::from_json(serde_json::json!({
            "clientId": "id", "clientSecret": "secret", "version": "2.1", "partnerTag": "tag-20"
        }))
        .unwrap();
        assert_eq!(credentials.credential_id, "id");
        assert!(!format!("{credentials:?}").contains("secret\""));
        let empty = CreatorsCredentials::from_json(serde_json::json!({
            "credentialId": "id", "credentialSecret": "", "version": "3.1", "partnerTag": "t"
        }));
        assert!(matches!(empty, Err(ProductsError::Config(m)) if m.contains("credentialSecret")));
        let bad_version = CreatorsCredentials::from_json(serde_json::json!({
            "credentialId": "id", "credentialSecret": "s", "version": "1.0", "partnerTag": "t"
        }));
        assert!(matches!(bad_version, Err(ProductsError::Config(_))));
    }
}
