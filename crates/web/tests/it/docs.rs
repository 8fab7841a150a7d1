use actix_web::web::ServiceConfig;
use ugc_web::{ApiDocs, CommonConfig};
use utoipa::openapi::{InfoBuilder, OpenApiBuilder};

use crate::spawn_app;

#[tokio::test]
async fn openapi_json_and_the_docs_page_are_served_from_the_binary() {
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("test service")
                .version("1")
                .build(),
        )
        .build();
    let docs = ApiDocs::new(&doc).configure();
    let app = spawn_app(
        &CommonConfig::for_tests(),
        move |cfg: &mut ServiceConfig| docs(cfg),
    );

    let res = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["info"]["title"], "test service");

    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/docs/");

    let res = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    assert!(
        !html.contains("://"),
        "nothing loaded from elsewhere: {html}"
    );

    let init = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("\"/openapi.json\""), "{init}");
    assert!(
        init.contains("validatorUrl"),
        "the online validator is off: {init}"
    );

    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-ui-standalone-preset.js",
    ] {
        let res = app
            .client
            .get(app.url(&format!("/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{asset}");
        assert!(res.bytes().await.unwrap().len() > 10_000, "{asset}");
    }

    let res = app
        .client
        .get(app.url("/docs/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // HEAD works like GET, as for every route.
    let res = app
        .client
        .head(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
