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

    /// Operations Cognito serves without a signature (the model's `noAuth`, §0.1): the ones a
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

    // ---- pool set-up ------------------------------------------------------------------------

    fn create_user_pool(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let name = input.str_req("PoolName")?;
        if name.is_empty() || name.chars().count() > 128 {
            return Err(invalid_parameter("PoolName must be 1 to 128 characters"));
        }
        let mut policy = PasswordPolicy::default();
        if let Some(p) = input
            .object("Policies")
            .and_then(|p| p.get("PasswordPolicy"))
            .and_then(Value::as_object)
        {
            if let Some(n) = p.get("MinimumLength").and_then(Value::as_u64) {
                policy.minimum_length = usize::try_from(n).unwrap_or(usize::MAX);
            }
            let flag =
                |k: &str, default: bool| p.get(k).and_then(Value::as_bool).unwrap_or(default);
            policy.require_uppercase = flag("RequireUppercase", false);
            policy.require_lowercase = flag("RequireLowercase", false);
            policy.require_numbers = flag("RequireNumbers", false);
            policy.require_symbols = flag("RequireSymbols", false);
        }
        let alias_attributes = input.str_list("AliasAttributes")?;
        if let Some(bad) = alias_attributes
            .iter()
            .find(|a| !matches!(a.as_str(), "preferred_username" | "email" | "phone_number"))
        {
            return Err(invalid_parameter(format!("Invalid alias attribute: {bad}")));
        }
        let schema = input
            .0
            .get("Schema")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|a| {
                        Some(SchemaAttribute {
                            name: a.get("Name")?.as_str()?.to_owned(),
                            required: a.get("Required").and_then(Value::as_bool).unwrap_or(false),
                            mutable: a.get("Mutable").and_then(Value::as_bool).unwrap_or(true),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let template = input.object("VerificationMessageTemplate");
        let template_str = |k: &str| {
            template
                .and_then(|t| t.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        // Keep what the caller sent so DescribeUserPool echoes settings this emulator ignores.
        let mut extra = input.0.as_object().cloned().unwrap_or_default();
        extra.remove("PoolName");
        let created = now();
        let id = format!("{}_{}", self.region, random_string(9));
        let pool = Pool {
            arn: format!(
                "arn:aws:cognito-idp:{}:{}:userpool/{id}",
                self.region, self.account_id
            ),
            id: id.clone(),
            name: name.to_owned(),
            created,
            modified: created,
            alias_attributes,
            auto_verified_attributes: input.str_list("AutoVerifiedAttributes")?,
            // Case-insensitive unless asked otherwise, as CDK and the console create pools.
            case_sensitive: input
                .object("UsernameConfiguration")
                .and_then(|c| c.get("CaseSensitive"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            policy,
            schema,
            email_subject: template_str("EmailSubject").or(input
                .str_opt("EmailVerificationSubject")?
                .map(str::to_owned)),
            email_message: template_str("EmailMessage").or(input
                .str_opt("EmailVerificationMessage")?
                .map(str::to_owned)),
            extra,
            clients: BTreeMap::new(),
            users: BTreeMap::new(),
            refresh_tokens: BTreeMap::new(),
        };
        let described = pool.describe_json();
        self.store.write(|s| s.pools.insert(id.clone(), pool));
        tracing::info!(pool_id = %id, name, "Cognito user pool created");
        Ok(json!({"UserPool": described}))
    }

    fn describe_user_pool(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let pool_id = input.str_req("UserPoolId")?;
        self.store
            .read(|s| get_pool(s, pool_id).map(|p| json!({"UserPool": p.describe_json()})))
    }

    fn list_user_pools(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let max = input.i64_opt("MaxResults")?.ok_or_else(|| {
            invalid_parameter("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must not be null")
        })?;
        if !(1..=60).contains(&max) {
            return Err(invalid_parameter(
                "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60",
            ));
        }
        let after = decode_token(input.str_opt("NextToken")?)?;
        self.store.read(|s| {
            let items: Vec<&Pool> = s
                .pools
                .values()
                .filter(|p| after.as_deref().is_none_or(|a| p.id.as_str() > a))
                .collect();
            let page = paginate(&items, max, |p| p.id.clone());
            Ok(page.to_json("UserPools", "NextToken", |p| {
                json!({"Id": p.id, "Name": p.name, "LambdaConfig": {},
                       "LastModifiedDate": p.modified, "CreationDate": p.created})
            }))
        })
    }

    fn create_user_pool_client(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let pool_id = input.str_req("UserPoolId")?;
        let name = input.str_req("ClientName")?;
        let validity =
            |amount: &str, unit: &str, default_unit: &str, default: i64| -> Result<i64, AwsError> {
                let Some(n) = input.i64_opt(amount)? else {
                    return Ok(default);
                };
                let unit = input
                    .object("TokenValidityUnits")
                    .and_then(|u| u.get(unit))
                    .and_then(Value::as_str)
                    .unwrap_or(default_unit);
                Ok(n * match unit {
                    "seconds" => 1,
                    "minutes" => 60,
                    "hours" => 3600,
                    _ => 86_400,
                })
            };
        let mut extra = input.0.as_object().cloned().unwrap_or_default();
        for k in [
            "UserPoolId",
            "ClientName",
            "GenerateSecret",
            "ExplicitAuthFlows",
        ] {
            extra.remove(k);
        }
        let explicit = input.str_list("ExplicitAuthFlows")?;
        let client = Client {
            id: random_string(26).to_lowercase(),
            name: name.to_owned(),
            secret: input
                .bool_opt("GenerateSecret")?
                .unwrap_or(false)
                .then(|| random_string(51).to_lowercase()),
            // Cognito's defaults when no flow is named.
            explicit_auth_flows: if explicit.is_empty() {
                vec![
                    "ALLOW_REFRESH_TOKEN_AUTH".into(),
                    "ALLOW_USER_SRP_AUTH".into(),
                    "ALLOW_CUSTOM_AUTH".into(),
                ]
            } else {
                explicit
            },
            prevent_user_existence_errors: input.str_opt("PreventUserExistenceErrors")?
                == Some("ENABLED"),
            access_token_validity_secs: validity(
                "AccessTokenValidity",
                "AccessToken",
                "hours",
                3600,
            )?,
            id_token_validity_secs: validity("IdTokenValidity", "IdToken", "hours", 3600)?,
            refresh_token_validity_secs: validity(
                "RefreshTokenValidity",
                "RefreshToken",
                "days",
                30 * 86_400,
            )?,
            created: now(),
            extra,
        };
        let described = client.describe_json(pool_id);
        self.store
            .write(|s| pool_mut(s, pool_id).map(|p| p.clients.insert(client.id.clone(), client)))?;
        Ok(json!({"UserPoolClient": described}))
    }

    fn describe_user_pool_client(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let pool_id = input.str_req("UserPoolId")?;
        let client_id = input.str_req("ClientId")?;
        self.store.read(|s| {
            let p = get_pool(s, pool_id)?;
            let c = p
                .clients
                .get(client_id)
                .ok_or_else(|| client_not_found(client_id))?;
            Ok(json!({"UserPoolClient": c.describe_json(pool_id)}))
        })
    }

    fn list_user_pool_clients(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let pool_id = input.str_req("UserPoolId")?;
        let max = input.i64_opt("MaxResults")?.unwrap_or(60).clamp(1, 60);
        let after = decode_token(input.str_opt("NextToken")?)?;
        self.store.read(|s| {
            let p = get_pool(s, pool_id)?;
            let items: Vec<&Client> = p
                .clients
                .values()
                .filter(|c| after.as_deref().is_none_or(|a| c.id.as_str() > a))
                .collect();
            let page = paginate(&items, max, |c| c.id.clone());
            Ok(page.to_json(
                "UserPoolClients",
                "NextToken",
                |c| json!({"ClientId": c.id, "UserPoolId": pool_id, "ClientName": c.name}),
            ))
        })
    }

    // ---- sign-up ----------------------------------------------------------------------------

    fn sign_up(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let password = input.str_opt("Password")?.ok_or_else(|| {
            invalid_parameter("1 validation error detected: Value at 'password' failed to satisfy constraint: Member must not be null")
        })?;
        let attrs = input.attributes("UserAttributes")?.unwrap_or_default();
        let validation_data = input
            .attributes("ValidationData")?
            .map(|v| v.into_iter().collect::<BTreeMap<_, _>>());
        let client_metadata = input.string_map("ClientMetadata")?;
        validate_username(username)?;
        validate_attribute_names(&attrs)?;
        let attributes: BTreeMap<String, String> = attrs.into_iter().collect();

        let (pool, client) = self.store.read(|s| {
            let (p, c) = client(s, client_id)?;
            check_secret_hash(c, username, input.str_opt("SecretHash")?)?;
            p.policy.check(password)?;
            check_required(p, &attributes)?;
            let key = p.user_key(username);
            if p.users.contains_key(&key) || p.find_user_key(username).is_some() {
                return Err(AwsError::new(
                    400,
                    "UsernameExistsException",
                    "User already exists",
                ));
            }
            if let Some(e) = alias_conflict(p, &attributes, &key) {
                return Err(e);
            }
            Ok((p.clone_without_users(), c.clone()))
        })?;
        let ctx = EventContext {
            region: &self.region,
            pool_id: &pool.id,
            client_id: &client.id,
            user_name: username,
        };
        let triggers = self.triggers();

        let mut confirmed = false;
        let mut attributes = attributes;
        if let Some(pre_sign_up) = &triggers.pre_sign_up {
            let event = triggers::event(
                &ctx,
                "PreSignUp_SignUp",
                json!({
                    "userAttributes": triggers::attributes_json(&attributes),
                    "validationData": triggers::string_map_json(validation_data.as_ref()),
                    "clientMetadata": triggers::string_map_json(client_metadata.as_ref()),
                }),
                json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false}),
            );
            let response = triggers::invoke(pre_sign_up, "PreSignUp", event)?;
            let flag = |k: &str| response.get(k).and_then(Value::as_bool).unwrap_or(false);
            confirmed = flag("autoConfirmUser");
            if flag("autoVerifyEmail") && attributes.contains_key("email") {
                attributes.insert("email_verified".into(), "true".into());
            }
            if flag("autoVerifyPhone") && attributes.contains_key("phone_number") {
                attributes.insert("phone_number_verified".into(), "true".into());
            }
        }

        let sub = uuid::Uuid::new_v4().to_string();
        attributes.insert("sub".into(), sub.clone());
        let email = attributes.get("email").cloned();
        let sends_code = !confirmed
            && pool.auto_verified_attributes.iter().any(|a| a == "email")
            && email.is_some();
        let code = random_code();
        let mail = match (&email, sends_code) {
            (Some(to), true) => Some(self.compose_mail(
                &pool,
                &ctx,
                "CustomMessage_SignUp",
                &attributes,
                client_metadata.as_ref(),
                to,
                &code,
            )?),
            _ => None,
        };

        let created = now();
        let user = User {
            username: username.to_owned(),
            sub: sub.clone(),
            attributes,
            password: password.to_owned(),
            status: if confirmed {
                UserStatus::Confirmed
            } else {
                UserStatus::Unconfirmed
            },
            enabled: true,
            created,
            modified: created,
            codes: Vec::new(),
            sessions: Vec::new(),
        };
        self.store.write(|s| {
            let p = pool_mut(s, &pool.id)?;
            let key = p.user_key(username);
            if p.users.contains_key(&key) {
                return Err(AwsError::new(
                    400,
                    "UsernameExistsException",
                    "User already exists",
                ));
            }
            if confirmed {
                if let Some(e) = alias_conflict(p, &user.attributes, &key) {
                    return Err(e);
                }
            }
            let mut user = user;
            if sends_code {
                set_code(
                    &mut user,
                    CodePurpose::SignUp,
                    code.clone(),
                    SIGN_UP_CODE_SECS,
                );
            }
            p.users.insert(key, user);
            Ok(())
        })?;
        tracing::info!(pool_id = %pool.id, username, confirmed, "Cognito user signed up");
        let mut out = json!({"UserConfirmed": confirmed, "UserSub": sub});
        if let (Some(mail), Value::Object(o)) = (mail, &mut out) {
            o.insert(
                "CodeDeliveryDetails".into(),
                code_delivery(&mail.message.to),
            );
            self.record_message(mail.message);
        }
        Ok(out)
    }

    fn confirm_sign_up(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let code = input.str_req("ConfirmationCode")?;
        let force_alias = input.bool_opt("ForceAliasCreation")?.unwrap_or(false);
        self.store.write(|s| {
            let (p, c) = client(s, client_id)?;
            check_secret_hash(c, username, input.str_opt("SecretHash")?)?;
            let pool_id = p.id.clone();
            let p = pool_mut(s, &pool_id)?;
            let key = p.user_key(username);
            let user = p.users.get(&key).ok_or_else(username_client_not_found)?;
            if user.status != UserStatus::Unconfirmed {
                return Err(not_authorized(&format!(
                    "User cannot be confirmed. Current status is {}",
                    user.status.as_str()
                )));
            }
            let attributes = user.attributes.clone();
            let conflict = alias_conflict(p, &attributes, &key);
            let user = p
                .users
                .get_mut(&key)
                .ok_or_else(username_client_not_found)?;
            let pending = user.codes.clone();
            consume_code(user, CodePurpose::SignUp, code)?;
            if let Some(e) = conflict {
                if !force_alias {
                    // The code stays usable once the alias is freed or forced.
                    user.codes = pending;
                    return Err(e);
                }
                take_aliases(p, &attributes, &key);
            }
            confirm(p, &key);
            Ok(json!({}))
        })
    }

    fn resend_confirmation_code(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let client_metadata = input.string_map("ClientMetadata")?;
        let (pool, client, user) = self.store.read(|s| {
            let (p, c) = client(s, client_id)?;
            check_secret_hash(c, username, input.str_opt("SecretHash")?)?;
            let user = p
                .users
                .get(&p.user_key(username))
                .ok_or_else(username_client_not_found)?;
            if user.status != UserStatus::Unconfirmed {
                return Err(invalid_parameter("User is already confirmed."));
            }
            Ok((p.clone_without_users(), c.clone(), user.clone()))
        })?;
        let to = user
            .attribute("email")
            .ok_or_else(|| invalid_parameter("Auto verification not turned on."))?
            .to_owned();
        let code = random_code();
        let ctx = EventContext {
            region: &self.region,
            pool_id: &pool.id,
            client_id: &client.id,
            user_name: &user.username,
        };
        let mail = self.compose_mail(
            &pool,
            &ctx,
            "CustomMessage_ResendCode",
            &user.attributes,
            client_metadata.as_ref(),
            &to,
            &code,
        )?;
        self.store.write(|s| {
            let p = pool_mut(s, &pool.id)?;
            let key = p.user_key(&user.username);
            let u = p
                .users
                .get_mut(&key)
                .ok_or_else(username_client_not_found)?;
            set_code(u, CodePurpose::SignUp, code, SIGN_UP_CODE_SECS);
            Ok(())
        })?;
        self.record_message(mail.message);
        Ok(json!({"CodeDeliveryDetails": code_delivery(&to)}))
    }

    // ---- sign-in and tokens -----------------------------------------------------------------

    fn initiate_auth(&self, input: &Input<'_>, admin: bool) -> Result<Value, AwsError> {
        let flow = input.str_req("AuthFlow")?;
        let client_id = input.str_req("ClientId")?;
        let params = input.string_map("AuthParameters")?.unwrap_or_default();
        let client_metadata = input.string_map("ClientMetadata")?;
        let admin_pool = if admin {
            Some(input.str_req("UserPoolId")?)
        } else {
            None
        };
        let (pool, client) = self.store.read(|s| {
            let (p, c) = client(s, client_id)?;
            if admin_pool.is_some_and(|id| id != p.id) {
                return Err(client_not_found(client_id));
            }
            Ok((p.clone_without_users(), c.clone()))
        })?;
        let password_flow = match (flow, admin) {
            ("USER_PASSWORD_AUTH", false) => true,
            ("ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH", true) => true,
            ("REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN", _) => false,
            (
                "USER_SRP_AUTH" | "CUSTOM_AUTH" | "USER_AUTH" | "USER_PASSWORD_AUTH"
                | "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH",
                _,
            ) => {
                return Err(invalid_parameter(format!(
                    "{flow} flow is not supported by this operation in the emulator"
                )))
            }
            _ => {
                return Err(invalid_parameter(format!(
                    "1 validation error detected: Value '{flow}' at 'authFlow' failed to satisfy constraint: \
                     Member must satisfy enum value set"
                )))
            }
        };
        let flow_name = if password_flow {
            if admin {
                "ADMIN_USER_PASSWORD_AUTH"
            } else {
                "USER_PASSWORD_AUTH"
            }
        } else {
            "REFRESH_TOKEN_AUTH"
        };
        if !client.allows(flow_name) {
            return Err(invalid_parameter(format!(
                "{flow_name} flow not enabled for this client"
            )));
        }
        if password_flow {
            self.password_auth(&pool, &client, &params, client_metadata.as_ref())
        } else {
            self.refresh_auth(&pool, &client, &params)
        }
    }

    fn password_auth(
        &self,
        pool: &Pool,
        client: &Client,
        params: &BTreeMap<String, String>,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> Result<Value, AwsError> {
        let username = params
            .get("USERNAME")
            .ok_or_else(|| invalid_parameter("Missing required parameter USERNAME"))?;
        let password = params
            .get("PASSWORD")
            .ok_or_else(|| invalid_parameter("Missing required parameter PASSWORD"))?;
        check_secret_hash(
            client,
            username,
            params.get("SECRET_HASH").map(String::as_str),
        )?;
        let wrong = || not_authorized("Incorrect username or password.");
        let user = self.store.read(|s| {
            let p = get_pool(s, &pool.id)?;
            Ok(p.find_user_key(username)
                .and_then(|k| p.users.get(&k))
                .cloned())
        })?;
        let Some(user) = user else {
            return Err(if client.prevent_user_existence_errors {
                wrong()
            } else {
                user_not_found()
            });
        };
        if !user.enabled {
            return Err(not_authorized("User is disabled."));
        }
        if let Some(pre_auth) = &self.triggers().pre_authentication {
            let ctx = EventContext {
                region: &self.region,
                pool_id: &pool.id,
                client_id: &client.id,
                user_name: &user.username,
            };
            let event = triggers::event(
                &ctx,
                "PreAuthentication_Authentication",
                json!({
                    "userAttributes": user_attributes_for_trigger(&user),
                    // Cognito hands InitiateAuth's ClientMetadata to this trigger as validationData.
                    "validationData": triggers::string_map_json(client_metadata),
                    "userNotFound": false,
                }),
                json!({}),
            );
            triggers::invoke(pre_auth, "PreAuthentication", event)?;
        }
        if user.password != *password {
            return Err(wrong());
        }
        match user.status {
            UserStatus::Unconfirmed => {
                return Err(AwsError::new(
                    400,
                    "UserNotConfirmedException",
                    "User is not confirmed.",
                ))
            }
            UserStatus::ResetRequired => {
                return Err(AwsError::new(
                    400,
                    "PasswordResetRequiredException",
                    "Password reset required for the user",
                ))
            }
            UserStatus::Confirmed | UserStatus::ForceChangePassword => {}
        }
        let origin_jti = uuid::Uuid::new_v4().to_string();
        let auth_time = now_secs();
        let refresh_token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()),
            random_string(64)
        );
        let session = RefreshSession {
            user_sub: user.sub.clone(),
            client_id: client.id.clone(),
            origin_jti: origin_jti.clone(),
            auth_time,
            expires: now() + client.refresh_token_validity_secs as f64,
        };
        let mut result = self.issue_tokens(pool, client, &user, &origin_jti, auth_time)?;
        self.store.write(|s| {
            let p = pool_mut(s, &pool.id)?;
            let at = now();
            p.refresh_tokens.retain(|_, r| r.expires > at);
            p.refresh_tokens.insert(refresh_token.clone(), session);
            let key = p.user_key(&user.username);
            with_user(p, &key, |u| u.sessions.push(origin_jti.clone()))
        })?;
        if let Value::Object(o) = &mut result {
            o.insert("RefreshToken".into(), Value::String(refresh_token));
        }
        tracing::info!(pool_id = %pool.id, username = %user.username, "Cognito sign-in");
        Ok(json!({"ChallengeParameters": {}, "AuthenticationResult": result}))
    }

    fn refresh_auth(
        &self,
        pool: &Pool,
        client: &Client,
        params: &BTreeMap<String, String>,
    ) -> Result<Value, AwsError> {
        let token = params
            .get("REFRESH_TOKEN")
            .ok_or_else(|| invalid_parameter("Missing required parameter REFRESH_TOKEN"))?;
        let invalid = || not_authorized("Invalid Refresh Token");
        let (session, user) = self.store.read(|s| {
            let p = get_pool(s, &pool.id)?;
            let session = p.refresh_tokens.get(token).cloned().ok_or_else(invalid)?;
            let user = p.user_by_sub(&session.user_sub).map(|(_, u)| u.clone());
            Ok((session, user))
        })?;
        if session.client_id != client.id {
            return Err(invalid());
        }
        if session.expires < now() {
            return Err(not_authorized("Refresh Token has expired"));
        }
        let user = user.ok_or_else(user_not_found)?;
        if let Some(secret_hash) = params.get("SECRET_HASH") {
            check_secret_hash(client, &user.username, Some(secret_hash))?;
        }
        if !user.sessions.contains(&session.origin_jti) {
            return Err(not_authorized("Refresh Token has been revoked"));
        }
        if !user.enabled {
            return Err(not_authorized("User is disabled."));
        }
        // Without rotation Cognito leaves RefreshToken out; clients keep the one they have.
        let result =
            self.issue_tokens(pool, client, &user, &session.origin_jti, session.auth_time)?;
        Ok(json!({"ChallengeParameters": {}, "AuthenticationResult": result}))
    }

    fn issue_tokens(
        &self,
        pool: &Pool,
        client: &Client,
        user: &User,
        origin_jti: &str,
        auth_time: i64,
    ) -> Result<Value, AwsError> {
        let keys = self.signing_keys().map_err(internal)?;
        let iat = now_secs();
        let iss = self.issuer(&pool.id);
        let event_id = uuid::Uuid::new_v4().to_string();
        let access = json!({
            "sub": user.sub,
            "iss": iss,
            "client_id": client.id,
            "origin_jti": origin_jti,
            "event_id": event_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": auth_time,
            "exp": iat + client.access_token_validity_secs,
            "iat": iat,
            "jti": uuid::Uuid::new_v4().to_string(),
            "username": user.username,
        });
        let mut id: Map<String, Value> = user
            .attributes
            .iter()
            .filter(|(k, _)| k.as_str() != "sub")
            .map(|(k, v)| {
                let value = if k.ends_with("_verified") {
                    Value::Bool(v == "true")
                } else {
                    Value::String(v.clone())
                };
                (k.clone(), value)
            })
            .collect();
        let id_fields = json!({
            "sub": user.sub,
            "iss": iss,
            "cognito:username": user.username,
            "origin_jti": origin_jti,
            "aud": client.id,
            "event_id": event_id,
            "token_use": "id",
            "auth_time": auth_time,
            "exp": iat + client.id_token_validity_secs,
            "iat": iat,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Value::Object(fields) = id_fields {
            id.extend(fields);
        }
        let Value::Object(access) = access else {
            return Err(internal("access claims are not an object"));
        };
        Ok(json!({
            "AccessToken": keys.sign(TokenUse::Access, &access).map_err(internal)?,
            "ExpiresIn": client.access_token_validity_secs,
            "TokenType": "Bearer",
            "IdToken": keys.sign(TokenUse::Id, &id).map_err(internal)?,
        }))
    }

    /// Resolves an access token to (pool id, user key), refusing bad, expired and revoked tokens.
    fn authorize(&self, token: &str) -> Result<(String, String), AwsError> {
        let invalid = || not_authorized("Invalid Access Token");
        tokens::peek_claims(token).ok_or_else(invalid)?;
        let keys = self.signing_keys().map_err(internal)?;
        let claims = keys.verify(TokenUse::Access, token).ok_or_else(invalid)?;
        let claim = |k: &str| claims.get(k).and_then(Value::as_str);
        if claim("token_use") != Some("access") {
            return Err(invalid());
        }
        let pool_id = claim("iss")
            .and_then(|iss| iss.rsplit('/').next())
            .ok_or_else(invalid)?
            .to_owned();
        if claims.get("exp").and_then(Value::as_i64).unwrap_or(0) <= now_secs() {
            return Err(not_authorized("Access Token has expired"));
        }
        let sub = claim("sub").ok_or_else(invalid)?;
        let origin = claim("origin_jti").ok_or_else(invalid)?;
        self.store.read(|s| {
            let p = s.pools.get(&pool_id).ok_or_else(invalid)?;
            let (key, user) = p.user_by_sub(sub).ok_or_else(user_not_found)?;
            if !user.sessions.iter().any(|o| o == origin) {
                return Err(not_authorized("Access Token has been revoked"));
            }
            if !user.enabled {
                return Err(not_authorized("User is disabled."));
            }
            Ok((pool_id.clone(), key.clone()))
        })
    }

    fn get_user(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let (pool_id, key) = self.authorize(input.str_req("AccessToken")?)?;
        self.store.read(|s| {
            let user = get_pool(s, &pool_id)?
                .users
                .get(&key)
                .ok_or_else(user_not_found)?;
            Ok(json!({
                "Username": user.username,
                "UserAttributes": user.attributes_json(None),
                "UserMFASettingList": [],
            }))
        })
    }

    fn change_password(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let (pool_id, key) = self.authorize(input.str_req("AccessToken")?)?;
        let proposed = input.str_req("ProposedPassword")?;
        let previous = input.str_opt("PreviousPassword")?;
        self.store.write(|s| {
            let p = pool_mut(s, &pool_id)?;
            p.policy.check(proposed)?;
            let user = p.users.get_mut(&key).ok_or_else(user_not_found)?;
            if previous != Some(user.password.as_str()) {
                return Err(not_authorized("Incorrect username or password."));
            }
            user.password = proposed.to_owned();
            user.modified = now();
            Ok(json!({}))
        })
    }

    fn global_sign_out(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let (pool_id, key) = self.authorize(input.str_req("AccessToken")?)?;
        self.store.write(|s| {
            let p = pool_mut(s, &pool_id)?;
            with_user(p, &key, |u| u.sessions.clear())
        })?;
        Ok(json!({}))
    }

    // ---- password reset ---------------------------------------------------------------------

    fn forgot_password(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let client_metadata = input.string_map("ClientMetadata")?;
        let (pool, client, user) = self.store.read(|s| {
            let (p, c) = client(s, client_id)?;
            check_secret_hash(c, username, input.str_opt("SecretHash")?)?;
            let user = p
                .find_user_key(username)
                .and_then(|k| p.users.get(&k))
                .cloned();
            Ok((p.clone_without_users(), c.clone(), user))
        })?;
        let Some(user) = user else {
            if client.prevent_user_existence_errors {
                // Pretend a code went out, so callers cannot probe for users.
                return Ok(json!({"CodeDeliveryDetails": code_delivery(username)}));
            }
            return Err(username_client_not_found());
        };
        if !user.enabled {
            return Err(not_authorized("User is disabled."));
        }
        let to = match user.attribute("email") {
            Some(email) if user.email_verified() => email.to_owned(),
            _ => {
                return Err(invalid_parameter(
                    "Cannot reset password for the user as there is no registered/verified email or phone_number",
                ))
            }
        };
        let code = random_code();
        let ctx = EventContext {
            region: &self.region,
            pool_id: &pool.id,
            client_id: &client.id,
            user_name: &user.username,
        };
        let mail = self.compose_mail(
            &pool,
            &ctx,
            "CustomMessage_ForgotPassword",
            &user.attributes,
            client_metadata.as_ref(),
            &to,
            &code,
        )?;
        self.store.write(|s| {
            let p = pool_mut(s, &pool.id)?;
            let key = p.user_key(&user.username);
            with_user(p, &key, |u| {
                set_code(u, CodePurpose::ForgotPassword, code, RESET_CODE_SECS)
            })
        })?;
        self.record_message(mail.message);
        Ok(json!({"CodeDeliveryDetails": code_delivery(&to)}))
    }

    fn confirm_forgot_password(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let code = input.str_req("ConfirmationCode")?;
        let password = input.str_req("Password")?;
        self.store.write(|s| {
            let (p, c) = client(s, client_id)?;
            check_secret_hash(c, username, input.str_opt("SecretHash")?)?;
            let pool_id = p.id.clone();
            let p = pool_mut(s, &pool_id)?;
            let key = p
                .find_user_key(username)
                .ok_or_else(username_client_not_found)?;
            p.policy.check(password)?;
            let user = p
                .users
                .get_mut(&key)
                .ok_or_else(username_client_not_found)?;
            consume_code(user, CodePurpose::ForgotPassword, code)?;
            user.password = password.to_owned();
            if user.status == UserStatus::ResetRequired {
                user.status = UserStatus::Confirmed;
            }
            user.modified = now();
            Ok(json!({}))
        })
    }

    /// The e-mail for `trigger_source`, through the CustomMessage trigger when one is registered.
    #[allow(clippy::too_many_arguments)]
    fn compose_mail(
        &self,
        pool: &Pool,
        ctx: &EventContext<'_>,
        trigger_source: &str,
        attributes: &BTreeMap<String, String>,
        client_metadata: Option<&BTreeMap<String, String>>,
        to: &str,
        code: &str,
    ) -> Result<Mail, AwsError> {
        let mut subject = pool
            .email_subject
            .clone()
            .unwrap_or_else(|| "Your verification code".to_owned());
        let mut body = pool
            .email_message
            .clone()
            .unwrap_or_else(|| format!("Your verification code is {CODE_PLACEHOLDER}. "));
        if let Some(custom) = &self.triggers().custom_message {
            let event = triggers::event(
                ctx,
                trigger_source,
                json!({
                    "userAttributes": triggers::attributes_json(attributes),
                    "codeParameter": CODE_PLACEHOLDER,
                    "linkParameter": "{##Click Here##}",
                    "usernameParameter": null,
                    "clientMetadata": triggers::string_map_json(client_metadata),
                }),
                json!({"smsMessage": null, "emailMessage": null, "emailSubject": null}),
            );
            let response = triggers::invoke(custom, "CustomMessage", event)?;
            // A null field means "use the default template".
            if let Some(m) = response.get("emailMessage").and_then(Value::as_str) {
                body = m.to_owned();
            }
            if let Some(s) = response.get("emailSubject").and_then(Value::as_str) {
                subject = s.to_owned();
            }
        }
        Ok(Mail {
            message: OutboxMessage {
                to: to.to_owned(),
                username: ctx.user_name.to_owned(),
                pool_id: pool.id.clone(),
                trigger_source: trigger_source.to_owned(),
                subject,
                body: body.replace(CODE_PLACEHOLDER, code),
                code: code.to_owned(),
                time: time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            },
        })
    }

    // ---- admin ------------------------------------------------------------------------------

    fn admin_user<R>(
        &self,
        input: &Input<'_>,
        f: impl FnOnce(&Pool, &User) -> Result<R, AwsError>,
    ) -> Result<R, AwsError> {
        let pool_id = input.str_req("UserPoolId")?;
        let username = input.str_req("Username")?;
        self.store.read(|s| {
            let p = get_pool(s, pool_id)?;
            let user = p
                .find_user_key(username)
                .and_then(|k| p.users.get(&k))
                .ok_or_else(user_not_found)?;
            f(p, user)
        })
    }

    fn admin_user_change(
        &self,
        input: &Input<'_>,
        f: impl FnOnce(&mut Pool, &str) -> Result<(), AwsError>,
    ) -> Result<Value, AwsError> {
        let pool_id = input.str_req("UserPoolId")?;
        let username = input.str_req("Username")?;
        self.store.write(|s| {
            let p = pool_mut(s, pool_id)?;
            let key = p.find_user_key(username).ok_or_else(user_not_found)?;
            f(p, &key)?;
            Ok(json!({}))
        })
    }

    fn admin_get_user(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        self.admin_user(input, |_, user| {
            Ok(json!({
                "Username": user.username,
                "UserAttributes": user.attributes_json(None),
                "UserCreateDate": user.created,
                "UserLastModifiedDate": user.modified,
                "Enabled": user.enabled,
                "UserStatus": user.status.as_str(),
                "UserMFASettingList": [],
            }))
        })
    }

    fn admin_update_user_attributes(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let attrs = input.attributes("UserAttributes")?.ok_or_else(|| {
            invalid_parameter("1 validation error detected: Value at 'userAttributes' failed to satisfy constraint: Member must not be null")
        })?;
        validate_attribute_names(&attrs)?;
        self.admin_user_change(input, |p, key| {
            for (name, _) in &attrs {
                if p.schema.iter().any(|a| &a.name == name && !a.mutable) {
                    return Err(invalid_parameter(format!(
                        "Cannot modify the non-mutable attribute {name}"
                    )));
                }
            }
            let user = p.users.get(key).ok_or_else(user_not_found)?;
            let mut updated = user.attributes.clone();
            let email_changed = attrs
                .iter()
                .any(|(n, v)| n == "email" && user.attribute("email") != Some(v.as_str()));
            for (name, value) in &attrs {
                if value.is_empty() {
                    updated.remove(name);
                } else {
                    updated.insert(name.clone(), value.clone());
                }
            }
            if email_changed && !attrs.iter().any(|(n, _)| n == "email_verified") {
                updated.insert("email_verified".into(), "false".into());
            }
            check_required(p, &updated)?;
            if user.status != UserStatus::Unconfirmed {
                let changed: BTreeMap<String, String> = attrs
                    .iter()
                    .filter_map(|(n, _)| updated.get(n).map(|v| (n.clone(), v.clone())))
                    .collect();
                if let Some(e) = alias_conflict(p, &changed, key) {
                    return Err(e);
                }
            }
            with_user(p, key, |u| {
                u.attributes = updated;
                u.modified = now();
            })
        })
    }

    fn admin_confirm_sign_up(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        self.admin_user_change(input, |p, key| {
            let user = p.users.get(key).ok_or_else(user_not_found)?;
            if user.status != UserStatus::Unconfirmed {
                return Err(not_authorized(&format!(
                    "User cannot be confirmed. Current status is {}",
                    user.status.as_str()
                )));
            }
            if let Some(e) = alias_conflict(p, &user.attributes, key) {
                return Err(e);
            }
            confirm(p, key);
            Ok(())
        })
    }

    fn admin_set_user_password(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let password = input.str_req("Password")?;
        if input.bool_opt("Permanent")? != Some(true) {
            return Err(invalid_parameter(
                "The emulator supports only permanent passwords (Permanent: true)",
            ));
        }
        self.admin_user_change(input, |p, key| {
            p.policy.check(password)?;
            with_user(p, key, |u| {
                u.password = password.to_owned();
                u.status = UserStatus::Confirmed;
                u.codes.retain(|c| c.purpose != CodePurpose::SignUp);
                u.modified = now();
            })
        })
    }

    fn list_users(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let pool_id = input.str_req("UserPoolId")?;
        let limit = match input.i64_opt("Limit")? {
            None | Some(0) => 60,
            Some(n @ 1..=60) => n,
            Some(_) => {
                return Err(invalid_parameter(
                    "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 60",
                ))
            }
        };
        let only = input
            .0
            .get("AttributesToGet")
            .filter(|v| !v.is_null())
            .map(|_| input.str_list("AttributesToGet"))
            .transpose()?;
        let filter = match input.str_opt("Filter")?.map(str::trim) {
            None | Some("") => None,
            Some(f) => Some(filter::parse(f)?),
        };
        let after = decode_token(input.str_opt("PaginationToken")?)?;
        self.store.read(|s| {
            let p = get_pool(s, pool_id)?;
            let matching: Vec<(&String, &User)> = p
                .users
                .iter()
                .filter(|(k, _)| after.as_deref().is_none_or(|a| k.as_str() > a))
                .filter(|(_, u)| {
                    filter.as_ref().is_none_or(|f| {
                        let status;
                        let actual = match f.attribute.as_str() {
                            "username" => Some(u.username.as_str()),
                            "cognito:user_status" => Some(u.status.as_str()),
                            "status" => {
                                status = if u.enabled { "Enabled" } else { "Disabled" };
                                Some(status)
                            }
                            other => u.attribute(other),
                        };
                        f.matches(actual)
                    })
                })
                .collect();
            let page = paginate(&matching, limit, |(k, _)| (*k).clone());
            Ok(page.to_json("Users", "PaginationToken", |(_, u)| {
                u.listing_json(only.as_deref())
            }))
        })
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
