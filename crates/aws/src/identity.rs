//! Amazon Cognito user pool: sign-up, password reset, username alias, account removal, and the
//! listing of unconfirmed users the cleanup Lambda removes.

use aws_sdk_cognitoidentityprovider::types::AttributeType;
use time::OffsetDateTime;
use ugc_domain::{Email, Username};

use crate::sdk_error::{already_gone_is_ok, transient_variants, Failure, FromSdk as _};
use crate::time_util::from_smithy;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Cognito refused the request. `name` is Cognito's error name (`UsernameExistsException`,
    /// `AliasExistsException`, `InvalidPasswordException`, `UserLambdaValidationException`, ...), which
    /// the API passes through as `__type`; `message` is Cognito's message.
    #[error("{name}: {message}")]
    Cognito { name: String, message: String },
    #[error("Cognito throttled the request")]
    Throttled,
    #[error("Cognito unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected Cognito failure: {0}")]
    Unexpected(String),
}

impl IdentityError {
    /// Cognito's error name when Cognito refused the request.
    pub fn cognito_name(&self) -> Option<&str> {
        match self {
            IdentityError::Cognito { name, .. } => Some(name),
            _ => None,
        }
    }

    pub fn is_user_not_found(&self) -> bool {
        self.cognito_name() == Some("UserNotFoundException")
    }
}

transient_variants!(IdentityError);

impl From<Failure> for IdentityError {
    fn from(failure: Failure) -> Self {
        // Transience is decided first: TooManyRequestsException is a rate limit, not a user error.
        Self::from_failure_or(failure, |failure| match failure {
            Failure::Service { code, message, .. } => IdentityError::Cognito {
                name: code,
                message,
            },
            other => IdentityError::Unexpected(other.describe()),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignUpOutcome {
    pub user_sub: String,
    /// True when the PreSignUp trigger auto-confirmed the user.
    pub confirmed: bool,
}

/// A user Cognito lists as unconfirmed: signed up, never verified the e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnconfirmedUser {
    /// The sign-up username (Cognito's own name for the user).
    pub username: String,
    pub sub: Option<String>,
    pub created: Option<OffsetDateTime>,
}

impl UnconfirmedUser {
    /// Signed up at or before `cutoff` (a user without a creation date never is).
    pub fn created_by(&self, cutoff: OffsetDateTime) -> bool {
        self.created.is_some_and(|created| created <= cutoff)
    }
}

/// One page of unconfirmed users; pass `next_token` back for the next page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnconfirmedPage {
    pub users: Vec<UnconfirmedUser>,
    pub next_token: Option<String>,
}

/// What `AdminDeleteUser` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserDeletion {
    Deleted,
    /// The user no longer existed.
    AlreadyGone,
}

/// Users per `ListUsers` page (Cognito's maximum).
const LIST_USERS_LIMIT: i32 = 60;

/// Cognito user-pool client bound to one pool and its app client (no client secret, as upstream).
#[derive(Clone, Debug)]
pub struct IdentityClient {
    client: aws_sdk_cognitoidentityprovider::Client,
    user_pool_id: String,
    client_id: String,
}

impl IdentityClient {
    pub fn new(
        sdk_config: &aws_config::SdkConfig,
        user_pool_id: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        Self::from_client(
            aws_sdk_cognitoidentityprovider::Client::new(sdk_config),
            user_pool_id,
            client_id,
        )
    }

    pub fn from_client(
        client: aws_sdk_cognitoidentityprovider::Client,
        user_pool_id: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        IdentityClient {
            client,
            user_pool_id: user_pool_id.into(),
            client_id: client_id.into(),
        }
    }

    /// A client for the admin operations of a pool only (`Admin*`, `ListUsers`): without an app
    /// client, sign-up and password reset are refused by Cognito.
    pub fn for_admin(
        client: aws_sdk_cognitoidentityprovider::Client,
        user_pool_id: impl Into<String>,
    ) -> Self {
        Self::from_client(client, user_pool_id, String::new())
    }

    pub fn user_pool_id(&self) -> &str {
        &self.user_pool_id
    }

    /// `SignUp` with the e-mail attribute.
    pub async fn sign_up(
        &self,
        username: &Username,
        password: &str,
        email: &Email,
    ) -> Result<SignUpOutcome, IdentityError> {
        let email = AttributeType::builder()
            .name("email")
            .value(email.as_str())
            .build()
            .map_err(|err| IdentityError::Unexpected(err.to_string()))?;
        let output = self
            .client
            .sign_up()
            .client_id(&self.client_id)
            .username(username.as_str())
            .password(password)
            .user_attributes(email)
            .send()
            .await
            .map_err(IdentityError::from_sdk)?;
        let user_sub = output.user_sub();
        if user_sub.is_empty() {
            return Err(IdentityError::Unexpected(format!(
                "Missing sub for user account: {username}"
            )));
        }
        Ok(SignUpOutcome {
            user_sub: user_sub.to_owned(),
            confirmed: output.user_confirmed(),
        })
    }

    /// `ForgotPassword`: Cognito e-mails a reset code. `username` may be the preferred username alias.
    pub async fn forgot_password(&self, username: &str) -> Result<(), IdentityError> {
        self.client
            .forgot_password()
            .client_id(&self.client_id)
            .username(username)
            .send()
            .await
            .map_err(IdentityError::from_sdk)?;
        Ok(())
    }

    /// `AdminUpdateUserAttributes` setting `preferred_username`; Cognito enforces uniqueness of the
    /// alias (`AliasExistsException`). `username` is the sign-up username (the token's `username`).
    pub async fn set_preferred_username(
        &self,
        username: &str,
        new_preferred_username: &str,
    ) -> Result<(), IdentityError> {
        let attribute = AttributeType::builder()
            .name("preferred_username")
            .value(new_preferred_username)
            .build()
            .map_err(|err| IdentityError::Unexpected(err.to_string()))?;
        self.client
            .admin_update_user_attributes()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .user_attributes(attribute)
            .send()
            .await
            .map_err(IdentityError::from_sdk)?;
        Ok(())
    }

    /// `AdminDisableUser`. A user that no longer exists counts as disabled.
    pub async fn admin_disable_user(&self, username: &str) -> Result<(), IdentityError> {
        let result = self
            .client
            .admin_disable_user()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .send()
            .await;
        already_gone_is_ok(
            result.map_err(IdentityError::from_sdk),
            IdentityError::is_user_not_found,
        )
    }

    /// `AdminDeleteUser`. A user that no longer exists counts as deleted, so a retried account
    /// deletion completes.
    pub async fn admin_delete_user(&self, username: &str) -> Result<(), IdentityError> {
        self.delete_user(username).await.map(|_| ())
    }

    /// `AdminDeleteUser`, saying whether the user was still there.
    pub async fn delete_user(&self, username: &str) -> Result<UserDeletion, IdentityError> {
        let result = self
            .client
            .admin_delete_user()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .send()
            .await;
        match result.map_err(IdentityError::from_sdk) {
            Ok(_) => Ok(UserDeletion::Deleted),
            Err(err) if err.is_user_not_found() => Ok(UserDeletion::AlreadyGone),
            Err(err) => Err(err),
        }
    }

    /// One page of `ListUsers` with `cognito:user_status = "UNCONFIRMED"` (60 users, with their
    /// `sub` and creation date). Filter by age with [`UnconfirmedUser::created_by`].
    pub async fn list_unconfirmed_users(
        &self,
        pagination_token: Option<String>,
    ) -> Result<UnconfirmedPage, IdentityError> {
        let out = self
            .client
            .list_users()
            .user_pool_id(&self.user_pool_id)
            .filter("cognito:user_status = \"UNCONFIRMED\"")
            .attributes_to_get("sub")
            .limit(LIST_USERS_LIMIT)
            .set_pagination_token(pagination_token)
            .send()
            .await
            .map_err(IdentityError::from_sdk)?;
        let users = out
            .users()
            .iter()
            .filter_map(|user| {
                Some(UnconfirmedUser {
                    username: user.username()?.to_owned(),
                    sub: user
                        .attributes()
                        .iter()
                        .find(|a| a.name() == "sub")
                        .and_then(|a| a.value())
                        .map(str::to_owned),
                    created: user.user_create_date().and_then(from_smithy),
                })
            })
            .collect();
        Ok(UnconfirmedPage {
            users,
            next_token: out.pagination_token().map(str::to_owned),
        })
    }

    /// `AdminUserGlobalSignOut`: revokes the user's refresh tokens. A user that no longer exists has
    /// no tokens left to revoke.
    pub async fn admin_user_global_sign_out(&self, username: &str) -> Result<(), IdentityError> {
        let result = self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .send()
            .await;
        already_gone_is_ok(
            result.map_err(IdentityError::from_sdk),
            IdentityError::is_user_not_found,
        )
    }
}
