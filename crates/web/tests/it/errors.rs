use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use ugc_web::{ApiError, CommonConfig};

use crate::{json_body, spawn_app, TestApp};

#[derive(Deserialize)]
struct Prefs {
    color: Named,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    limit: u32,
}

async fn prefs(body: ugc_web::Json<Prefs>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "color": { "name": body.color.name } }))
}

async fn actix_json(body: web::Json<Prefs>) -> HttpResponse {
    HttpResponse::Ok().body(body.into_inner().color.name)
}

async fn page(_q: web::Query<Page>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn numeric(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().body(id.to_string())
}

async fn down() -> Result<HttpResponse, ApiError> {
    Err(ApiError::unavailable().with_detail("dynamodb: connection refused at 10.0.0.1"))
}

fn app_with_limit(limit: usize) -> TestApp {
    let mut common = CommonConfig::for_tests();
    common.body_limit = limit;
    spawn_app(&common, |cfg: &mut web::ServiceConfig| {
        cfg.route("/prefs", web::put().to(prefs))
            .route("/actix-prefs", web::put().to(actix_json))
            .route("/page", web::get().to(page))
            .route("/items/{id}", web::get().to(numeric))
            .route("/down", web::get().to(down))
            .service(
                web::resource("/resource")
                    .route(web::get().to(HttpResponse::Ok))
                    .route(web::post().to(HttpResponse::Ok)),
            );
    })
}

fn app() -> TestApp {
    app_with_limit(1024 * 1024)
}

async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status(), status);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body = json_body(res).await;
    assert_eq!(body["__type"], code, "{body}");
    body
}

#[tokio::test]
async fn unknown_route_is_404_not_found_exception() {
    let app = app();
    for path in ["/nope", "/prefs/", "/status/x"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let body = assert_error(res, 404, "NotFoundException").await;
        assert_eq!(body, json!({ "__type": "NotFoundException" }));
    }
}

#[tokio::test]
async fn wrong_method_is_405_for_routes_and_resources() {
    let app = app();
    let res = app.client.post(app.url("/status")).send().await.unwrap();
    assert_error(res, 405, "MethodNotAllowedException").await;
    let res = app.client.get(app.url("/prefs")).send().await.unwrap();
    assert_error(res, 405, "MethodNotAllowedException").await;
    let res = app
        .client
        .delete(app.url("/resource"))
        .send()
        .await
        .unwrap();
    let allow = res.headers().get("allow").cloned();
    assert_error(res, 405, "MethodNotAllowedException").await;
    assert!(allow.is_some(), "the Allow header is kept");
}

#[tokio::test]
async fn valid_json_passes() {
    let app = app();
    let res = app
        .client
        .put(app.url("/prefs"))
        .json(&json!({ "color": { "name": "blue" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json_body(res).await, json!({ "color": { "name": "blue" } }));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = app();
    for path in ["/prefs", "/actix-prefs"] {
        let res = app
            .client
            .put(app.url(path))
            .header("content-type", "application/json")
            .body("{\"color\":")
            .send()
            .await
            .unwrap();
        let body = assert_error(res, 400, "BadRequestException").await;
        assert!(body["message"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn wrong_field_type_names_the_field() {
    let app = app();
    let res = app
        .client
        .put(app.url("/prefs"))
        .json(&json!({ "color": { "name": 5 } }))
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 400, "BadRequestException").await;
    assert_eq!(
        body["message"],
        "body/color.name: invalid type: integer `5`, expected a string"
    );
    let res = app
        .client
        .put(app.url("/prefs"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 400, "BadRequestException").await;
    assert_eq!(body["message"], "body: missing field `color`");
}

#[tokio::test]
async fn empty_json_body_is_400_with_upstream_message() {
    let app = app();
    for path in ["/prefs", "/actix-prefs"] {
        let res = app
            .client
            .put(app.url(path))
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let body = assert_error(res, 400, "BadRequestException").await;
        assert_eq!(
            body["message"],
            "Body cannot be empty when content-type is set to 'application/json'"
        );
    }
}

#[tokio::test]
async fn non_json_content_type_is_400() {
    let app = app();
    let res = app
        .client
        .put(app.url("/prefs"))
        .header("content-type", "text/plain")
        .body(r#"{"color":{"name":"blue"}}"#)
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "BadRequestException").await;
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = app_with_limit(64);
    let big = json!({ "color": { "name": "x".repeat(100) } });
    for path in ["/prefs", "/actix-prefs"] {
        let res = app
            .client
            .put(app.url(path))
            .json(&big)
            .send()
            .await
            .unwrap();
        let body = assert_error(res, 413, "PayloadTooLargeException").await;
        assert_eq!(body, json!({ "__type": "PayloadTooLargeException" }));
    }
    // Chunked, so no Content-Length announces it.
    let request = format!(
        "PUT /prefs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         40\r\n{{\"color\":{{\"name\":\"{}\r\n20\r\n{}\r\n0\r\n\r\n",
        "x".repeat(64 - 18),
        "x".repeat(32)
    );
    let answer = crate::raw_request(app.port, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#"{"__type":"PayloadTooLargeException"}"#),
        "{answer}"
    );
}

#[tokio::test]
async fn query_and_path_errors_are_400() {
    let app = app();
    let res = app
        .client
        .get(app.url("/page?limit=abc"))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "BadRequestException").await;
    let res = app.client.get(app.url("/items/abc")).send().await.unwrap();
    assert_error(res, 400, "BadRequestException").await;
    let res = app.client.get(app.url("/items/7")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "7");
}

#[tokio::test]
async fn overlong_path_segment_is_404() {
    let app = app();
    let res = app
        .client
        .get(app.url(&format!("/items/{}", "1".repeat(201))))
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "NotFoundException").await;
}

#[tokio::test]
async fn dependency_outage_is_503_without_internals() {
    let app = app();
    let res = app.client.get(app.url("/down")).send().await.unwrap();
    let body = assert_error(res, 503, "ServiceUnavailableException").await;
    assert_eq!(body, json!({ "__type": "ServiceUnavailableException" }));
}
