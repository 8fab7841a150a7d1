//! The Cognito operations. Each one validates against a snapshot of the state, calls any trigger
//! without holding the state lock (a trigger is user code), then commits in one write that
//! re-checks what could have changed meanwhile.

use std::collections::BTreeMap;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::distr::Alphanumeric;
use rand::Rng as _;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::filter;
use super::input::{invalid_parameter, Input};
use super::model::{
    Client, CodePurpose, OutboxMessage, PasswordPolicy, PendingCode, Pool, RefreshSession,
    SchemaAttribute, State, User, UserStatus,
};
use super::tokens::{self, TokenUse};
use super::triggers::{self, EventContext};
use super::Cognito;
use crate::core::error::AwsError;
use crate::core::json;

/// The operations the emulated Cognito serves, named as in `X-Amz-Target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CognitoOp {
    CreateUserPool,
    DescribeUserPool,
    ListUserPools,
    CreateUserPoolClient,
    DescribeUserPoolClient,
    ListUserPoolClients,
    SignUp,
    ConfirmSignUp,
    ResendConfirmationCode,
    InitiateAuth,
    AdminInitiateAuth,
    GetUser,
    ChangePassword,
    GlobalSignOut,
    ForgotPassword,
    ConfirmForgotPassword,
    AdminGetUser,
    AdminUpdateUserAttributes,
    AdminDeleteUser,
    AdminDisableUser,
    AdminEnableUser,
    AdminUserGlobalSignOut,
    AdminConfirmSignUp,
    AdminSetUserPassword,
    ListUsers,
}

impl CognitoOp {
    /// The operation named `name`, or Cognito's error for an unknown one.
    pub fn parse(name: &str) -> Result<Self, AwsError> {
        json::operation(name).ok_or_else(|| AwsError::unknown_operation(name))
    }

    /// Operations Cognito serves without a signature (the model's `noAuth`, docs/wire-protocols.md §0.1): the ones a
    /// browser calls with only a client id or an access token.
    pub fn is_no_auth(self) -> bool {
        matches!(
            self,
            Self::SignUp
                | Self::ConfirmSignUp
                | Self::ResendConfirmationCode
                | Self::InitiateAuth
                | Self::GetUser
                | Self::ChangePassword
                | Self::GlobalSignOut
                | Self::ForgotPassword
                | Self::ConfirmForgotPassword
        )
    }
}

const SIGN_UP_CODE_SECS: f64 = 24.0 * 3600.0;
const RESET_CODE_SECS: f64 = 3600.0;
/// Wrong codes tolerated before the code is thrown away.
const MAX_CODE_ATTEMPTS: u32 = 5;
const CODE_PLACEHOLDER: &str = "{####}";

/// Standard attributes a pool knows besides `custom:*`.
const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

fn now() -> f64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    // Millisecond precision, as Cognito's timestamps carry.
    (nanos / 1_000_000) as f64 / 1000.0
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn random_string(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn random_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

pub fn pool_not_found(pool_id: &str) -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        format!("User pool {pool_id} does not exist."),
    )
}

fn client_not_found(client_id: &str) -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        format!("User pool client {client_id} does not exist."),
    )
}

fn not_authorized(message: &str) -> AwsError {
    AwsError::new(403, "NotAuthorizedException", message)
}

fn user_not_found() -> AwsError {
    AwsError::new(404, "UserNotFoundException", "User does not exist.")
}

fn username_client_not_found() -> AwsError {
    AwsError::new(
        404,
        "UserNotFoundException",
        "Username/client id combination not found.",
    )
}

fn internal(e: impl std::fmt::Display) -> AwsError {
    tracing::error!(error = %e, "Cognito emulator fault");
    AwsError::new(500, "InternalErrorException", "Internal error")
}

fn mask_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
}

fn code_delivery(email: &str) -> Value {
    json!({"Destination": mask_email(email), "DeliveryMedium": "EMAIL", "AttributeName": "email"})
}

fn get_pool<'s>(state: &'s State, pool_id: &str) -> Result<&'s Pool, AwsError> {
    state
        .pools
        .get(pool_id)
        .ok_or_else(|| pool_not_found(pool_id))
}

fn pool_mut<'s>(state: &'s mut State, pool_id: &str) -> Result<&'s mut Pool, AwsError> {
    state
        .pools
        .get_mut(pool_id)
        .ok_or_else(|| pool_not_found(pool_id))
}

/// The pool and client of a client id.
fn client<'s>(state: &'s State, client_id: &str) -> Result<(&'s Pool, &'s Client), AwsError> {
    state
        .pools
        .values()
        .find_map(|p| p.clients.get(client_id).map(|c| (p, c)))
        .ok_or_else(|| client_not_found(client_id))
}

/// The pool and client of a request naming `ClientId` and `Username`, with the request's
/// `SecretHash` checked against the client's secret.
fn signed_client<'s>(
    state: &'s State,
    input: &Input<'_>,
    client_id: &str,
    username: &str,
) -> Result<(&'s Pool, &'s Client), AwsError> {
    let (p, c) = client(state, client_id)?;
    check_secret_hash(c, username, input.str_opt("SecretHash")?)?;
    Ok((p, c))
}

fn check_secret_hash(client: &Client, username: &str, given: Option<&str>) -> Result<(), AwsError> {
    let Some(secret) = &client.secret else {
        return Ok(());
    };
    let Some(given) = given else {
        return Err(not_authorized(&format!(
            "Client {} is configured with secret but SECRET_HASH was not received",
            client.id
        )));
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let expected = STANDARD.encode(hmac::sign(
        &key,
        format!("{username}{}", client.id).as_bytes(),
    ));
    if expected == given {
        Ok(())
    } else {
        Err(not_authorized(&format!(
            "Unable to verify secret hash for client {}",
            client.id
        )))
    }
}

fn validate_username(username: &str) -> Result<(), AwsError> {
    let len = username.chars().count();
    if len == 0 || len > 128 || username.chars().any(char::is_whitespace) {
        return Err(invalid_parameter(
            "1 validation error detected: Value at 'username' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+",
        ));
    }
    Ok(())
}

fn validate_attribute_names(attrs: &[(String, String)]) -> Result<(), AwsError> {
    for (name, _) in attrs {
        if name == "sub" {
            return Err(invalid_parameter(
                "Cannot modify the non-mutable attribute sub",
            ));
        }
        if !name.starts_with("custom:") && !STANDARD_ATTRIBUTES.contains(&name.as_str()) {
            return Err(invalid_parameter(format!(
                "Attribute does not exist in the schema: {name}"
            )));
        }
    }
    Ok(())
}

/// The alias attributes among `attrs` that another user already holds.
fn alias_conflict(
    pool: &Pool,
    attrs: &BTreeMap<String, String>,
    self_key: &str,
) -> Option<AwsError> {
    pool.alias_attributes.iter().find_map(|attr| {
        let value = attrs.get(attr)?;
        pool.alias_holder(attr, value, self_key).map(|_| {
            AwsError::new(
                400,
                "AliasExistsException",
                format!("An account with the given {attr} already exists."),
            )
        })
    })
}

/// Checks `code` against the user's pending code for `purpose`; on success removes it.
fn consume_code(user: &mut User, purpose: CodePurpose, code: &str) -> Result<(), AwsError> {
    let index = user
        .codes
        .iter()
        .position(|c| c.purpose == purpose)
        .ok_or_else(|| {
            AwsError::new(
                400,
                "ExpiredCodeException",
                "Invalid code provided, please request a code again.",
            )
        })?;
    let Some(pending) = user.codes.get_mut(index) else {
        return Err(internal("code index out of range"));
    };
    if pending.expires < now() {
        user.codes.remove(index);
        return Err(AwsError::new(
            400,
            "ExpiredCodeException",
            "Invalid code provided, please request a code again.",
        ));
    }
    if pending.code != code {
        pending.failed_attempts += 1;
        if pending.failed_attempts >= MAX_CODE_ATTEMPTS {
            user.codes.remove(index);
            return Err(AwsError::new(
                400,
                "LimitExceededException",
                "Attempt limit exceeded, please try after some time.",
            ));
        }
        return Err(AwsError::new(
            400,
            "CodeMismatchException",
            "Invalid verification code provided, please try again.",
        ));
    }
    user.codes.remove(index);
    Ok(())
}

fn set_code(user: &mut User, purpose: CodePurpose, code: String, lifetime: f64) {
    user.codes.retain(|c| c.purpose != purpose);
    user.codes.push(PendingCode {
        code,
        purpose,
        expires: now() + lifetime,
        failed_attempts: 0,
    });
}

/// An e-mail about to be sent, with the code it carries.
struct Mail {
    message: OutboxMessage,
}

mod admin;
mod auth;
mod password;
mod pools;
mod sign_up;

impl Cognito {
    pub(super) fn execute(&self, op: CognitoOp, input: &Value) -> Result<Value, AwsError> {
        let input = Input(input);
        match op {
            CognitoOp::CreateUserPool => self.create_user_pool(&input),
            CognitoOp::DescribeUserPool => self.describe_user_pool(&input),
            CognitoOp::ListUserPools => self.list_user_pools(&input),
            CognitoOp::CreateUserPoolClient => self.create_user_pool_client(&input),
            CognitoOp::DescribeUserPoolClient => self.describe_user_pool_client(&input),
            CognitoOp::ListUserPoolClients => self.list_user_pool_clients(&input),
            CognitoOp::SignUp => self.sign_up(&input),
            CognitoOp::ConfirmSignUp => self.confirm_sign_up(&input),
            CognitoOp::ResendConfirmationCode => self.resend_confirmation_code(&input),
            CognitoOp::InitiateAuth => self.initiate_auth(&input, false),
            CognitoOp::AdminInitiateAuth => self.initiate_auth(&input, true),
            CognitoOp::GetUser => self.get_user(&input),
            CognitoOp::ChangePassword => self.change_password(&input),
            CognitoOp::GlobalSignOut => self.global_sign_out(&input),
            CognitoOp::ForgotPassword => self.forgot_password(&input),
            CognitoOp::ConfirmForgotPassword => self.confirm_forgot_password(&input),
            CognitoOp::AdminGetUser => self.admin_get_user(&input),
            CognitoOp::AdminUpdateUserAttributes => self.admin_update_user_attributes(&input),
            CognitoOp::AdminDeleteUser => self.admin_user_change(&input, |pool, key| {
                pool.users.remove(key);
                Ok(())
            }),
            CognitoOp::AdminDisableUser => self.admin_user_change(&input, |pool, key| {
                with_user(pool, key, |u| u.enabled = false)
            }),
            CognitoOp::AdminEnableUser => self.admin_user_change(&input, |pool, key| {
                with_user(pool, key, |u| u.enabled = true)
            }),
            CognitoOp::AdminUserGlobalSignOut => self.admin_user_change(&input, |pool, key| {
                with_user(pool, key, |u| u.sessions.clear())
            }),
            CognitoOp::AdminConfirmSignUp => self.admin_confirm_sign_up(&input),
            CognitoOp::AdminSetUserPassword => self.admin_set_user_password(&input),
            CognitoOp::ListUsers => self.list_users(&input),
        }
    }
}

fn with_user(pool: &mut Pool, key: &str, f: impl FnOnce(&mut User)) -> Result<(), AwsError> {
    let user = pool.users.get_mut(key).ok_or_else(user_not_found)?;
    f(user);
    Ok(())
}

fn confirm(pool: &mut Pool, key: &str) {
    let verifies_email = pool.auto_verified_attributes.iter().any(|a| a == "email");
    if let Some(user) = pool.users.get_mut(key) {
        user.status = UserStatus::Confirmed;
        user.codes.retain(|c| c.purpose != CodePurpose::SignUp);
        // The code went to the e-mail address, so confirming proves it.
        if verifies_email && user.attributes.contains_key("email") {
            user.attributes
                .insert("email_verified".into(), "true".into());
        }
        user.modified = now();
    }
}

/// ForceAliasCreation: the alias values of `attrs` move from their holders to `key`.
fn take_aliases(pool: &mut Pool, attrs: &BTreeMap<String, String>, key: &str) {
    let aliases = pool.alias_attributes.clone();
    for attr in aliases {
        let Some(value) = attrs.get(&attr) else {
            continue;
        };
        let wanted = pool.user_key(value);
        let holders: Vec<String> = pool
            .users
            .iter()
            .filter(|(k, u)| {
                k.as_str() != key
                    && u.attribute(&attr)
                        .is_some_and(|v| pool.user_key(v) == wanted)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for holder in holders {
            if let Some(u) = pool.users.get_mut(&holder) {
                u.attributes.remove(&attr);
                if attr == "email" {
                    u.attributes.remove("email_verified");
                }
            }
        }
    }
}

fn check_required(pool: &Pool, attrs: &BTreeMap<String, String>) -> Result<(), AwsError> {
    let missing: Vec<&str> = pool
        .schema
        .iter()
        .filter(|a| a.required && !attrs.contains_key(&a.name))
        .map(|a| a.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(invalid_parameter(format!(
            "Attributes did not conform to the schema: {}",
            missing
                .iter()
                .map(|m| format!("{m}: The attribute {m} is required"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// What a trigger sees as `userAttributes`: every attribute plus the user's status.
fn user_attributes_for_trigger(user: &User) -> Value {
    let mut attrs = triggers::attributes_json(&user.attributes);
    if let Value::Object(map) = &mut attrs {
        map.insert(
            "cognito:user_status".into(),
            Value::String(user.status.as_str().to_owned()),
        );
    }
    attrs
}

struct Page<'a, T> {
    items: &'a [T],
    next: Option<String>,
}

impl<T> Page<'_, T> {
    /// The list response: `{<list_key>: [...]}`, plus `<token_key>` when more items follow.
    fn to_json(&self, list_key: &str, token_key: &str, item: impl Fn(&T) -> Value) -> Value {
        let mut out = serde_json::Map::new();
        out.insert(list_key.into(), self.items.iter().map(item).collect());
        if let Some(next) = &self.next {
            out.insert(token_key.into(), Value::String(next.clone()));
        }
        Value::Object(out)
    }
}

/// Takes `limit` items; when more remain, the token resumes after the last one taken.
fn paginate<'a, T>(items: &'a [T], limit: i64, key: impl Fn(&T) -> String) -> Page<'a, T> {
    let limit = usize::try_from(limit).unwrap_or(60);
    let taken = items.get(..limit.min(items.len())).unwrap_or(items);
    let next = (items.len() > taken.len())
        .then(|| taken.last().map(|last| URL_SAFE_NO_PAD.encode(key(last))))
        .flatten();
    Page { items: taken, next }
}

fn decode_token(token: Option<&str>) -> Result<Option<String>, AwsError> {
    token
        .map(|t| {
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid_parameter("Invalid pagination token"))
        })
        .transpose()
}

impl Pool {
    /// The pool's settings and clients, without the users (cheap to copy out of the lock).
    fn clone_without_users(&self) -> Pool {
        Pool {
            id: self.id.clone(),
            name: self.name.clone(),
            arn: self.arn.clone(),
            created: self.created,
            modified: self.modified,
            alias_attributes: self.alias_attributes.clone(),
            auto_verified_attributes: self.auto_verified_attributes.clone(),
            case_sensitive: self.case_sensitive,
            policy: self.policy.clone(),
            schema: self.schema.clone(),
            email_subject: self.email_subject.clone(),
            email_message: self.email_message.clone(),
            extra: Map::new(),
            clients: BTreeMap::new(),
            users: BTreeMap::new(),
            refresh_tokens: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_addresses_like_cognito() {
        assert_eq!(mask_email("alice@example.com"), "a***@e***");
    }

    #[test]
    fn paginates_with_resumable_tokens() {
        let items = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let page = paginate(&items, 2, Clone::clone);
        assert_eq!(page.items, &items[..2]);
        assert_eq!(
            decode_token(page.next.as_deref()).unwrap().as_deref(),
            Some("b")
        );
        let page = paginate(&items, 3, Clone::clone);
        assert!(page.next.is_none());
    }

    #[test]
    fn codes_expire_mismatch_and_run_out_of_attempts() {
        let mut user = User {
            username: "u".into(),
            sub: "s".into(),
            attributes: BTreeMap::new(),
            password: "p".into(),
            status: UserStatus::Unconfirmed,
            enabled: true,
            created: 0.0,
            modified: 0.0,
            codes: Vec::new(),
            sessions: Vec::new(),
        };
        set_code(&mut user, CodePurpose::SignUp, "123456".into(), 60.0);
        assert_eq!(
            consume_code(&mut user, CodePurpose::ForgotPassword, "123456")
                .unwrap_err()
                .code,
            "ExpiredCodeException"
        );
        for _ in 0..MAX_CODE_ATTEMPTS - 1 {
            assert_eq!(
                consume_code(&mut user, CodePurpose::SignUp, "000000")
                    .unwrap_err()
                    .code,
                "CodeMismatchException"
            );
        }
        assert_eq!(
            consume_code(&mut user, CodePurpose::SignUp, "000000")
                .unwrap_err()
                .code,
            "LimitExceededException"
        );
        set_code(&mut user, CodePurpose::SignUp, "123456".into(), -1.0);
        assert_eq!(
            consume_code(&mut user, CodePurpose::SignUp, "123456")
                .unwrap_err()
                .code,
            "ExpiredCodeException"
        );
        set_code(&mut user, CodePurpose::SignUp, "123456".into(), 60.0);
        assert!(consume_code(&mut user, CodePurpose::SignUp, "123456").is_ok());
        assert!(user.codes.is_empty());
    }
}
