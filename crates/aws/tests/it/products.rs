use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use ugc_aws::{
    CreatorsCredentials, CredentialsSource, Marketplace, ProductQuery, ProductsClient,
    ProductsConfig, ProductsError,
};

/// A stand-in Creators API: a Cognito-style token endpoint and SearchItems.
#[derive(Default)]
struct FakeCreators {
    token_calls: AtomicUsize,
    search_calls: AtomicUsize,
    /// SearchItems answers 401 this many times before accepting tokens again.
    reject_tokens: AtomicUsize,
    last_search: Mutex<Option<(String, String, serde_json::Value)>>,
}

async fn token(
    state: web::Data<FakeCreators>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let form: std::collections::HashMap<_, _> = form.into_inner().into_iter().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("client_secret").map(String::as_str) != Some("secret")
        || form.get("scope").map(String::as_str) != Some("creatorsapi/default")
    {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "invalid_client"}));
    }
    let n = state.token_calls.fetch_add(1, Ordering::SeqCst) + 1;
    HttpResponse::Ok().json(serde_json::json!({
        "access_token": format!("token-{n}"), "expires_in": 3600, "token_type": "Bearer"
    }))
}

async fn search(
    state: web::Data<FakeCreators>,
    request: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> HttpResponse {
    state.search_calls.fetch_add(1, Ordering::SeqCst);
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let authorization = header("authorization");
    *state.last_search.lock().unwrap() = Some((
        authorization.clone(),
        header("x-marketplace"),
        body.0.clone(),
    ));
    if state
        .reject_tokens
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return HttpResponse::Unauthorized().json(serde_json::json!({
            "type": "UnauthorizedException", "message": "expired", "reason": "TokenExpired"
        }));
    }
    if !authorization.starts_with("Bearer token-") || !authorization.ends_with(", Version 2.1") {
        return HttpResponse::Unauthorized().json(serde_json::json!({
            "type": "UnauthorizedException", "message": "bad token", "reason": "InvalidToken"
        }));
    }
    match body["keywords"].as_str() {
        Some("busy") => HttpResponse::TooManyRequests().json(serde_json::json!({
            "type": "ThrottleException", "message": "Rate exceeded", "retryAfterSeconds": 2
        })),
        Some("nothing") => HttpResponse::NotFound().json(serde_json::json!({
            "type": "ResourceNotFoundException", "message": "No results found for your search request",
            "resourceType": "SearchResult", "resourceId": "nothing"
        })),
        Some("broken") => HttpResponse::InternalServerError().json(serde_json::json!({
            "type": "InternalServerException", "message": "oops"
        })),
        _ => HttpResponse::Ok().json(serde_json::json!({"searchResult": {
            "totalResultCount": 312,
            "items": [{
                "asin": "B0BF422V1P",
                "detailPageURL": "https://www.amazon.com/dp/B0BF422V1P?tag=partner-20&linkCode=osi&th=1&psc=1",
                "itemInfo": {"title": {"displayValue": "Custom T-Shirts"}},
                "images": {"primary": {"small": {"url": "https://m.media-amazon.com/s.jpg"},
                                       "medium": {"url": "https://m.media-amazon.com/m.jpg"},
                                       "large": {"url": "https://m.media-amazon.com/l.jpg"}}},
                "offersV2": {"listings": [{"merchantInfo": {"name": "Custom Apparel House"},
                                           "price": {"money": {"displayAmount": "$2,740.00"}}}]}
            }]
        }})),
    }
}

struct Server {
    base: String,
    state: web::Data<FakeCreators>,
}

async fn spawn_server() -> Server {
    let state = web::Data::new(FakeCreators::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .route("/oauth2/token", web::post().to(token))
            .route("/catalog/v1/searchItems", web::post().to(search))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Server {
        base: format!("http://127.0.0.1:{port}"),
        state,
    }
}

fn client(server: &Server, secret: &str) -> ProductsClient {
    let credentials = CreatorsCredentials::from_json(serde_json::json!({
        "credentialId": "id", "credentialSecret": secret, "version": "2.1", "partnerTag": "partner-20"
    }))
    .unwrap();
    let mut config = ProductsConfig::new(Marketplace::from_locale_or_default("United States"));
    config.api_base_url = server.base.clone();
    config.token_url = Some(format!("{}/oauth2/token", server.base));
    config.timeout = Duration::from_secs(5);
    ProductsClient::new(config, CredentialsSource::Static(credentials)).unwrap()
}

fn query(keywords: &str) -> ProductQuery<'_> {
    ProductQuery {
        keywords,
        sort: Some("Price:HighToLow"),
        page: Some(2),
        language: Some("en_US"),
        tracking_id: Some("abcdabcdefgh-us"),
    }
}

#[tokio::test]
async fn token_is_reused_and_items_are_mapped() {
    let server = spawn_server().await;
    let products = client(&server, "secret");

    let first = products.search_items(&query("keyboard")).await.unwrap();
    let second = products.search_items(&query("mouse")).await.unwrap();
    assert_eq!(server.state.token_calls.load(Ordering::SeqCst), 1);
    assert_eq!(first, second);

    assert_eq!(first.total_count, Some(312));
    let item = &first.items[0];
    assert_eq!(
        item.product_url.as_deref(),
        Some("https://www.amazon.com/dp/B0BF422V1P?tag=abcdabcdefgh-us&linkCode=osi&th=1&psc=1")
    );
    assert_eq!(item.price.display_amount.as_deref(), Some("$2,740.00"));
    assert_eq!(item.merchant_info.as_deref(), Some("Custom Apparel House"));
    assert_eq!(
        item.images.large.url.as_deref(),
        Some("https://m.media-amazon.com/l.jpg")
    );

    let (authorization, marketplace, body) =
        server.state.last_search.lock().unwrap().clone().unwrap();
    assert_eq!(authorization, "Bearer token-1, Version 2.1");
    assert_eq!(marketplace, "www.amazon.com");
    assert_eq!(body["keywords"], "mouse");
    assert_eq!(body["partnerTag"], "partner-20");
    assert_eq!(body["itemCount"], 10);
    assert_eq!(body["itemPage"], 2);
    assert_eq!(body["sortBy"], "Price:HighToLow");
    assert_eq!(body["languagesOfPreference"], serde_json::json!(["en_US"]));
    assert!(body.get("partnerType").is_none());
}

#[tokio::test]
async fn concurrent_searches_share_one_token_fetch() {
    let server = spawn_server().await;
    let products = client(&server, "secret");
    let (qa, qb, qc) = (query("a"), query("b"), query("c"));
    let (a, b, c) = tokio::join!(
        products.search_items(&qa),
        products.search_items(&qb),
        products.search_items(&qc),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert_eq!(server.state.token_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn throttling_is_reported_with_retry_after() {
    let server = spawn_server().await;
    let err = client(&server, "secret")
        .search_items(&query("busy"))
        .await
        .unwrap_err();
    match err {
        ProductsError::Throttled { retry_after } => {
            assert_eq!(retry_after, Some(Duration::from_secs(2)))
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
}

#[tokio::test]
async fn expired_token_is_refreshed_once() {
    let server = spawn_server().await;
    server.state.reject_tokens.store(1, Ordering::SeqCst);
    let result = client(&server, "secret")
        .search_items(&query("keyboard"))
        .await
        .unwrap();
    assert_eq!(result.items.len(), 1);
    assert_eq!(server.state.token_calls.load(Ordering::SeqCst), 2);
    assert_eq!(server.state.search_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_token_rejected_twice_is_unauthorized() {
    let server = spawn_server().await;
    server.state.reject_tokens.store(5, Ordering::SeqCst);
    let err = client(&server, "secret")
        .search_items(&query("keyboard"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProductsError::Unauthorized(_)), "{err:?}");
    assert_eq!(server.state.search_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bad_client_credentials_are_unauthorized() {
    let server = spawn_server().await;
    let err = client(&server, "wrong")
        .search_items(&query("keyboard"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProductsError::Unauthorized(_)), "{err:?}");
    assert_eq!(server.state.search_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn no_results_and_server_faults() {
    let server = spawn_server().await;
    let products = client(&server, "secret");
    let empty = products.search_items(&query("nothing")).await.unwrap();
    assert_eq!(empty.total_count, Some(0));
    assert!(empty.items.is_empty());
    let err = products.search_items(&query("broken")).await.unwrap_err();
    assert!(matches!(err, ProductsError::Unavailable(_)), "{err:?}");
}
