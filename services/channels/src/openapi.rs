//! The OpenAPI document of the service, generated from the handlers' annotations. The checked-in
//! copy is `openapi/channels.json`; a test fails when it is stale.

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes;

/// Every error: `{"__type": "<Code>"}`, sometimes with a message written for the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    #[serde(rename = "__type")]
    #[schema(example = "UserNotFoundException")]
    pub code: String,
    pub message: Option<String>,
}

/// An empty JSON object, `{}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

struct AccessToken;

impl Modify for AccessToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "accessToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "A Cognito access token, raw or as `Bearer <token>`",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "UGC channels service",
        description = "Accounts, profiles, channel resources, assets, stream actions, chat tokens, follows, bans, the channel directory and product search."
    ),
    paths(
        routes::account::register,
        routes::account::reset_password,
        routes::account::delete_account,
        routes::profile::get_own_channel,
        routes::profile::update_username,
        routes::profile::update_preferences,
        routes::resources::create_resources,
        routes::resources::reset_stream_key_get,
        routes::resources::reset_stream_key,
        routes::assets::create_presigned_post,
        routes::assets::delete_asset,
        routes::actions::send_action,
        routes::products::search_products,
        routes::chat::create_chat_token,
        routes::chat::ban_user,
        routes::chat::unban_user,
        routes::following::follow,
        routes::following::unfollow,
        routes::following::following_list,
        routes::public::list_channels,
        routes::public::channel_page,
    ),
    components(schemas(ErrorBody, Empty)),
    modifiers(&AccessToken)
)]
pub struct ApiDoc;

/// The document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as checked in: pretty JSON with a final newline.
pub fn document() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
