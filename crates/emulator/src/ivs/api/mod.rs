//! The IVS wire API: `POST /<Operation>` with a JSON body, `/tags/{resourceArn}` (shared with IVS
//! Chat, told apart by the SigV4 signing name), and a test read-out of received timed metadata.

//!
//! One module per operation group; `request` holds the shared argument parsing and pagination,
//! `render` the JSON shapes.

mod channels;
mod render;
mod request;
mod sessions;
mod stream_keys;
mod streams;
mod tags;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use self::channels::{create_channel, delete_channel, get_channel, list_channels};
use self::sessions::{get_stream_session, list_stream_sessions};
use self::stream_keys::{create_stream_key, delete_stream_key, get_stream_key, list_stream_keys};
use self::streams::{get_stream, list_streams, put_metadata, stop_stream};
use self::tags::{list_tags_for_resource, tag_resource, untag_resource};
use crate::core::error::AwsError;
use crate::core::routing::SigningService;
use crate::core::sigv4;
use crate::server::Shared;

/// A successful operation's response.
enum Reply {
    Json(Value),
    NoContent,
}

type Operation = fn(&Shared, &[u8]) -> Result<Reply, AwsError>;

const OPERATIONS: &[(&str, Operation)] = &[
    ("/CreateChannel", create_channel),
    ("/GetChannel", get_channel),
    ("/ListChannels", list_channels),
    ("/DeleteChannel", delete_channel),
    ("/CreateStreamKey", create_stream_key),
    ("/GetStreamKey", get_stream_key),
    ("/ListStreamKeys", list_stream_keys),
    ("/DeleteStreamKey", delete_stream_key),
    ("/GetStream", get_stream),
    ("/ListStreams", list_streams),
    ("/StopStream", stop_stream),
    ("/PutMetadata", put_metadata),
    ("/GetStreamSession", get_stream_session),
    ("/ListStreamSessions", list_stream_sessions),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    for &(path, operation) in OPERATIONS {
        cfg.service(web::resource(path).route(web::post().to(
            move |shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes| async move {
                respond(authorize(&shared, &req, &body).and_then(|()| operation(&shared, &body)))
            },
        )));
    }
    cfg.service(
        web::resource("/tags/{resourceArn:.*}")
            .guard(SigningService("ivs"))
            .route(web::get().to(list_tags_for_resource))
            .route(web::post().to(tag_resource))
            .route(web::delete().to(untag_resource)),
    );
    cfg.service(
        web::resource("/_emulator/ivs/metadata/{channelId}")
            .route(web::get().to(received_metadata)),
    );
}

/// Checks the SigV4 signature against the configured credentials and the `ivs` signing name.
fn authorize(shared: &Shared, req: &HttpRequest, body: &[u8]) -> Result<(), AwsError> {
    let config = &shared.config;
    let signature =
        sigv4::verify_actix(req, body, &config.access_key_id, &config.secret_access_key)?;
    if signature.service != "ivs" {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            format!(
                "Credential should be scoped to correct service: 'ivs'. (scoped to '{}')",
                signature.service
            ),
        ));
    }
    Ok(())
}

fn respond(result: Result<Reply, AwsError>) -> HttpResponse {
    let (mut response, body) = match result {
        Ok(Reply::Json(body)) => (HttpResponse::Ok(), Some(body)),
        Ok(Reply::NoContent) => (HttpResponse::NoContent(), None),
        Err(error) => return error.to_rest_response(),
    };
    response.insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()));
    match body {
        Some(body) => response.json(body),
        None => response.finish(),
    }
}

/// The input of operations that take one resource `arn`.
#[derive(Deserialize)]
struct ArnInput {
    arn: Option<String>,
}

/// The input of list operations scoped to one channel.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListByChannelInput {
    channel_arn: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Test read-out

async fn received_metadata(shared: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(shared.ivs.metadata(&path))
}
