//! Product search through the Creators API (emulated).

use reqwest::StatusCode;

use crate::common::{assert_error, status_json, Options, TestApp};

#[tokio::test]
async fn products_are_searched_with_the_callers_tracking_id() {
    let app = TestApp::spawn_with(Options::default().with_products()).await;
    let user = app.user_with_channel("shopper").await;
    let tracking_id = app.own_channel(&user).await["trackingId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = status_json(
        app.get(
            "/products/gaming%20microphone?sort=Relevance&page=1&origin=input",
            Some(&user.access_token),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["keyword"], "gaming microphone");
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{body}");
    assert!(body["searchCount"].as_u64().unwrap() >= items.len() as u64);
    for item in items {
        assert!(item["title"].is_string());
        assert!(item["images"]["large"].get("url").is_some());
        assert!(item["price"].get("displayAmount").is_some());
        let url = item["productURL"].as_str().unwrap();
        assert!(url.contains(&format!("tag={tracking_id}")), "{url}");
    }
    // 150 characters are fine; more than 200 match no route.
    let long = "a".repeat(150);
    let res = app
        .get(&format!("/products/{long}"), Some(&user.access_token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let too_long = "a".repeat(201);
    assert_error(
        app.get(&format!("/products/{too_long}"), Some(&user.access_token))
            .await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    )
    .await;
    for bad in [
        "/products/mic?page=0",
        "/products/mic?page=x",
        "/products/mic?colour=red",
    ] {
        assert_error(
            app.get(bad, Some(&user.access_token)).await,
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        )
        .await;
    }
    assert_error(
        app.get("/products/mic", None).await,
        StatusCode::UNAUTHORIZED,
        "UnauthorizedException",
    )
    .await;
}

#[tokio::test]
async fn product_failures_map_like_upstream() {
    let app = TestApp::spawn_with(Options::default().with_products()).await;
    let user = app.user_with_channel("unlucky").await;
    // The operator's credential is wrong: the Creators API refuses the token request.
    app.shared().creators.set_credentials("other", "secret");
    assert_error(
        app.get("/products/mic?origin=sort", Some(&user.access_token))
            .await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "SortProductsException",
    )
    .await;
    assert_error(
        app.get("/products/mic", Some(&user.access_token)).await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "UnexpectedException",
    )
    .await;
}

#[tokio::test]
async fn creators_api_throttling_is_429() {
    let app = TestApp::spawn_with(Options::default().with_products()).await;
    let user = app.user_with_channel("hammer").await;
    app.shared()
        .creators
        .set_rate_limit(ugc_emulator::creators::RateLimit {
            per_second: 0.001,
            burst: 1.0,
        });
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            app.get("/products/mic", Some(&user.access_token))
                .await
                .status(),
        );
    }
    assert_eq!(statuses[0], StatusCode::OK);
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test]
async fn products_are_not_served_when_the_flag_is_off() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("noshop").await;
    assert_error(
        app.get("/products/mic", Some(&user.access_token)).await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    )
    .await;
}
