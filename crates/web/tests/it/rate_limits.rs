use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;
use ugc_web::rate_limit::Budget;
use ugc_web::{Action, ApiError, ClientIp, CommonConfig, RateKey, RateLimiter};

use crate::{json_body, spawn_app, TestApp};

async fn mint(limiter: web::Data<RateLimiter>, ip: ClientIp) -> Result<HttpResponse, ApiError> {
    limiter.check(Action::ChatToken, &RateKey::new(None, ip))?;
    Ok(HttpResponse::Ok().body(ip.0.to_string()))
}

fn app(hops: usize, budget: Budget) -> TestApp {
    let mut common = CommonConfig::for_tests();
    common.trusted_proxy_hops = hops;
    common.rate_limits.set(Action::ChatToken, budget);
    spawn_app(&common, |cfg: &mut web::ServiceConfig| {
        cfg.route("/mint", web::post().to(mint));
    })
}

async fn post(app: &TestApp, xff: Option<&str>) -> reqwest::Response {
    let mut req = app.client.post(app.url("/mint"));
    if let Some(xff) = xff {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn over_budget_is_429_with_retry_after() {
    let app = app(
        0,
        Budget::Limited {
            burst: 2,
            period: Duration::from_secs(60),
        },
    );
    assert_eq!(post(&app, None).await.status(), 200);
    assert_eq!(post(&app, None).await.status(), 200);
    let res = post(&app, None).await;
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(
        json_body(res).await,
        json!({ "__type": "TooManyRequestsException" })
    );
}

#[tokio::test]
async fn without_trusted_hops_forwarded_for_is_ignored() {
    let app = app(
        0,
        Budget::Limited {
            burst: 1,
            period: Duration::from_secs(60),
        },
    );
    let res = post(&app, Some("203.0.113.1")).await;
    assert_eq!(res.text().await.unwrap(), "127.0.0.1");
    // A forged header does not buy a new budget.
    assert_eq!(post(&app, Some("203.0.113.2")).await.status(), 429);
}

#[tokio::test]
async fn trusted_hops_pick_the_client_from_the_right() {
    let app = app(
        2,
        Budget::Limited {
            burst: 1,
            period: Duration::from_secs(60),
        },
    );
    // client → CloudFront (adds the client) → ALB (adds CloudFront).
    let res = post(&app, Some("198.51.100.7, 10.1.2.3")).await;
    assert_eq!(res.text().await.unwrap(), "198.51.100.7");
    // Whatever the client prepends is ignored: same client, same bucket.
    let res = post(&app, Some("1.1.1.1, 198.51.100.7, 10.1.2.3")).await;
    assert_eq!(res.status(), 429);
    // Another client has its own budget.
    let res = post(&app, Some("198.51.100.8, 10.1.2.3")).await;
    assert_eq!(res.text().await.unwrap(), "198.51.100.8");
}

#[tokio::test]
async fn lifted_limits_never_throttle() {
    let app = app(0, Budget::Unlimited);
    for _ in 0..50 {
        assert_eq!(post(&app, None).await.status(), 200);
    }
}
