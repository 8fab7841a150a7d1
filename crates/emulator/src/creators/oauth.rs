//! The OAuth 2.0 client-credentials token endpoints: Cognito-style `/oauth2/token` (2.x
//! credentials) and LwA-style `/auth/o2/token` (3.x).

use super::*;

impl Creators {
    pub(super) fn issue(&self, client_id: &str, family: u8) -> String {
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
}

pub(super) fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"error": error, "error_description": description}))
}

/// The token request's fields, from a form or JSON body plus an optional Basic header.
pub(super) fn token_fields(
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

pub(super) fn token(
    req: &HttpRequest,
    body: &[u8],
    creators: &Creators,
    family: u8,
) -> HttpResponse {
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

pub(super) async fn token_cognito(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<crate::server::Shared>,
) -> HttpResponse {
    token(&req, &body, &shared.creators, 2)
}

pub(super) async fn token_lwa(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<crate::server::Shared>,
) -> HttpResponse {
    token(&req, &body, &shared.creators, 3)
}
