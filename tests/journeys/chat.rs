//! Chat: tokens by role, messages over the WebSocket, moderation (delete, ban, unban).

use serde_json::{json, Value};

use crate::support::{Platform, Reply};

fn token_of(reply: Reply) -> (String, Vec<String>) {
    let body = reply.ok();
    let capabilities = body["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (body["token"].as_str().unwrap().to_owned(), capabilities)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_moderation_ban_and_unban() {
    let p = Platform::start().await;
    let owner = p.sign_up("host_").await;
    let viewer = p.sign_up("chatty_").await;
    let viewer_arn = p
        .get(&format!("/channels/{}", viewer.username), None)
        .await
        .ok()["channelArn"]
        .as_str()
        .unwrap()
        .to_owned();

    // An anonymous viewer can only read.
    let (anon_token, caps) = token_of(p.chat_token(&owner.username, None).await);
    assert_eq!(caps, ["VIEW_MESSAGE"]);
    let mut anon = p.chat(&anon_token).await.unwrap();
    let request_id = anon
        .say("may I?", json!({"eventType": "SEND_MESSAGE"}))
        .await;
    let refused = anon.until("an error", |f| f["Type"] == "ERROR").await;
    assert_eq!(refused["ErrorCode"], 403);
    assert_eq!(refused["RequestId"], request_id.as_str());
    // Tokens are single use.
    assert!(
        p.chat(&anon_token).await.is_err(),
        "a spent token is refused"
    );

    let (owner_token, caps) = token_of(p.chat_token(&owner.username, Some(&owner.token)).await);
    assert_eq!(
        caps,
        [
            "SEND_MESSAGE",
            "DELETE_MESSAGE",
            "DISCONNECT_USER",
            "VIEW_MESSAGE"
        ]
    );
    let mut host = p.chat(&owner_token).await.unwrap();
    let (viewer_token, caps) = token_of(p.chat_token(&owner.username, Some(&viewer.token)).await);
    assert_eq!(caps, ["SEND_MESSAGE", "VIEW_MESSAGE"]);
    let mut chatty = p.chat(&viewer_token).await.unwrap();

    // The viewer's message reaches everyone, the sender included, with its identity.
    chatty
        .say("hello stream", json!({"eventType": "SEND_MESSAGE"}))
        .await;
    let seen_by_owner = host.message("hello stream").await;
    let sender = &seen_by_owner["Sender"]["Attributes"];
    assert_eq!(sender["displayName"], viewer.username.as_str());
    assert_eq!(sender["channelArn"], viewer_arn.as_str());
    assert_eq!(sender["avatar"], "bear");
    assert_eq!(seen_by_owner["Attributes"]["eventType"], "SEND_MESSAGE");
    anon.message("hello stream").await;
    chatty.message("hello stream").await;

    // The owner deletes it; every viewer is told which message went.
    let message_id = seen_by_owner["Id"].as_str().unwrap().to_owned();
    host.send(
        json!({"Action": "DELETE_MESSAGE", "RequestId": uuid::Uuid::new_v4().to_string(),
                     "Id": message_id, "Reason": "spam"}),
    )
    .await;
    let deleted = anon
        .until("the delete event", |f| {
            f["EventName"] == "aws:DELETE_MESSAGE"
        })
        .await;
    assert_eq!(deleted["Attributes"]["MessageID"], message_id.as_str());

    // Ban: the viewer is disconnected, refused a new token and sees the ban on the channel page.
    p.post(
        "/channel/ban",
        Some(&owner.token),
        json!({"bannedChannelArn": viewer_arn}),
    )
    .await
    .ok();
    let before_close = chatty.closed().await;
    assert!(
        before_close
            .iter()
            .any(|f| f["EventName"] == "aws:DISCONNECT_USER"
                && f["Attributes"]["UserId"] == viewer_arn.as_str()),
        "the banned viewer is told before the close: {before_close:?}"
    );
    let kicked = host
        .until("the disconnect event", |f| {
            f["EventName"] == "aws:DISCONNECT_USER"
        })
        .await;
    assert_eq!(kicked["Attributes"]["UserId"], viewer_arn.as_str());
    p.chat_token(&owner.username, Some(&viewer.token))
        .await
        .refused(403, "ForbiddenException");
    let page: Value = p
        .get(
            &format!("/channels/{}", owner.username),
            Some(&viewer.token),
        )
        .await
        .ok();
    assert_eq!(page["isViewerBanned"], true, "{page}");
    assert!(page.get("playbackUrl").is_none(), "{page}");
    // Others are not affected.
    let (_, caps) = token_of(p.chat_token(&owner.username, None).await);
    assert_eq!(caps, ["VIEW_MESSAGE"]);

    // Unban: the viewer chats again.
    p.post(
        "/channel/unban",
        Some(&owner.token),
        json!({"bannedChannelArn": viewer_arn}),
    )
    .await
    .ok();
    let page = p
        .get(
            &format!("/channels/{}", owner.username),
            Some(&viewer.token),
        )
        .await
        .ok();
    assert_eq!(page["isViewerBanned"], false, "{page}");
    let (viewer_token, _) = token_of(p.chat_token(&owner.username, Some(&viewer.token)).await);
    let mut chatty = p.chat(&viewer_token).await.unwrap();
    chatty
        .say(
            "thanks for the second chance",
            json!({"eventType": "SEND_MESSAGE"}),
        )
        .await;
    host.message("thanks for the second chance").await;
    p.stop().await;
}
