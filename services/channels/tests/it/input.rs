//! Bad input on every route answers a 4xx with a `__type` body, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{status_json, TestApp};

const JSON_ROUTES: &[(&str, &str)] = &[
    ("POST", "/channel/register"),
    ("POST", "/channel/password/reset"),
    ("POST", "/channel/resources/create"),
    ("PUT", "/channel/username/update"),
    ("PUT", "/channel/preferences/update"),
    ("POST", "/channel/assets/imagePresignedPost/create"),
    ("DELETE", "/channel/asset"),
    ("POST", "/channel/actions/send"),
];

#[tokio::test]
async fn malformed_bodies_are_400_or_413_with_a_type() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("fuzzer").await;
    let token = Some(user.access_token.as_str());
    for (method, path) in JSON_ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
            (
                "bad JSON",
                app.request(method.clone(), path, token)
                    .header("content-type", "application/json")
                    .body("{nope"),
                StatusCode::BAD_REQUEST,
            ),
            (
                "empty body",
                app.request(method.clone(), path, token)
                    .header("content-type", "application/json"),
                StatusCode::BAD_REQUEST,
            ),
            (
                "not JSON",
                app.request(method.clone(), path, token)
                    .header("content-type", "text/plain")
                    .body("hello"),
                StatusCode::BAD_REQUEST,
            ),
            (
                "array",
                app.request(method.clone(), path, token)
                    .json(&json!([1, 2])),
                StatusCode::BAD_REQUEST,
            ),
            (
                "unknown field",
                app.request(method.clone(), path, token)
                    .json(&json!({"surprise": true})),
                StatusCode::BAD_REQUEST,
            ),
            (
                "wrong type",
                app.request(method.clone(), path, token).json(&json!({
                    "username": 1, "email": 2, "newUsername": 3, "assetType": 4,
                    "metadata": 5, "color": 6
                })),
                StatusCode::BAD_REQUEST,
            ),
            (
                "oversized",
                app.request(method.clone(), path, token)
                    .json(&json!({"email": "x".repeat(2 * 1024 * 1024)})),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
        ];
        for (what, request, expected) in cases {
            let (status, body) = status_json(request.send().await.unwrap()).await;
            assert_eq!(status, expected, "{what} on {method} {path}: {body}");
            assert!(body["__type"].is_string(), "{what} on {path}: {body}");
        }
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_have_typed_bodies() {
    let app = TestApp::spawn().await;
    let (status, body) = status_json(app.get("/channel/register", None).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["__type"], "MethodNotAllowedException");
    let (status, body) = status_json(
        app.request(Method::POST, "/channel/resources/create/", None)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["__type"], "NotFoundException");
    let res = app.get("/status", None).await;
    assert_eq!(res.text().await.unwrap(), "OK");
}
