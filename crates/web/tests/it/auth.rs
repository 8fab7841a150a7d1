use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{web, HttpResponse, HttpServer};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use ugc_web::{AuthConfig, AuthUser, CommonConfig, MaybeAuthUser, Verifier};

use crate::{json_body, spawn_app, TestApp};

const POOL: &str = "eu-west-1_test";
const CLIENT_ID: &str = "client-test";

fn keys() -> &'static [KeyPair; 3] {
    static KEYS: OnceLock<[KeyPair; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [0, 1, 2].map(|_| KeyPair::generate(KeySize::Rsa2048).expect("generate RSA key"))
    })
}

fn jwk(kid: &str, key: &KeyPair) -> Value {
    let c = PublicKeyComponents::<Vec<u8>>::from(key.public_key());
    json!({
        "alg": "RS256", "e": URL_SAFE_NO_PAD.encode(&c.e), "kid": kid,
        "kty": "RSA", "n": URL_SAFE_NO_PAD.encode(&c.n), "use": "sig"
    })
}

#[derive(Default)]
struct JwksState {
    keys: Vec<Value>,
    failing: bool,
    fetches: usize,
}

/// A JWKS endpoint on 127.0.0.1:0 whose keys and health the test controls.
struct Jwks {
    state: Arc<Mutex<JwksState>>,
    issuer: String,
    url: String,
}

impl Jwks {
    fn start(initial: Vec<Value>) -> Jwks {
        let state = Arc::new(Mutex::new(JwksState {
            keys: initial,
            ..JwksState::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = state.clone();
        let server = HttpServer::new(move || {
            let served = served.clone();
            actix_web::App::new().route(
                "/{pool}/.well-known/jwks.json",
                web::get().to(move || {
                    let served = served.clone();
                    async move {
                        let mut s = served.lock().unwrap();
                        s.fetches += 1;
                        if s.failing {
                            HttpResponse::InternalServerError().finish()
                        } else {
                            HttpResponse::Ok().json(json!({ "keys": s.keys }))
                        }
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        let issuer = format!("http://127.0.0.1:{port}/{POOL}");
        Jwks {
            state,
            url: format!("{issuer}/.well-known/jwks.json"),
            issuer,
        }
    }

    fn config(&self) -> AuthConfig {
        AuthConfig {
            user_pool_id: POOL.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            issuer: self.issuer.clone(),
            jwks_url: self.url.clone(),
        }
    }

    fn fetches(&self) -> usize {
        self.state.lock().unwrap().fetches
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn sign(header: &Value, claims: &Value, key: &KeyPair) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn access_claims(issuer: &str) -> Value {
    json!({
        "sub": "6f1c2b1e-0000-4000-8000-000000000001",
        "iss": issuer,
        "client_id": CLIENT_ID,
        "origin_jti": "x",
        "event_id": "y",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now(),
        "exp": now() + 3600,
        "iat": now(),
        "jti": "z",
        "username": "alice"
    })
}

fn token_with(kid: &str, key: &KeyPair, claims: &Value) -> String {
    sign(&json!({ "kid": kid, "alg": "RS256" }), claims, key)
}

async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": user.sub, "username": user.username }))
}

async fn maybe(user: MaybeAuthUser) -> HttpResponse {
    let name = user.user().map(|u| u.username.clone());
    HttpResponse::Ok().json(json!({ "username": name }))
}

async fn setup() -> (Jwks, TestApp) {
    let jwks = Jwks::start(vec![jwk("key-a", &keys()[0])]);
    let verifier = Verifier::new(&jwks.config()).await.expect("JWKS loads");
    let app = spawn_app(
        &CommonConfig::for_tests(),
        move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(web::Data::new(verifier.clone()))
                .route("/me", web::get().to(me))
                .route("/maybe", web::get().to(maybe));
        },
    );
    (jwks, app)
}

async fn get(app: &TestApp, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.send().await.unwrap()
}

async fn assert_unauthorized(app: &TestApp, authorization: &str, case: &str) {
    for path in ["/me", "/maybe"] {
        let res = get(app, path, Some(authorization)).await;
        assert_eq!(res.status(), 401, "{case} on {path}");
        assert_eq!(
            json_body(res).await,
            json!({ "__type": "UnauthorizedException" }),
            "{case} on {path}: the body never says which check failed"
        );
    }
}

#[tokio::test]
async fn valid_access_token_raw_or_bearer() {
    let (jwks, app) = setup().await;
    let token = token_with("key-a", &keys()[0], &access_claims(&jwks.issuer));
    for value in [token.clone(), format!("Bearer {token}")] {
        let res = get(&app, "/me", Some(&value)).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            json_body(res).await,
            json!({ "sub": "6f1c2b1e-0000-4000-8000-000000000001", "username": "alice" })
        );
        let res = get(&app, "/maybe", Some(&value)).await;
        assert_eq!(json_body(res).await, json!({ "username": "alice" }));
    }
    assert_eq!(jwks.fetches(), 1, "the JWKS is fetched once, at start-up");
}

#[tokio::test]
async fn missing_header_is_401_when_required_and_anonymous_when_optional() {
    let (_jwks, app) = setup().await;
    let res = get(&app, "/me", None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        json_body(res).await,
        json!({ "__type": "UnauthorizedException" })
    );
    let res = get(&app, "/maybe", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_body(res).await, json!({ "username": null }));
}

#[tokio::test]
async fn rejected_tokens() {
    let (jwks, app) = setup().await;
    let key = &keys()[0];
    let good = access_claims(&jwks.issuer);
    let with = |field: &str, value: Value| {
        let mut claims = good.clone();
        claims[field] = value;
        claims
    };

    let none = format!(
        "{}.{}.",
        b64(&json!({ "kid": "key-a", "alg": "none" })),
        b64(&good)
    );
    assert_unauthorized(&app, &none, "alg none").await;
    let none_with_sig = sign(&json!({ "kid": "key-a", "alg": "none" }), &good, key);
    assert_unauthorized(&app, &none_with_sig, "alg none with a signature").await;
    let hs256 = sign(&json!({ "kid": "key-a", "alg": "HS256" }), &good, key);
    assert_unauthorized(&app, &hs256, "alg HS256").await;
    let rs512 = sign(&json!({ "kid": "key-a", "alg": "RS512" }), &good, key);
    assert_unauthorized(&app, &rs512, "alg RS512").await;
    let no_kid = sign(&json!({ "alg": "RS256" }), &good, key);
    assert_unauthorized(&app, &no_kid, "no kid").await;

    let unknown_kid = token_with("key-x", &keys()[1], &good);
    assert_unauthorized(&app, &unknown_kid, "unknown kid").await;
    let wrong_key = token_with("key-a", &keys()[1], &good);
    assert_unauthorized(&app, &wrong_key, "signed by another key").await;

    let expired = token_with("key-a", key, &with("exp", json!(now() - 3600)));
    assert_unauthorized(&app, &expired, "expired").await;
    let wrong_iss = token_with(
        "key-a",
        key,
        &with(
            "iss",
            json!(format!(
                "https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
            )),
        ),
    );
    assert_unauthorized(&app, &wrong_iss, "wrong issuer").await;
    let wrong_client = token_with("key-a", key, &with("client_id", json!("someone-else")));
    assert_unauthorized(&app, &wrong_client, "wrong client id").await;

    let id_token = token_with(
        "key-a",
        key,
        &json!({
            "sub": "6f1c2b1e-0000-4000-8000-000000000001",
            "aud": CLIENT_ID,
            "email_verified": true,
            "token_use": "id",
            "auth_time": now(),
            "iss": jwks.issuer,
            "cognito:username": "alice",
            "exp": now() + 3600,
            "iat": now(),
            "email": "alice@example.com"
        }),
    );
    assert_unauthorized(&app, &id_token, "ID token offered as access token").await;
    let id_use_with_client = token_with("key-a", key, &with("token_use", json!("id")));
    assert_unauthorized(&app, &id_use_with_client, "token_use id").await;

    let valid = token_with("key-a", key, &good);
    let (input, sig) = valid.rsplit_once('.').unwrap();
    let mut sig_bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig_bytes[10] ^= 0x01;
    let tampered_sig = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig_bytes));
    assert_unauthorized(&app, &tampered_sig, "tampered signature").await;
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    parts[1] = b64(&with("username", json!("mallory")));
    assert_unauthorized(&app, &parts.join("."), "tampered claims").await;

    for garbage in [
        "garbage",
        "a.b.c",
        "Bearer ",
        "",
        "...",
        "Bearer a.b",
        "e30.e30.e30",
    ] {
        assert_unauthorized(&app, garbage, &format!("garbage {garbage:?}")).await;
    }
}

#[tokio::test]
async fn rotated_keys_are_fetched_once_and_unknown_kids_are_rate_limited() {
    let (jwks, app) = setup().await;
    assert_eq!(jwks.fetches(), 1);
    jwks.state
        .lock()
        .unwrap()
        .keys
        .push(jwk("key-b", &keys()[1]));
    let rotated = token_with("key-b", &keys()[1], &access_claims(&jwks.issuer));

    let requests = (0..12).map(|_| get(&app, "/me", Some(&rotated)));
    for res in futures_util::future::join_all(requests).await {
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        jwks.fetches(),
        2,
        "concurrent unknown kids share one re-fetch"
    );

    let unknown = token_with("key-c", &keys()[2], &access_claims(&jwks.issuer));
    for _ in 0..3 {
        assert_eq!(get(&app, "/me", Some(&unknown)).await.status(), 401);
    }
    assert_eq!(jwks.fetches(), 2, "at most one re-fetch per 10 s");
}

#[tokio::test]
async fn jwks_outage_on_refresh_is_503() {
    let (jwks, app) = setup().await;
    jwks.state.lock().unwrap().failing = true;
    let unknown = token_with("key-b", &keys()[1], &access_claims(&jwks.issuer));
    let res = get(&app, "/me", Some(&unknown)).await;
    assert_eq!(res.status(), 503);
    assert_eq!(
        json_body(res).await,
        json!({ "__type": "ServiceUnavailableException" })
    );
    // Known keys keep working during the outage.
    let known = token_with("key-a", &keys()[0], &access_claims(&jwks.issuer));
    assert_eq!(get(&app, "/me", Some(&known)).await.status(), 200);
}

#[tokio::test]
async fn verifier_fails_fast_when_the_jwks_is_unreachable_or_empty() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut config = Jwks::start(vec![]).config();
    assert!(Verifier::new(&config).await.is_err(), "no usable key");
    config.jwks_url = format!("http://127.0.0.1:{port}/jwks.json");
    assert!(Verifier::new(&config).await.is_err(), "unreachable");
}
