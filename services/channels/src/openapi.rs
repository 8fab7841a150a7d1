//! The OpenAPI document of the service, generated from the handlers' annotations. The checked-in
//! copy is `openapi/channels.json`; a test fails when it is stale.

use serde::Serialize;
use ugc_web::docs::AccessToken;
use utoipa::{IntoResponses, OpenApi, ToSchema};

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

/// Declares response types for `responses(...)` of routes that document a failure with the same
/// words: `Name: status, "description"` becomes `Name`, answering `status` with an [`ErrorBody`].
/// The types only describe responses; nothing constructs them.
macro_rules! error_responses {
    ($($name:ident: $status:tt, $description:tt;)*) => {$(
        #[doc = $description]
        #[derive(IntoResponses)]
        #[response(status = $status)]
        pub struct $name(pub ErrorBody);
    )*};
}

error_responses! {
    Unauthorized: 401, "`UnauthorizedException`";
    MissingOrInvalidToken: 401, "Missing or invalid token (`UnauthorizedException`)";
    InvalidToken: 401, "Invalid token (`UnauthorizedException`)";
    NoChannelYet: 404, "`UserNotFoundException`: no channel yet";
    Unavailable: 503, "`ServiceUnavailableException`";
    DynamoUnavailable: 503, "DynamoDB unavailable (`ServiceUnavailableException`)";
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
    ugc_web::docs::checked_in(&ApiDoc::openapi())
}
