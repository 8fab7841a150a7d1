//! The two encodings CloudWatch is spoken in here: Smithy RPC v2 CBOR (aws-sdk-rust, docs/wire-protocols.md §5.2–§5.4)
//! and awsJson1_0 (boto3, docs/wire-protocols.md §5.5). Requests are decoded into `serde_json::Value` (CBOR timestamps,
//! tag 1, become epoch-second numbers), responses are built as [`Out`] and encoded either way.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use ciborium::Value as Cbor;
use serde_json::Value as Json;

/// A response value. Timestamps are kept apart because CBOR tags them (tag 1) and JSON does not.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Map(Vec<(&'static str, Out)>),
    List(Vec<Out>),
    Str(String),
    /// Always encoded as a float: the SDK rejects integers where it expects a double.
    F64(f64),
    /// Epoch seconds.
    Time(f64),
}

impl Out {
    pub fn to_cbor(&self) -> Cbor {
        match self {
            Out::Map(entries) => Cbor::Map(
                entries
                    .iter()
                    .map(|(k, v)| (Cbor::Text((*k).to_owned()), v.to_cbor()))
                    .collect(),
            ),
            Out::List(items) => Cbor::Array(items.iter().map(Out::to_cbor).collect()),
            Out::Str(s) => Cbor::Text(s.clone()),
            Out::F64(f) => Cbor::Float(*f),
            Out::Time(t) => Cbor::Tag(1, Box::new(Cbor::Float(*t))),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Out::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_json()))
                    .collect(),
            ),
            Out::List(items) => Json::Array(items.iter().map(Out::to_json).collect()),
            Out::Str(s) => Json::String(s.clone()),
            Out::F64(f) | Out::Time(f) => {
                serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number)
            }
        }
    }
}

/// Which protocol a request came in, so the answer goes out the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Cbor,
    Json,
}

/// A CloudWatch error. `code` is the query-era code, sent in `__type` and `x-amzn-query-error`.
#[derive(Debug, Clone)]
pub struct CwError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl CwError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameterValue", message)
    }

    pub fn missing(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!("The parameter {name} is required."),
        )
    }

    pub fn response(&self, protocol: Protocol) -> HttpResponse {
        let fault = if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let body = Out::Map(vec![
            ("__type", Out::Str(self.code.to_owned())),
            ("message", Out::Str(self.message.clone())),
        ]);
        let mut builder = HttpResponse::build(self.status);
        builder
            .insert_header(("x-amzn-query-error", format!("{};{fault}", self.code)))
            .insert_header(("x-amzn-ErrorType", self.code))
            .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()));
        encode(builder, protocol, &body)
    }
}

/// A 200 response in `protocol`.
pub fn ok(protocol: Protocol, body: &Out) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    builder.insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()));
    encode(builder, protocol, body)
}

fn encode(
    mut builder: actix_web::HttpResponseBuilder,
    protocol: Protocol,
    body: &Out,
) -> HttpResponse {
    match protocol {
        Protocol::Cbor => {
            let mut bytes = Vec::new();
            if let Err(e) = ciborium::into_writer(&body.to_cbor(), &mut bytes) {
                tracing::error!(error = %e, "cannot encode a CBOR response");
                return HttpResponse::InternalServerError()
                    .insert_header(("smithy-protocol", "rpc-v2-cbor"))
                    .content_type("application/cbor")
                    .body(vec![0xa0]);
            }
            builder
                .insert_header(("smithy-protocol", "rpc-v2-cbor"))
                .content_type("application/cbor")
                .body(bytes)
        }
        Protocol::Json => builder
            .content_type("application/x-amz-json-1.0")
            .body(body.to_json().to_string()),
    }
}

/// Decodes one CBOR data item filling the whole body. An empty body is an empty input structure.
pub fn decode_cbor(body: &[u8]) -> Result<Json, CwError> {
    if body.is_empty() {
        return Ok(Json::Object(serde_json::Map::new()));
    }
    let mut cursor = std::io::Cursor::new(body);
    let value: Cbor = ciborium::from_reader(&mut cursor).map_err(|e| {
        CwError::new(
            400,
            "SerializationException",
            format!("Malformed CBOR request body: {e}"),
        )
    })?;
    if usize::try_from(cursor.position()).ok() != Some(body.len()) {
        return Err(CwError::new(
            400,
            "SerializationException",
            "Unexpected bytes after the CBOR request body",
        ));
    }
    cbor_to_json(value)
}

fn cbor_to_json(value: Cbor) -> Result<Json, CwError> {
    let bad = |what: &str| {
        CwError::new(
            400,
            "SerializationException",
            format!("Unsupported CBOR value: {what}"),
        )
    };
    Ok(match value {
        Cbor::Integer(i) => {
            let i = i128::from(i);
            match i64::try_from(i) {
                Ok(v) => Json::from(v),
                Err(_) => return Err(bad("integer out of range")),
            }
        }
        Cbor::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Cbor::Text(s) => Json::String(s),
        Cbor::Bool(b) => Json::Bool(b),
        Cbor::Null => Json::Null,
        Cbor::Bytes(b) => {
            use base64::Engine as _;
            Json::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Cbor::Tag(1, inner) => match *inner {
            v @ (Cbor::Integer(_) | Cbor::Float(_)) => cbor_to_json(v)?,
            _ => return Err(bad("tag 1 must wrap a number")),
        },
        Cbor::Tag(_, inner) => cbor_to_json(*inner)?,
        Cbor::Array(items) => Json::Array(
            items
                .into_iter()
                .map(cbor_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Cbor::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (k, v) in entries {
                let Cbor::Text(k) = k else {
                    return Err(bad("map keys must be text"));
                };
                map.insert(k, cbor_to_json(v)?);
            }
            Json::Object(map)
        }
        _ => return Err(bad("unknown type")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request of docs/wire-protocols.md §5.2, byte for byte.
    #[test]
    fn decodes_the_documented_request() {
        let hex = "bf714d6574726963446174615175657269657382bf6249646263766a4d657472696353746174bf664d6574726963bf694e616d657370616365674157532f4956536a4d65747269634e616d656f436f6e63757272656e7456696577736a44696d656e73696f6e7381bf644e616d65674368616e6e656c6556616c756566616263313233ffff66506572696f64183c6453746174674d6178696d756dff654c6162656c70436f6e63757272656e742076696577736a52657475726e44617461f5ffbf6249646265316a45787072657373696f6e666376202a20326a52657475726e44617461f4ff69537461727454696d65c1fb41d954fc4000000067456e6454696d65c1fb41d954ffc4000000ff";
        let json = decode_cbor(&hex::decode(hex).unwrap()).unwrap();
        assert_eq!(json["StartTime"], 1_700_000_000.0);
        assert_eq!(json["MetricDataQueries"][0]["MetricStat"]["Period"], 60);
        assert_eq!(json["MetricDataQueries"][1]["Expression"], "cv * 2");
    }

    /// The response of docs/wire-protocols.md §5.3, byte for byte (floats stay floats, timestamps carry tag 1).
    #[test]
    fn encodes_the_documented_response() {
        let out = Out::Map(vec![
            (
                "MetricDataResults",
                Out::List(vec![Out::Map(vec![
                    ("Id", Out::Str("cv".into())),
                    ("Label", Out::Str("ConcurrentViews".into())),
                    ("Timestamps", Out::List(vec![Out::Time(1_700_000_060.0)])),
                    ("Values", Out::List(vec![Out::F64(7.0)])),
                    ("StatusCode", Out::Str("Complete".into())),
                ])]),
            ),
            ("Messages", Out::List(vec![])),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&out.to_cbor(), &mut bytes).unwrap();
        // ciborium shortens floats to the smallest exact width (f9/fa/fb), which the SDK accepts.
        let back: Cbor = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(back, out.to_cbor());
        assert!(bytes.windows(2).any(|w| w == [0xc1, 0xfb]));
    }

    #[test]
    fn rejects_garbage_and_trailing_bytes() {
        assert!(decode_cbor(&[0xff, 0x00]).is_err());
        assert!(decode_cbor(&[0xa0, 0x00]).is_err());
        assert_eq!(decode_cbor(&[]).unwrap(), serde_json::json!({}));
    }
}
