//! Avatar upload: presigned POST → the emulator's S3 → the asset-version trigger → `GET /channel`.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::support::{eventually, Platform, Reply};

/// The SPA's `uploadFileToS3`: every field, then `Content-Type`, then the file last.
async fn upload(
    p: &Platform,
    presigned: &Value,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let mut form = Form::new();
    for (name, value) in presigned["fields"].as_object().unwrap() {
        form = form.text(name.clone(), value.as_str().unwrap().to_owned());
    }
    form = form.text("Content-Type", content_type.to_owned()).part(
        "file",
        Part::bytes(bytes)
            .file_name("avatar.png")
            .mime_str(content_type)
            .unwrap(),
    );
    p.http
        .post(presigned["url"].as_str().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn presign(p: &Platform, token: &str, content_type: &str) -> Reply {
    p.post(
        "/channel/assets/imagePresignedPost/create",
        Some(token),
        json!({"assetType": "avatar", "contentType": content_type}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_custom_avatar() {
    let p = Platform::start().await;
    let user = p.sign_up("pic_").await;
    let image: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..4096u32).map(|i| (i % 251) as u8))
        .collect();

    let presigned = presign(&p, &user.token, "image/png").await.ok();
    let uploaded = upload(&p, &presigned, "image/png", image.clone()).await;
    assert!(
        uploaded.status().is_success(),
        "upload: {}",
        uploaded.status()
    );
    let header = |name: &str| {
        uploaded
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let version = header("x-amz-version-id").expect("a version id");
    let location = header("location").expect("a Location");
    let date = header("date").expect("a Date");

    // The SPA records the upload as the user's avatar preference (echoed back).
    let preferences = json!({"avatar": {"name": "custom", "previewUrl": format!("{location}?versionId={version}"), "uploadDateTime": date}});
    let echoed = p
        .put(
            "/channel/preferences/update",
            Some(&user.token),
            preferences.clone(),
        )
        .await
        .ok();
    assert_eq!(echoed, preferences);

    // The asset-version trigger records the versioned URL; the SPA polls GET /channel for it.
    let avatar_url = eventually("GET /channel shows the versioned avatar URL", || async {
        let channel = p.own_channel(&user).await;
        channel["channelAssetUrls"]["avatar"]
            .as_str()
            .filter(|url| url.contains(&version) && !url.contains(".s3."))
            .map(str::to_owned)
    })
    .await;
    assert_eq!(p.own_channel(&user).await["avatar"], "custom");
    let served = p.http.get(&avatar_url).send().await.unwrap();
    assert!(
        served.status().is_success(),
        "the avatar is served at {avatar_url}"
    );
    assert_eq!(served.bytes().await.unwrap().to_vec(), image);
    let page = p
        .get(&format!("/channels/{}", user.username), None)
        .await
        .ok();
    eventually("the public page shows the avatar", || async {
        let page = p
            .get(&format!("/channels/{}", user.username), None)
            .await
            .ok();
        (page["channelAssetUrls"]["avatar"] == avatar_url.as_str()).then_some(())
    })
    .await;
    assert_eq!(page["username"], user.username.as_str());

    // The policy refuses an oversized file and another content type.
    let presigned = presign(&p, &user.token, "image/png").await.ok();
    let too_big = upload(&p, &presigned, "image/png", vec![7u8; 1_000_001]).await;
    assert_eq!(too_big.status(), 400, "oversized upload refused");
    assert!(too_big.text().await.unwrap().contains("EntityTooLarge"));
    let presigned = presign(&p, &user.token, "image/png").await.ok();
    let wrong_type = upload(&p, &presigned, "image/gif", image.clone()).await;
    assert_eq!(wrong_type.status(), 403, "wrong content type refused");
    presign(&p, &user.token, "image/gif")
        .await
        .refused(400, "InvalidPresignedPostInputException");

    // Removing the avatar clears its URL.
    let removed = p
        .api(
            reqwest::Method::DELETE,
            "/channel/asset",
            Some(&user.token),
            Some(json!({"assetType": "avatar"})),
        )
        .await;
    assert_eq!(removed.status, 204);
    let channel = p.own_channel(&user).await;
    assert!(
        channel["channelAssetUrls"].get("avatar").is_none(),
        "{channel}"
    );
    p.stop().await;
}
