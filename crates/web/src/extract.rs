//! Request extractors whose failures speak the error policy of [`crate::error`].

use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{payload_error, serde_error, ApiError};

/// The largest accepted body, registered as app data by [`crate::Application`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body. Unlike `actix_web::web::Json`, a type error names the field
/// (`body/color/name: invalid type: integer `1`, expected a string`), an empty body answers
/// upstream's message, and an oversized body is a 413.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(crate::config::DEFAULT_BODY_LIMIT);
        let json = is_json(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::payload_too_large());
            }
            if !json {
                return Err(ApiError::bad_request(
                    "Content-Type must be application/json",
                ));
            }
            let mut body = Vec::with_capacity(declared.unwrap_or(0));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| payload_error(&e))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::payload_too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// Parses a JSON document; errors name the failing field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        serde_error(e.inner(), Some(&path))
    })?;
    de.end().map_err(|e| serde_error(&e, None))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Prefs {
        color: Named,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Named {
        name: String,
    }

    #[test]
    fn messages_name_the_field() {
        let err = parse_json::<Prefs>(br#"{"color":{"name":1}}"#).unwrap_err();
        assert_eq!(
            err.message(),
            Some("body/color.name: invalid type: integer `1`, expected a string")
        );
        let err = parse_json::<Prefs>(br#"{"color":{}}"#).unwrap_err();
        assert_eq!(err.message(), Some("body/color: missing field `name`"));
        let err = parse_json::<Prefs>(b"").unwrap_err();
        assert_eq!(err.message(), Some(crate::error::EMPTY_JSON_BODY));
        let err = parse_json::<Prefs>(b"{nope").unwrap_err();
        assert!(
            err.message().unwrap().starts_with("malformed JSON"),
            "{err}"
        );
        let err = parse_json::<Prefs>(br#"{"color":{"name":"a"}} x"#).unwrap_err();
        assert!(
            err.message().unwrap().starts_with("malformed JSON"),
            "{err}"
        );
    }
}
