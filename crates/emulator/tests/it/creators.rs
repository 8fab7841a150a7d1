//! The Creators API over plain HTTP, as the backend's product client calls it.

use serde_json::{json, Value};
use ugc_emulator::creators::RateLimit;

use crate::common::{self, TestEmulator};

async fn cognito_token(emulator: &TestEmulator, id: &str, secret: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/oauth2/token", emulator.endpoint))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "creatorsapi/default"),
        ])
        .send()
        .await
        .unwrap()
}

async fn search(emulator: &TestEmulator, authorization: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/catalog/v1/searchItems", emulator.endpoint))
        .header("x-marketplace", "www.amazon.com")
        .json(&body);
    if let Some(a) = authorization {
        request = request.header("authorization", a);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

const RESOURCES: [&str; 6] = [
    "itemInfo.title",
    "images.primary.small",
    "images.primary.medium",
    "images.primary.large",
    "offersV2.listings.price",
    "offersV2.listings.merchantInfo",
];

#[tokio::test]
async fn token_then_search_items() {
    let emulator = common::spawn().await;

    let refused = cognito_token(&emulator, "local-client", "wrong").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let token: Value = cognito_token(&emulator, "local-client", "local-secret")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let auth = format!(
        "Bearer {}, Version 2.1",
        token["access_token"].as_str().unwrap()
    );

    let request = json!({"keywords": "gaming", "partnerTag": "example-20", "marketplace": "www.amazon.com",
        "itemCount": 3, "itemPage": 1, "sortBy": "Price:LowToHigh", "languagesOfPreference": ["en_US"],
        "resources": RESOURCES});
    let (status, body) = search(&emulator, Some(&auth), request.clone()).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["searchResult"];
    let total = result["totalResultCount"].as_u64().unwrap();
    assert!(total > 3, "{body}");
    let items = result["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let prices: Vec<f64> = items
        .iter()
        .map(|i| {
            i["offersV2"]["listings"][0]["price"]["money"]["amount"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    for item in items {
        assert!(item["itemInfo"]["title"]["displayValue"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("gaming"));
        assert!(item["detailPageURL"]
            .as_str()
            .unwrap()
            .contains("tag=example-20"));
        assert_eq!(item["images"]["primary"]["large"]["height"], 500);
        assert!(item["images"]["primary"]["small"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://"));
        assert!(item["offersV2"]["listings"][0]["merchantInfo"]["name"].is_string());
        assert!(
            item["offersV2"]["listings"][0]["price"]["money"]["displayAmount"]
                .as_str()
                .unwrap()
                .starts_with('$')
        );
    }

    // The next page continues where the first stopped.
    let mut page2 = request.clone();
    page2["itemPage"] = json!(2);
    let (_, body2) = search(&emulator, Some(&auth), page2).await;
    let first_of_page2 = &body2["searchResult"]["items"][0];
    let price2 = first_of_page2["offersV2"]["listings"][0]["price"]["money"]["amount"].as_f64();
    assert!(price2.is_none_or(|p| p >= prices[2]));
    assert_ne!(first_of_page2["asin"], items[2]["asin"]);

    // Without resources only the title comes back.
    let (_, bare) = search(
        &emulator,
        Some(&auth),
        json!({"keywords": "microphone", "partnerTag": "example-20"}),
    )
    .await;
    let item = &bare["searchResult"]["items"][0];
    assert!(
        item["itemInfo"]["title"].is_object()
            && item.get("images").is_none()
            && item.get("offersV2").is_none()
    );

    // No hits: 404 ResourceNotFoundException.
    let (status, body) = search(
        &emulator,
        Some(&auth),
        json!({"keywords": "zzzqqq", "partnerTag": "example-20"}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["type"], "ResourceNotFoundException");

    // Validation and authentication failures.
    let (status, body) = search(&emulator, Some(&auth), json!({"keywords": "gaming"})).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (400, Some("FieldValidationFailed"))
    );
    let (status, body) = search(
        &emulator,
        Some(&auth),
        json!({"keywords": "gaming", "partnerTag": "x", "itemCount": 11}),
    )
    .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (400, Some("ValidationException"))
    );
    let (status, body) = search(&emulator, None, request.clone()).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("InvalidToken"))
    );
    let (status, _) = search(&emulator, Some("Bearer forged"), request).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn lwa_tokens_configured_credentials_and_throttling() {
    let emulator = common::spawn().await;
    emulator.shared.creators.set_credentials(
        "amzn1.application-oa2-client.local",
        "amzn1.oa2-cs.v1.local",
    );
    let http = reqwest::Client::new();
    let token = |id: &'static str| {
        http.post(format!("{}/auth/o2/token", emulator.endpoint))
            .json(&json!({"grant_type": "client_credentials", "client_id": id,
                "client_secret": "amzn1.oa2-cs.v1.local", "scope": "creatorsapi::default"}))
            .send()
    };
    assert_eq!(token("local-client").await.unwrap().status(), 401);
    let token: Value = token("amzn1.application-oa2-client.local")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    assert!(access.starts_with("Atc|"));
    let auth = format!("Bearer {access}");

    emulator.shared.creators.set_rate_limit(RateLimit {
        per_second: 1.0,
        burst: 3.0,
    });
    let request = json!({"keywords": "keyboard", "partnerTag": "example-20"});
    // The bucket was filled when the token was issued under the default burst; drain it.
    let mut throttled = None;
    for _ in 0..15 {
        let (status, body) = search(&emulator, Some(&auth), request.clone()).await;
        if status == 429 {
            throttled = Some(body);
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let body = throttled.expect("throttled after the burst");
    assert_eq!(body["type"], "ThrottleException");
    assert!(body["retryAfterSeconds"].as_u64().unwrap() >= 1);
}
