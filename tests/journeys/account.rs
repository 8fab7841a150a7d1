//! Sign-up, rename, password reset and account deletion.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{eventually, Platform, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_confirm_sign_in_and_create_resources() {
    let p = Platform::start().await;
    let user = p.sign_up("new_").await;

    let channel = p.own_channel(&user).await;
    assert_eq!(channel["username"], user.username.as_str());
    assert_eq!(channel["avatar"], "bear");
    assert_eq!(channel["color"], "blue");
    for field in [
        "channelResourceId",
        "playbackUrl",
        "streamKeyValue",
        "ingestEndpoint",
        "trackingId",
    ] {
        assert!(
            channel[field].as_str().is_some_and(|v| !v.is_empty()),
            "GET /channel has {field}: {channel}"
        );
    }
    let ingest = channel["ingestEndpoint"].as_str().unwrap();
    // The local platform sets IVS_INGEST_SERVER_URL_FORMAT to its plain RTMP listener.
    assert_eq!(channel["ingestServerUrl"], format!("rtmp://{ingest}/app/"));
    assert_eq!(channel["channelAssetUrls"], json!({}));
    for hidden in [
        "channelArn",
        "email",
        "chatRoomArn",
        "streamKeyArn",
        "bannedUserSubs",
    ] {
        assert!(channel.get(hidden).is_none(), "GET /channel hides {hidden}");
    }

    // Creating resources again changes nothing (the SPA may retry).
    p.post(
        "/channel/resources/create",
        Some(&user.token),
        json!({"email": user.email}),
    )
    .await
    .ok();
    assert_eq!(p.own_channel(&user).await, channel);

    // The same e-mail cannot register twice; a wrong password does not sign in.
    p.post(
        "/channel/register",
        None,
        json!({"username": crate::support::unique("dup_"), "email": user.email, "password": PASSWORD, "avatar": "bear", "color": "blue"}),
    )
    .await
    .refused(400, "EmailExistsException");
    let wrong = p.initiate_auth(&user.username, "Wrong-passw0rd!").await;
    assert_eq!(wrong.code(), "NotAuthorizedException");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_reset_password_and_delete_account() {
    let p = Platform::start().await;
    let user = p.sign_up("ren_").await;
    let channel_arn = p
        .get(&format!("/channels/{}", user.username), None)
        .await
        .ok()["channelArn"]
        .as_str()
        .unwrap()
        .to_owned();

    // Rename: the profile and the public page follow; sign-in works with the new name.
    let new_name = crate::support::unique("renamed_");
    let renamed = p
        .put(
            "/channel/username/update",
            Some(&user.token),
            json!({"newUsername": new_name}),
        )
        .await
        .ok();
    assert_eq!(renamed["username"], new_name.as_str());
    assert_eq!(p.own_channel(&user).await["username"], new_name.as_str());
    assert_eq!(
        p.get(&format!("/channels/{new_name}"), None).await.ok()["username"],
        new_name.as_str()
    );
    // The public page may serve its one-second cache a moment longer.
    eventually("the old name is free", || async {
        let old = p.get(&format!("/channels/{}", user.username), None).await;
        (old.status == StatusCode::NOT_FOUND && old.code() == "UserNotFoundException").then_some(())
    })
    .await;
    p.put(
        "/channel/username/update",
        Some(&user.token),
        json!({"newUsername": "settings"}),
    )
    .await
    .refused(400, "ReservedUsernameException");
    let token = p.sign_in(&new_name, PASSWORD).await;

    // Password reset through the e-mailed code.
    p.post(
        "/channel/password/reset",
        None,
        json!({"email": user.email}),
    )
    .await
    .ok();
    let code = p.outbox_code(&user.email, "ForgotPassword").await;
    let new_password = "N3w-passw0rd!";
    p.cognito(
        "ConfirmForgotPassword",
        json!({"ClientId": p.client_id, "Username": new_name, "ConfirmationCode": code, "Password": new_password}),
    )
    .await
    .ok();
    assert_eq!(
        p.initiate_auth(&new_name, PASSWORD).await.code(),
        "NotAuthorizedException"
    );
    let token = {
        let fresh = p.sign_in(&new_name, new_password).await;
        assert_ne!(fresh, token);
        fresh
    };
    // An unknown address gets the same answer (no enumeration).
    p.post(
        "/channel/password/reset",
        None,
        json!({"email": "nobody@example.com"}),
    )
    .await
    .ok();

    // Deletion: a broadcast is running; everything of the account goes.
    p.broadcast(&channel_arn, "start").await;
    let rooms_before = p.running().emulator.chat.rooms().len();
    let deleted = p
        .api(
            reqwest::Method::DELETE,
            "/channel",
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert!(
        deleted.status.is_success(),
        "{} {}",
        deleted.status,
        deleted.body
    );
    assert!(
        p.running()
            .emulator
            .ivs
            .resolve_channel(&channel_arn)
            .is_err(),
        "the IVS channel is deleted"
    );
    assert_eq!(
        p.running().emulator.chat.rooms().len(),
        rooms_before - 1,
        "the chat room is deleted"
    );
    let signed_in = p.initiate_auth(&new_name, new_password).await;
    assert!(
        !signed_in.status.is_success(),
        "the Cognito user is deleted: {}",
        signed_in.body
    );
    p.get(&format!("/channels/{new_name}"), None)
        .await
        .refused(404, "UserNotFoundException");
    p.chat_token(&new_name, None)
        .await
        .refused(404, "UserNotFoundException");
    // The directory may serve its one-second cache a moment longer.
    eventually("the directory forgets the deleted channel", || async {
        let listed = p.get("/channels?isLive=true", None).await.ok();
        let channels = listed["channels"].as_array().unwrap().clone();
        channels
            .iter()
            .all(|c| c["username"] != new_name.as_str())
            .then_some(())
    })
    .await;
    // The e-mail and the name are free again (the tables forgot the account).
    let again = p
        .post(
            "/channel/register",
            None,
            json!({"username": new_name, "email": user.email, "password": PASSWORD, "avatar": "dog", "color": "green"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    p.stop().await;
}
