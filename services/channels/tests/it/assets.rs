//! Presigned uploads and asset deletion.

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{assert_error, status_json, TestApp, BUCKET};

async fn presign(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.send_json(
        Method::POST,
        "/channel/assets/imagePresignedPost/create",
        Some(token),
        body,
    )
    .await
}

/// Posts like the SPA: every field, then `Content-Type`, then the file.
async fn upload(post: &Value, content_type: &str, bytes: Vec<u8>) -> reqwest::Response {
    let mut form = Form::new();
    for (name, value) in post["fields"].as_object().unwrap() {
        form = form.text(name.clone(), value.as_str().unwrap().to_owned());
    }
    form = form
        .text("Content-Type", content_type.to_owned())
        .part("file", Part::bytes(bytes).file_name("image"));
    reqwest::Client::new()
        .post(post["url"].as_str().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn presigned_posts_upload_within_the_limits() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("painter").await;
    let token = &user.access_token;
    let (status, post) = status_json(
        presign(
            &app,
            token,
            &json!({"assetType": "avatar", "contentType": "image/png"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fields = post["fields"].as_object().unwrap();
    for field in [
        "bucket",
        "key",
        "Policy",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Signature",
    ] {
        assert!(fields.contains_key(field), "{field} missing: {post}");
    }
    let asset_id = app
        .state
        .channels
        .get(&user.sub)
        .await
        .unwrap()
        .unwrap()
        .channel_asset_id
        .unwrap();
    assert_eq!(fields["key"], format!("{asset_id}/avatar"));
    assert_eq!(fields["bucket"], BUCKET);

    let res = upload(&post, "image/png", vec![7; 1000]).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let stored = app
        .shared()
        .s3
        .list_objects(BUCKET, &asset_id, None)
        .unwrap();
    assert_eq!(stored.len(), 1);
    // Over the 1 MB avatar limit, or another content type: refused by S3.
    let res = upload(&post, "image/png", vec![7; 1_000_001]).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = upload(&post, "image/jpeg", vec![7; 10]).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    // A banner may be up to 5 MB.
    let (_, banner) = status_json(
        presign(
            &app,
            token,
            &json!({"assetType": "banner", "contentType": "image/jpeg"}),
        )
        .await,
    )
    .await;
    let res = upload(&banner, "image/jpeg", vec![7; 2_000_000]).await;
    assert!(res.status().is_success());
}

#[tokio::test]
async fn presigned_post_input_is_validated_with_upstream_messages() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("validator").await;
    let token = &user.access_token;
    for (body, message) in [
        (
            json!({"assetType": "great-asset", "contentType": "image/png"}),
            "Invalid value provided for assetType: great-asset. Acceptable asset types are avatar, banner.",
        ),
        (
            json!({"contentType": "image/png"}),
            "Invalid value provided for assetType: -. Acceptable asset types are avatar, banner.",
        ),
        (
            json!({"assetType": "avatar", "contentType": "image/bmp"}),
            "Invalid value provided for contentType: image/bmp. Acceptable content types are image/jpeg, image/jpg, image/png.",
        ),
        (
            json!({"assetType": "avatar"}),
            "Invalid value provided for contentType: -. Acceptable content types are image/jpeg, image/jpg, image/png.",
        ),
    ] {
        let body = assert_error(
            presign(&app, token, &body).await,
            StatusCode::BAD_REQUEST,
            "InvalidPresignedPostInputException",
        )
        .await;
        assert_eq!(body["message"], message);
    }
    let fresh = app.register("nochannel").await;
    assert_error(
        presign(
            &app,
            &fresh.access_token,
            &json!({"assetType": "avatar", "contentType": "image/png"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
}

#[tokio::test]
async fn presigned_posts_are_rate_limited() {
    use ugc_web::rate_limit::{Budget, RateLimitConfig};
    let mut limits = RateLimitConfig::unlimited();
    limits.set(
        ugc_web::Action::PresignedPost,
        Budget::Limited {
            burst: 1,
            period: std::time::Duration::from_secs(600),
        },
    );
    let app = TestApp::spawn_with(crate::common::Options {
        rate_limits: limits,
        ..Default::default()
    })
    .await;
    let user = app.user_with_channel("spammer").await;
    let body = json!({"assetType": "avatar", "contentType": "image/png"});
    assert_eq!(
        presign(&app, &user.access_token, &body).await.status(),
        StatusCode::OK
    );
    assert_error(
        presign(&app, &user.access_token, &body).await,
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsException",
    )
    .await;
}

#[tokio::test]
async fn deleting_an_asset_removes_the_object_and_its_url() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("deleter").await;
    let token = &user.access_token;
    let (_, post) = status_json(
        presign(
            &app,
            token,
            &json!({"assetType": "banner", "contentType": "image/png"}),
        )
        .await,
    )
    .await;
    assert!(upload(&post, "image/png", vec![1; 100])
        .await
        .status()
        .is_success());
    let banner = json!({"banner": {"previewUrl": "https://cdn.example/b.png",
                                   "uploadDateTime": "Thu, 02 Feb 2023 21:02:58 GMT"}});
    app.send_json(
        Method::PUT,
        "/channel/preferences/update",
        Some(token),
        &banner,
    )
    .await;
    assert_eq!(
        app.own_channel(&user).await["channelAssetUrls"]["banner"],
        "https://cdn.example/b.png"
    );

    for (body, message) in [
        (
            json!({}),
            "Missing an assetType to delete for user deleter. Received: undefined.",
        ),
        (
            json!({"assetType": "wallpaper"}),
            "Invalid value provided for assetType: wallpaper. Acceptable asset types are avatar, banner.",
        ),
    ] {
        let res = app.send_json(Method::DELETE, "/channel/asset", Some(token), &body).await;
        let body = assert_error(res, StatusCode::BAD_REQUEST, "DeleteChannelAssetException").await;
        assert_eq!(body["message"], message);
    }
    let res = app
        .send_json(
            Method::DELETE,
            "/channel/asset",
            Some(token),
            &json!({"assetType": "banner"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.own_channel(&user).await["channelAssetUrls"], json!({}));
    let asset_id = post["fields"]["key"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(app
        .shared()
        .s3
        .list_objects(BUCKET, &asset_id, None)
        .unwrap()
        .is_empty());
}
