//! Amazon Creators API (`docs/wire-protocols.md` §13): the OAuth 2.0 client-credentials token
//! endpoints (Cognito-style `/oauth2/token` for 2.x credentials, LwA-style `/auth/o2/token` for
//! 3.x) and `searchItems` / `getItems`, answered from a small built-in catalogue.
//!
//! Tokens live in memory for an hour (a restart invalidates them, and clients refresh on 401 as
//! the API requires). Each token is rate-limited with a token bucket (1 request/s, burst 10 by
//! default), answering 429 `ThrottleException` beyond it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::core::config::EmulatorConfig;
use crate::core::json::{self, BodyError};
use crate::core::routing::{path_operation, PathOperation};

const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const SCOPE_COGNITO: &str = "creatorsapi/default";
const SCOPE_LWA: &str = "creatorsapi::default";

pub struct Creators {
    credentials: RwLock<(String, String)>,
    rate: RwLock<RateLimit>,
    tokens: Mutex<HashMap<String, Token>>,
}

/// Requests per second per token, and the burst allowed on top.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 1.0,
            burst: 10.0,
        }
    }
}

struct Token {
    /// `2` for Cognito-style (2.x) tokens, `3` for LwA-style (3.x) tokens.
    family: u8,
    expires: Instant,
    allowance: f64,
    last: Instant,
}

impl Creators {
    pub fn load(_dir: Option<&Path>, _config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            credentials: RwLock::new(("local-client".to_owned(), "local-secret".to_owned())),
            rate: RwLock::new(RateLimit::default()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The only client id / secret the token endpoints accept (default `local-client` /
    /// `local-secret`). Tokens already issued stay valid.
    pub fn set_credentials(&self, client_id: impl Into<String>, client_secret: impl Into<String>) {
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) =
            (client_id.into(), client_secret.into());
    }

    /// Changes the per-token rate limit of the catalog operations.
    pub fn set_rate_limit(&self, limit: RateLimit) {
        *self.rate.write().unwrap_or_else(|p| p.into_inner()) = limit;
    }

    fn issue(&self, client_id: &str, family: u8) -> String {
        let random: [u8; 24] = rand::random();
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let token = if family == 2 {
            let header = b64(br#"{"kid":"emulator","alg":"none"}"#);
            let claims = json!({"client_id": client_id, "scope": SCOPE_COGNITO, "token_use": "access",
                "iat": time::OffsetDateTime::now_utc().unix_timestamp()});
            format!(
                "{header}.{}.{}",
                b64(claims.to_string().as_bytes()),
                b64(&random)
            )
        } else {
            format!("Atc|{}", b64(&random))
        };
        let now = Instant::now();
        let burst = self.rate.read().unwrap_or_else(|p| p.into_inner()).burst;
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, t| t.expires > now);
        tokens.insert(
            token.clone(),
            Token {
                family,
                expires: now + TOKEN_LIFETIME,
                allowance: burst,
                last: now,
            },
        );
        token
    }

    /// Checks the `Authorization` header and takes one request from the token's bucket.
    fn admit(&self, authorization: Option<&str>) -> Result<(), ApiError> {
        let invalid = || {
            ApiError::unauthorized(
                "InvalidToken",
                "The authentication token is invalid or malformed.",
            )
        };
        let value = authorization.ok_or_else(invalid)?;
        let mut parts = value.split(',').map(str::trim);
        let bearer = parts
            .next()
            .and_then(|p| p.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(invalid)?;
        let version = parts
            .find_map(|p| p.strip_prefix("Version "))
            .map(str::trim);
        let rate = *self.rate.read().unwrap_or_else(|p| p.into_inner());
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let token = tokens.get_mut(bearer).ok_or_else(invalid)?;
        let now = Instant::now();
        if token.expires <= now {
            return Err(ApiError::unauthorized(
                "TokenExpired",
                "The authentication token has expired.",
            ));
        }
        if let Some(v) = version {
            let major = v.split('.').next().and_then(|m| m.parse::<u8>().ok());
            if major != Some(token.family) {
                return Err(ApiError::unauthorized(
                    "InvalidIssuer",
                    "The authentication token was not issued for the credential version provided.",
                ));
            }
        }
        let elapsed = now.duration_since(token.last).as_secs_f64();
        token.last = now;
        token.allowance = (token.allowance + elapsed * rate.per_second).min(rate.burst);
        if token.allowance < 1.0 {
            let wait = ((1.0 - token.allowance) / rate.per_second.max(f64::MIN_POSITIVE))
                .ceil()
                .max(1.0);
            return Err(ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                body: json!({"type": "ThrottleException", "message": "Rate exceeded.", "retryAfterSeconds": wait as u64}),
            });
        }
        token.allowance -= 1.0;
        Ok(())
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth2/token", web::post().to(token_cognito))
        .route("/auth/o2/token", web::post().to(token_lwa))
        .route(
            "/catalog/v1/{operation}",
            web::post()
                .guard(PathOperation::<CatalogOp>::new())
                .to(catalog),
        );
}

/// The catalog operations, served at `POST /catalog/v1/<operation>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum CatalogOp {
    SearchItems,
    GetItems,
}

/// An error of the catalog API: `{"type", "message", "reason", ...}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    fn new(status: u16, kind: &str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            body: json!({"type": kind, "message": message.into(), "reason": reason}),
        }
    }

    fn unauthorized(reason: &str, message: &str) -> Self {
        Self::new(401, "UnauthorizedException", reason, message)
    }

    fn validation(reason: &str, message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", reason, message)
    }

    fn field(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::validation("FieldValidationFailed", message);
        if let Some(map) = e.body.as_object_mut() {
            map.insert("fieldList".to_owned(), json!([field]));
        }
        e
    }

    fn response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(wait) = self.body.get("retryAfterSeconds").and_then(Value::as_u64) {
            builder.insert_header(("Retry-After", wait.to_string()));
        }
        builder.json(&self.body)
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"error": error, "error_description": description}))
}

/// The token request's fields, from a form or JSON body plus an optional Basic header.
fn token_fields(
    req: &HttpRequest,
    body: &[u8],
) -> Result<HashMap<String, String>, Box<HttpResponse>> {
    let is_json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let mut fields: HashMap<String, String> = if is_json {
        let value: Value = serde_json::from_slice(body).map_err(|_| {
            Box::new(oauth_error(
                400,
                "invalid_request",
                "The request body is not valid JSON.",
            ))
        })?;
        value
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        web::Query::<Vec<(String, String)>>::from_query(
            std::str::from_utf8(body).unwrap_or_default(),
        )
        .map_err(|_| {
            Box::new(oauth_error(
                400,
                "invalid_request",
                "The request body is not form-encoded.",
            ))
        })?
        .into_inner()
        .into_iter()
        .collect()
    };
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    if let Some((id, secret)) = basic.as_deref().and_then(|b| b.split_once(':')) {
        fields
            .entry("client_id".to_owned())
            .or_insert_with(|| id.to_owned());
        fields
            .entry("client_secret".to_owned())
            .or_insert_with(|| secret.to_owned());
    }
    Ok(fields)
}

fn token(req: &HttpRequest, body: &[u8], creators: &Creators, family: u8) -> HttpResponse {
    let fields = match token_fields(req, body) {
        Ok(f) => f,
        Err(response) => return *response,
    };
    if fields.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "Only grant_type=client_credentials is supported.",
        );
    }
    let (id, secret) = creators
        .credentials
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let client_id = fields
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    let client_secret = fields
        .get("client_secret")
        .map(String::as_str)
        .unwrap_or_default();
    let ok = aws_lc_rs::constant_time::verify_slices_are_equal(client_id.as_bytes(), id.as_bytes())
        .is_ok()
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            client_secret.as_bytes(),
            secret.as_bytes(),
        )
        .is_ok();
    if !ok {
        return oauth_error(401, "invalid_client", "Client authentication failed");
    }
    let scope = if family == 2 {
        SCOPE_COGNITO
    } else {
        SCOPE_LWA
    };
    if fields.get("scope").is_some_and(|s| s != scope) {
        return oauth_error(400, "invalid_scope", &format!("The scope must be {scope}."));
    }
    let access_token = creators.issue(client_id, family);
    let body = if family == 2 {
        json!({"access_token": access_token, "expires_in": TOKEN_LIFETIME.as_secs(), "token_type": "Bearer"})
    } else {
        json!({"access_token": access_token, "scope": scope, "token_type": "bearer", "expires_in": TOKEN_LIFETIME.as_secs()})
    };
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

async fn token_cognito(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<crate::server::Shared>,
) -> HttpResponse {
    token(&req, &body, &shared.creators, 2)
}

async fn token_lwa(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<crate::server::Shared>,
) -> HttpResponse {
    token(&req, &body, &shared.creators, 3)
}

/// A marketplace: its domain, currency and the languages it accepts (the first is its default).
struct Marketplace {
    domain: &'static str,
    currency: &'static str,
    /// Multiplier from the catalogue's USD prices.
    rate: f64,
    languages: &'static [&'static str],
}

const MARKETPLACES: &[Marketplace] = &[
    Marketplace {
        domain: "www.amazon.com",
        currency: "USD",
        rate: 1.0,
        languages: &[
            "en_US", "es_US", "de_DE", "ko_KR", "pt_BR", "zh_CN", "zh_TW",
        ],
    },
    Marketplace {
        domain: "www.amazon.ca",
        currency: "CAD",
        rate: 1.37,
        languages: &["en_CA", "fr_CA"],
    },
    Marketplace {
        domain: "www.amazon.co.uk",
        currency: "GBP",
        rate: 0.79,
        languages: &["en_GB"],
    },
    Marketplace {
        domain: "www.amazon.de",
        currency: "EUR",
        rate: 0.92,
        languages: &["de_DE", "cs_CZ", "en_GB", "nl_NL", "pl_PL", "tr_TR"],
    },
    Marketplace {
        domain: "www.amazon.fr",
        currency: "EUR",
        rate: 0.92,
        languages: &["fr_FR", "en_GB"],
    },
    Marketplace {
        domain: "www.amazon.it",
        currency: "EUR",
        rate: 0.92,
        languages: &["it_IT", "en_GB"],
    },
    Marketplace {
        domain: "www.amazon.es",
        currency: "EUR",
        rate: 0.92,
        languages: &["es_ES", "en_GB"],
    },
    Marketplace {
        domain: "www.amazon.co.jp",
        currency: "JPY",
        rate: 150.0,
        languages: &["ja_JP", "en_US", "zh_CN"],
    },
    Marketplace {
        domain: "www.amazon.com.au",
        currency: "AUD",
        rate: 1.52,
        languages: &["en_AU"],
    },
    Marketplace {
        domain: "www.amazon.in",
        currency: "INR",
        rate: 83.0,
        languages: &["en_IN", "hi_IN", "kn_IN", "ml_IN", "ta_IN", "te_IN"],
    },
];

fn display_amount(amount: f64, currency: &str) -> String {
    let whole_digits = |n: u64| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    match currency {
        "JPY" => format!("￥{}", whole_digits(amount.round() as u64)),
        "EUR" => {
            let cents = (amount * 100.0).round() as u64;
            format!(
                "{},{:02} €",
                whole_digits(cents / 100).replace(',', "."),
                cents % 100
            )
        }
        _ => {
            let cents = (amount * 100.0).round() as u64;
            let symbol = match currency {
                "GBP" => "£",
                "INR" => "₹",
                _ => "$",
            };
            format!("{symbol}{}.{:02}", whole_digits(cents / 100), cents % 100)
        }
    }
}

/// One catalogue entry.
struct Product {
    asin: &'static str,
    title: &'static str,
    /// USD; `None` when no buy-box offer exists.
    price: Option<f64>,
    merchant: (&'static str, &'static str),
    image: &'static str,
    /// `YYYY-MM-DD`, for `NewestArrivals`.
    released: &'static str,
    rating: f64,
}

const AMAZON: (&str, &str) = ("ATVPDKIKX0DER", "Amazon.com");

/// The built-in catalogue; its order is the `Featured` order.
const CATALOGUE: &[Product] = &[
    Product {
        asin: "B0EMU00001",
        title: "Pro USB Condenser Microphone for Streaming and Podcasting",
        price: Some(129.99),
        merchant: AMAZON,
        image: "41mic01emu",
        released: "2025-09-12",
        rating: 4.7,
    },
    Product {
        asin: "B0EMU00002",
        title: "1080p HD Webcam with Ring Light and Stereo Microphone",
        price: Some(59.99),
        merchant: AMAZON,
        image: "41cam02emu",
        released: "2025-03-02",
        rating: 4.4,
    },
    Product {
        asin: "B0EMU00003",
        title: "4K60 HDR Capture Card for Game Streaming",
        price: Some(179.00),
        merchant: ("A2EMUCAPTURE", "StreamGear Direct"),
        image: "41cap03emu",
        released: "2025-11-20",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00004",
        title: "Mechanical Gaming Keyboard, RGB Backlit, Hot-Swappable Switches",
        price: Some(89.99),
        merchant: AMAZON,
        image: "41kbd04emu",
        released: "2024-10-05",
        rating: 4.5,
    },
    Product {
        asin: "B0EMU00005",
        title: "Wireless Gaming Mouse, 26K DPI Optical Sensor, 70-Hour Battery",
        price: Some(69.99),
        merchant: AMAZON,
        image: "41mse05emu",
        released: "2025-01-15",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00006",
        title: "Over-Ear Studio Headphones, Closed Back, Detachable Cable",
        price: Some(149.00),
        merchant: ("A3EMUAUDIO", "Audio Outlet"),
        image: "41hdp06emu",
        released: "2023-06-30",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00007",
        title: "18-Inch LED Ring Light with Tripod Stand and Phone Holder",
        price: Some(45.99),
        merchant: ("A4EMULIGHT", "BrightShop"),
        image: "41rng07emu",
        released: "2024-04-18",
        rating: 4.3,
    },
    Product {
        asin: "B0EMU00008",
        title: "Stream Deck Controller with 15 Customizable LCD Keys",
        price: Some(149.99),
        merchant: AMAZON,
        image: "41dck08emu",
        released: "2024-08-01",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00009",
        title: "Boom Arm Microphone Stand with Cable Management",
        price: Some(34.99),
        merchant: ("A2EMUCAPTURE", "StreamGear Direct"),
        image: "41arm09emu",
        released: "2023-12-10",
        rating: 4.5,
    },
    Product {
        asin: "B0EMU00010",
        title: "27-Inch 1440p Gaming Monitor, 165Hz, 1ms, HDR400",
        price: Some(279.99),
        merchant: AMAZON,
        image: "41mon10emu",
        released: "2025-05-22",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00011",
        title: "Ergonomic Gaming Chair with Lumbar Support and Footrest",
        price: Some(199.99),
        merchant: ("A5EMUFURN", "Comfort Seating Co."),
        image: "41chr11emu",
        released: "2024-02-14",
        rating: 4.2,
    },
    Product {
        asin: "B0EMU00012",
        title: "Green Screen Backdrop, Collapsible, Wrinkle-Resistant",
        price: Some(119.99),
        merchant: ("A4EMULIGHT", "BrightShop"),
        image: "41grn12emu",
        released: "2023-09-09",
        rating: 4.4,
    },
    Product {
        asin: "B0EMU00013",
        title: "Portable SSD 2TB, USB-C, up to 1050MB/s",
        price: Some(139.99),
        merchant: AMAZON,
        image: "41ssd13emu",
        released: "2025-07-07",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00014",
        title: "Wi-Fi 6E Tri-Band Gaming Router",
        price: Some(249.99),
        merchant: AMAZON,
        image: "41rtr14emu",
        released: "2025-02-11",
        rating: 4.3,
    },
    Product {
        asin: "B0EMU00015",
        title: "Acoustic Foam Panels, 24 Pack, Sound Dampening Wedges",
        price: Some(27.99),
        merchant: ("A6EMUHOME", "Studio Basics"),
        image: "41fom15emu",
        released: "2022-11-25",
        rating: 4.1,
    },
    Product {
        asin: "B0EMU00016",
        title: "Compact Audio Interface, 2-In/2-Out, 24-bit/192kHz",
        price: Some(119.00),
        merchant: ("A3EMUAUDIO", "Audio Outlet"),
        image: "41aif16emu",
        released: "2024-06-03",
        rating: 4.7,
    },
    Product {
        asin: "B0EMU00017",
        title: "Mirrorless Camera Body, 24MP, 4K Video, Clean HDMI Out",
        price: Some(2740.00),
        merchant: ("A7EMUCAMERA", "Camera Corner"),
        image: "41mcb17emu",
        released: "2025-10-01",
        rating: 4.9,
    },
    Product {
        asin: "B0EMU00018",
        title: "Key Light Panel, 2800 Lumens, App-Controlled",
        price: Some(179.99),
        merchant: AMAZON,
        image: "41kl18emu",
        released: "2024-12-02",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00019",
        title: "Wireless Controller for Xbox and PC, Carbon Black",
        price: Some(59.99),
        merchant: AMAZON,
        image: "41ctl19emu",
        released: "2023-03-17",
        rating: 4.7,
    },
    Product {
        asin: "B0EMU00020",
        title: "Pro Controller for Nintendo Switch",
        price: Some(69.99),
        merchant: AMAZON,
        image: "41ctl20emu",
        released: "2022-08-20",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00021",
        title: "Streaming for Beginners: Build Your Live Audience (Paperback)",
        price: Some(19.99),
        merchant: AMAZON,
        image: "51bk21emu",
        released: "2025-04-04",
        rating: 4.3,
    },
    Product {
        asin: "B0EMU00022",
        title: "The Art of Game Design: A Book of Lenses (Hardcover)",
        price: Some(54.95),
        merchant: AMAZON,
        image: "51bk22emu",
        released: "2019-07-31",
        rating: 4.7,
    },
    Product {
        asin: "B0EMU00023",
        title: "Custom T-Shirts - Athletic Grey - 180pcs",
        price: Some(2740.00),
        merchant: ("A8EMUAPPAREL", "Custom Apparel House"),
        image: "41tsh23emu",
        released: "2024-09-15",
        rating: 4.0,
    },
    Product {
        asin: "B0EMU00024",
        title: "Unisex Hoodie, Heavyweight Fleece, Streamer Logo Print",
        price: Some(39.99),
        merchant: ("A8EMUAPPAREL", "Custom Apparel House"),
        image: "41hod24emu",
        released: "2025-08-28",
        rating: 4.4,
    },
    Product {
        asin: "B0EMU00025",
        title: "Insulated Water Bottle, 32 oz, Stainless Steel",
        price: Some(24.95),
        merchant: ("A6EMUHOME", "Studio Basics"),
        image: "41btl25emu",
        released: "2023-05-05",
        rating: 4.8,
    },
    Product {
        asin: "B0EMU00026",
        title: "Espresso Machine with Milk Frother, 15 Bar",
        price: Some(299.00),
        merchant: AMAZON,
        image: "41esp26emu",
        released: "2024-11-11",
        rating: 4.5,
    },
    Product {
        asin: "B0EMU00027",
        title: "Blue Light Glasses for Gaming and Computer Use",
        price: Some(16.99),
        merchant: ("A9EMUOPTIC", "Clear View Optics"),
        image: "41gls27emu",
        released: "2022-02-02",
        rating: 4.0,
    },
    Product {
        asin: "B0EMU00028",
        title: "USB-C Docking Station, Dual HDMI, 100W Power Delivery",
        price: Some(89.00),
        merchant: AMAZON,
        image: "41dok28emu",
        released: "2025-06-16",
        rating: 4.4,
    },
    Product {
        asin: "B0EMU00029",
        title: "Smart LED Light Strip, 16 Million Colors, Music Sync",
        price: Some(29.99),
        merchant: ("A4EMULIGHT", "BrightShop"),
        image: "41led29emu",
        released: "2024-01-20",
        rating: 4.3,
    },
    Product {
        asin: "B0EMU00030",
        title: "Avengers Collector Edition Action Figure Set",
        price: None,
        merchant: ("AAEMUTOYS", "Hero Toys"),
        image: "41avg30emu",
        released: "2025-12-01",
        rating: 4.6,
    },
    Product {
        asin: "B0EMU00031",
        title: "Gaming Headset with Noise-Cancelling Microphone, 7.1 Surround",
        price: Some(79.99),
        merchant: AMAZON,
        image: "41hst31emu",
        released: "2025-02-27",
        rating: 4.5,
    },
    Product {
        asin: "B0EMU00032",
        title: "Laptop Stand, Adjustable Aluminum, Ventilated",
        price: Some(32.99),
        merchant: ("A6EMUHOME", "Studio Basics"),
        image: "41lps32emu",
        released: "2023-10-30",
        rating: 4.6,
    },
];

const RESOURCES: &[&str] = &[
    "itemInfo.title",
    "images.primary.small",
    "images.primary.medium",
    "images.primary.large",
    "images.primary.hiRes",
    "offersV2.listings.price",
    "offersV2.listings.merchantInfo",
    "offersV2.listings.availability",
    "offersV2.listings.condition",
    "offersV2.listings.isBuyBoxWinner",
];

const SORTS: &[&str] = &[
    "AvgCustomerReviews",
    "Featured",
    "NewestArrivals",
    "Price:HighToLow",
    "Price:LowToHigh",
    "Relevance",
];

/// The request fields every catalog operation shares.
struct Common {
    marketplace: &'static Marketplace,
    partner_tag: String,
    language: &'static str,
    resources: Vec<String>,
}

fn common(req: &HttpRequest, body: &Value) -> Result<Common, ApiError> {
    let header = req
        .headers()
        .get("x-marketplace")
        .and_then(|v| v.to_str().ok());
    let in_body = body.get("marketplace").and_then(Value::as_str);
    let domain = match (header, in_body) {
        (Some(h), Some(b)) if !h.eq_ignore_ascii_case(b) => {
            return Err(ApiError::field(
                "marketplace",
                "The marketplace in the body does not match the x-marketplace header.",
            ))
        }
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => {
            return Err(ApiError::field(
                "x-marketplace",
                "The x-marketplace header is required.",
            ))
        }
    };
    let marketplace = MARKETPLACES
        .iter()
        .find(|m| m.domain.eq_ignore_ascii_case(domain))
        .ok_or_else(|| {
            ApiError::field(
                "marketplace",
                format!("The marketplace {domain} is not supported."),
            )
        })?;
    let partner_tag = body
        .get("partnerTag")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::field("partnerTag", "The partnerTag field is required."))?;
    let valid_tag = partner_tag.rsplit_once('-').is_some_and(|(name, n)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && n.len() == 2
            && n.chars().all(|c| c.is_ascii_digit())
    });
    if !valid_tag {
        return Err(ApiError::validation(
            "InvalidPartnerTag",
            format!(
                "The partner tag {partner_tag} is invalid or not mapped to the marketplace {}.",
                marketplace.domain
            ),
        ));
    }
    let language = match body.get("languagesOfPreference") {
        None | Some(Value::Null) => marketplace.languages.first().copied().unwrap_or("en_US"),
        Some(Value::Array(list)) => match list.as_slice() {
            [Value::String(l)] => marketplace
                .languages
                .iter()
                .copied()
                .find(|known| known == l)
                .ok_or_else(|| {
                    ApiError::field(
                        "languagesOfPreference",
                        format!("The language {l} is not valid for {}.", marketplace.domain),
                    )
                })?,
            _ => {
                return Err(ApiError::field(
                    "languagesOfPreference",
                    "languagesOfPreference must hold exactly one language.",
                ))
            }
        },
        Some(_) => {
            return Err(ApiError::field(
                "languagesOfPreference",
                "languagesOfPreference must be a list.",
            ))
        }
    };
    let resources = match body.get("resources") {
        None | Some(Value::Null) => vec!["itemInfo.title".to_owned()],
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for r in list {
                let r = r
                    .as_str()
                    .filter(|r| RESOURCES.contains(r))
                    .ok_or_else(|| {
                        ApiError::field("resources", format!("The resource {r} is not valid."))
                    })?;
                out.push(r.to_owned());
            }
            out
        }
        Some(_) => return Err(ApiError::field("resources", "resources must be a list.")),
    };
    Ok(Common {
        marketplace,
        partner_tag: partner_tag.to_owned(),
        language,
        resources,
    })
}

fn int_field(body: &Value, name: &str, default: u64) -> Result<u64, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().filter(|n| (1..=10).contains(n)).ok_or_else(|| {
            ApiError::field(name, format!("{name} must be an integer from 1 to 10."))
        }),
    }
}

fn item_json(p: &Product, c: &Common) -> Value {
    let has = |r: &str| c.resources.iter().any(|x| x == r);
    let domain = c.marketplace.domain;
    let mut item = json!({
        "asin": p.asin,
        "detailPageURL": format!("https://{domain}/dp/{}?tag={}&linkCode=osi&th=1&psc=1", p.asin, c.partner_tag),
    });
    let Some(map) = item.as_object_mut() else {
        return item;
    };
    if has("itemInfo.title") {
        map.insert(
            "itemInfo".to_owned(),
            json!({"title": {"displayValue": p.title, "label": "Title", "locale": c.language}}),
        );
    }
    let mut primary = serde_json::Map::new();
    for (resource, name, size) in [
        ("images.primary.small", "small", 75),
        ("images.primary.medium", "medium", 160),
        ("images.primary.large", "large", 500),
        ("images.primary.hiRes", "hiRes", 1500),
    ] {
        if has(resource) {
            primary.insert(
                name.to_owned(),
                json!({"url": format!("https://m.media-amazon.com/images/I/{}._SL{size}_.jpg", p.image), "height": size, "width": size}),
            );
        }
    }
    if !primary.is_empty() {
        map.insert("images".to_owned(), json!({"primary": primary}));
    }
    let listing_resources = [
        "price",
        "merchantInfo",
        "availability",
        "condition",
        "isBuyBoxWinner",
    ];
    if let Some(usd) = p.price.filter(|_| {
        listing_resources
            .iter()
            .any(|r| has(&format!("offersV2.listings.{r}")))
    }) {
        let amount = (usd * c.marketplace.rate * 100.0).round() / 100.0;
        let mut listing = serde_json::Map::new();
        listing.insert("violatesMAP".to_owned(), json!(false));
        if has("offersV2.listings.isBuyBoxWinner") || has("offersV2.listings.price") {
            listing.insert("isBuyBoxWinner".to_owned(), json!(true));
        }
        if has("offersV2.listings.price") {
            listing.insert(
                "price".to_owned(),
                json!({"money": {"amount": amount, "currency": c.marketplace.currency, "displayAmount": display_amount(amount, c.marketplace.currency)}}),
            );
        }
        if has("offersV2.listings.merchantInfo") {
            listing.insert(
                "merchantInfo".to_owned(),
                json!({"id": p.merchant.0, "name": p.merchant.1}),
            );
        }
        if has("offersV2.listings.availability") {
            listing.insert("availability".to_owned(), json!({"type": "IN_STOCK", "message": "In Stock", "minOrderQuantity": 1, "maxOrderQuantity": 10}));
        }
        if has("offersV2.listings.condition") {
            listing.insert("condition".to_owned(), json!({"value": "New"}));
        }
        map.insert("offersV2".to_owned(), json!({"listings": [listing]}));
    }
    item
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How many of the query words a product's title matches (a title word starting with the query
/// word counts, so `keyboard` finds `keyboards`).
fn relevance(p: &Product, query: &[String]) -> usize {
    let title = words(p.title);
    let merchant = words(p.merchant.1);
    query
        .iter()
        .filter(|q| {
            title
                .iter()
                .chain(merchant.iter())
                .any(|w| w.starts_with(q.as_str()))
        })
        .count()
}

async fn catalog(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<crate::server::Shared>,
) -> HttpResponse {
    match catalog_call(&req, &body, &shared.creators) {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => e.response(),
    }
}

/// Admission (token and rate limit), the body, the fields every operation shares, then the
/// operation.
fn catalog_call(req: &HttpRequest, body: &[u8], creators: &Creators) -> Result<Value, ApiError> {
    let op = path_operation::<CatalogOp>(req.path())
        .ok_or_else(|| ApiError::validation("UnknownOperation", "Unknown operation"))?;
    creators.admit(
        req.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
    )?;
    let body = Value::Object(json::parse_object(body)?);
    let c = common(req, &body)?;
    match op {
        CatalogOp::SearchItems => search(&body, &c),
        CatalogOp::GetItems => get_items(&body, &c),
    }
}

/// The catalog API calls a body it cannot read `CannotParse`; a member of the wrong type fails
/// validation of that field.
impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match &e {
            BodyError::Member { path, .. } => Self::field(path, e.to_string()),
            BodyError::Syntax(_) | BodyError::NotObject => {
                Self::validation("CannotParse", e.to_string())
            }
        }
    }
}

fn search(body: &Value, c: &Common) -> Result<Value, ApiError> {
    let text: String = ["keywords", "title", "brand", "actor", "artist", "author"]
        .iter()
        .filter_map(|f| body.get(*f).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let query = words(&text);
    if query.is_empty() {
        return Err(ApiError::field(
            "keywords",
            "One of keywords, actor, artist, author, brand, title or browseNodeId is required.",
        ));
    }
    let count = int_field(body, "itemCount", 10)? as usize;
    let page = int_field(body, "itemPage", 1)? as usize;
    let sort = match body.get("sortBy") {
        None | Some(Value::Null) => "Relevance",
        Some(Value::String(s)) if SORTS.contains(&s.as_str()) => s.as_str(),
        Some(_) => {
            return Err(ApiError::field(
                "sortBy",
                format!("sortBy must be one of {}.", SORTS.join(", ")),
            ))
        }
    };
    let mut hits: Vec<(usize, usize, &Product)> = CATALOGUE
        .iter()
        .enumerate()
        .map(|(rank, p)| (rank, relevance(p, &query), p))
        .filter(|(_, score, _)| *score > 0)
        .collect();
    let price = |p: &Product| p.price.unwrap_or(f64::NAN);
    match sort {
        "Price:LowToHigh" => {
            hits.sort_by(|a, b| price(a.2).total_cmp(&price(b.2)).then(a.0.cmp(&b.0)))
        }
        "Price:HighToLow" => hits.sort_by(|a, b| {
            // Items without a price go last either way.
            let (x, y) = (a.2.price.unwrap_or(-1.0), b.2.price.unwrap_or(-1.0));
            y.total_cmp(&x).then(a.0.cmp(&b.0))
        }),
        "NewestArrivals" => hits.sort_by(|a, b| b.2.released.cmp(a.2.released).then(a.0.cmp(&b.0))),
        "AvgCustomerReviews" => {
            hits.sort_by(|a, b| b.2.rating.total_cmp(&a.2.rating).then(a.0.cmp(&b.0)))
        }
        "Featured" => hits.sort_by_key(|h| h.0),
        _ => hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0))),
    }
    let keywords = body
        .get("keywords")
        .and_then(Value::as_str)
        .unwrap_or(&text);
    if hits.is_empty() {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            body: json!({"type": "ResourceNotFoundException", "message": "No results found for your search request",
                "reason": "Other", "resourceType": "SearchResult", "resourceId": keywords}),
        });
    }
    let total = hits.len();
    let items: Vec<Value> = hits
        .iter()
        .skip((page - 1) * count)
        .take(count)
        .map(|(_, _, p)| item_json(p, c))
        .collect();
    let page_is_empty = items.is_empty();
    let field_keywords: String = query.join("+");
    let mut result = json!({
        "searchResult": {
            "totalResultCount": total,
            "searchURL": format!("https://{}/s/?field-keywords={field_keywords}&search-alias=aps&tag={}&linkCode=osi", c.marketplace.domain, c.partner_tag),
            "items": items,
        }
    });
    if page_is_empty {
        if let Some(map) = result.as_object_mut() {
            map.insert(
                "errors".to_owned(),
                json!([{"code": "InvalidParameterValue",
                    "message": format!("The value provided in the request for itemPage is beyond the last page ({}).", total.div_ceil(count))}]),
            );
        }
    }
    Ok(result)
}

fn get_items(body: &Value, c: &Common) -> Result<Value, ApiError> {
    let ids = body
        .get("itemIds")
        .and_then(Value::as_array)
        .filter(|ids| (1..=10).contains(&ids.len()))
        .ok_or_else(|| ApiError::field("itemIds", "itemIds must hold 1 to 10 ASINs."))?;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let id = id.as_str().unwrap_or_default();
        match CATALOGUE.iter().find(|p| p.asin == id) {
            Some(p) => items.push(item_json(p, c)),
            None => errors.push(json!({"code": "InvalidParameterValue",
                "message": format!("The ItemId {id} provided in the request is invalid.")})),
        }
    }
    let mut out = json!({"itemsResult": {"items": items}});
    if let (false, Some(map)) = (errors.is_empty(), out.as_object_mut()) {
        map.insert("errors".to_owned(), Value::Array(errors));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_amounts() {
        assert_eq!(display_amount(2740.0, "USD"), "$2,740.00");
        assert_eq!(display_amount(49.99, "USD"), "$49.99");
        assert_eq!(display_amount(1234.5, "EUR"), "1.234,50 €");
        assert_eq!(display_amount(5480.0, "JPY"), "￥5,480");
        assert_eq!(display_amount(0.79, "GBP"), "£0.79");
    }

    #[test]
    fn catalogue_is_consistent() {
        assert!(CATALOGUE.len() >= 30);
        let mut asins: Vec<_> = CATALOGUE.iter().map(|p| p.asin).collect();
        asins.sort_unstable();
        asins.dedup();
        assert_eq!(asins.len(), CATALOGUE.len());
        assert!(relevance(&CATALOGUE[3], &words("mechanical keyboards")) >= 1);
    }

    #[test]
    fn rate_limit_and_expiry() {
        let creators = Creators::load(None, &EmulatorConfig::default()).unwrap();
        creators.set_rate_limit(RateLimit {
            per_second: 0.001,
            burst: 2.0,
        });
        let token = creators.issue("local-client", 3);
        let header = format!("Bearer {token}");
        assert!(creators.admit(Some(&header)).is_ok());
        assert!(creators.admit(Some(&header)).is_ok());
        assert_eq!(
            creators.admit(Some(&header)).unwrap_err().status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            creators.admit(Some("Bearer nope")).unwrap_err().body["reason"],
            "InvalidToken"
        );
        assert_eq!(
            creators
                .admit(Some(&format!("{header}, Version 2.1")))
                .unwrap_err()
                .body["reason"],
            "InvalidIssuer"
        );
        creators
            .tokens
            .lock()
            .unwrap()
            .get_mut(&token)
            .unwrap()
            .expires = Instant::now();
        assert_eq!(
            creators.admit(Some(&header)).unwrap_err().body["reason"],
            "TokenExpired"
        );
    }
}
