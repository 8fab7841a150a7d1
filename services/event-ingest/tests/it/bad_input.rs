//! Bad input: answered as specified (400 malformed, 200 ignored for well-formed events that can
//! never be stored, 413 too large), nothing stored, the service stays healthy.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn bad_bodies_are_answered_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    let valid = state_event(&channel, &stream, "Session Created", "2024-01-01T10:00:00Z");
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut event = valid.clone();
        edit(&mut event);
        event.to_string()
    };

    let malformed: Vec<(&str, String)> = vec![
        ("empty body", String::new()),
        ("not JSON", "{not json".into()),
        ("truncated", valid.to_string()[..40].to_owned()),
        ("array", "[]".into()),
        ("null", "null".into()),
        ("string", "\"event\"".into()),
        ("{}", "{}".into()),
        ("detail-type number", with(&|e| e["detail-type"] = json!(5))),
        (
            "no id",
            with(&|e| {
                e.as_object_mut().unwrap().remove("id");
            }),
        ),
        ("empty id", with(&|e| e["id"] = json!(""))),
        (
            "no time",
            with(&|e| {
                e.as_object_mut().unwrap().remove("time");
            }),
        ),
        ("epoch time", with(&|e| e["time"] = json!("1686170708"))),
        ("time number", with(&|e| e["time"] = json!(1686170708))),
        (
            "no detail",
            with(&|e| {
                e.as_object_mut().unwrap().remove("detail");
            }),
        ),
        ("detail string", with(&|e| e["detail"] = json!("x"))),
        (
            "no event_name",
            with(&|e| {
                e["detail"].as_object_mut().unwrap().remove("event_name");
            }),
        ),
        (
            "event_name number",
            with(&|e| e["detail"]["event_name"] = json!(1)),
        ),
        (
            "no resources",
            with(&|e| {
                e.as_object_mut().unwrap().remove("resources");
            }),
        ),
        ("resources object", with(&|e| e["resources"] = json!({}))),
        (
            "resources[0] number",
            with(&|e| e["resources"] = json!([7])),
        ),
        (
            "resources[0] not an ARN",
            with(&|e| e["resources"] = json!(["channelArn"])),
        ),
        (
            "stream_id number",
            with(&|e| e["detail"]["stream_id"] = json!(12)),
        ),
        (
            "stream_id not a stream id",
            with(&|e| e["detail"]["stream_id"] = json!("STREAM_ID")),
        ),
        (
            "stream_id missing on a state change",
            with(&|e| {
                e["detail"].as_object_mut().unwrap().remove("stream_id");
            }),
        ),
        ("source number", with(&|e| e["source"] = json!(1))),
        (
            "truncated with a NUL",
            "{\"id\":\"\u{fffd}".to_owned() + "\u{0}",
        ),
    ];
    for (what, body) in &malformed {
        let res = app.post(body.clone()).await;
        assert_eq!(res.status(), 400, "{what}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["__type"], "BadRequestException", "{what}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }

    let ignored: Vec<(&str, String)> = vec![
        (
            "unknown event name",
            with(&|e| e["detail"]["event_name"] = json!("Stream Teleport")),
        ),
        (
            "unknown detail-type",
            with(&|e| e["detail-type"] = json!("IVS Something New")),
        ),
        (
            "takeover failure",
            with(&|e| e["detail"]["event_name"] = json!("Stream Takeover Failure")),
        ),
        ("another source", with(&|e| e["source"] = json!("aws.s3"))),
        (
            "CloudTrail",
            json!({
                "version": "0", "id": uuid::Uuid::new_v4().to_string(),
                "detail-type": "AWS API Call via CloudTrail", "source": "aws.ivs",
                "account": "123456789012", "time": "2024-01-01T10:00:00Z", "region": "us-west-2",
                "resources": [],
                "detail": {"eventSource": "ivs.amazonaws.com", "eventName": "CreateChannel"}
            })
            .to_string(),
        ),
        ("empty resources", with(&|e| e["resources"] = json!([]))),
        (
            "unknown recording status",
            json!({
                "version": "0", "id": uuid::Uuid::new_v4().to_string(),
                "detail-type": "IVS Recording State Change", "source": "aws.ivs",
                "account": "123456789012", "time": "2024-01-01T10:00:00Z", "region": "us-west-2",
                "resources": [channel.as_str()],
                "detail": {"recording_status": "Recording Paused", "stream_id": stream}
            })
            .to_string(),
        ),
    ];
    for (what, body) in &ignored {
        let res = app.post(body.clone()).await;
        assert_eq!(res.status(), 200, "{what}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ignored", "{what}");
        assert!(body["reason"].is_string(), "{what}");
    }

    // Over MAX_BODY (256 KiB): 413, whether or not the content is otherwise valid.
    let mut huge = valid.clone();
    huge["detail"]["padding"] = json!("x".repeat(300 * 1024));
    let res = app.post(huge.to_string()).await;
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"__type": "PayloadTooLargeException"})
    );
    let res = app.post(vec![b' '; 5 * 1024 * 1024]).await;
    assert_eq!(res.status(), 413);

    // Nothing of the channel was stored, and the service is fine.
    assert!(app.session(&channel, &stream).await.is_none());
    assert!(app
        .state
        .streams()
        .latest_session(&channel)
        .await
        .unwrap()
        .is_none());
    assert!(app.status_ok().await);

    // A valid event still goes through after all that.
    let (status, body) = app.deliver(&valid).await;
    assert_eq!((status, body["status"].clone()), (200, json!("stored")));
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_read() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    let mut event = state_event(&channel, &stream, "Stream Start", "2024-01-01T10:00:01Z");
    let size = event.to_string().len();
    event["detail"]["padding"] = json!("x".repeat(256 * 1024 - size - 20));
    assert!(event.to_string().len() <= 256 * 1024);
    let (status, body) = app.deliver(&event).await;
    assert_eq!((status, body["status"].clone()), (200, json!("stored")));
}
