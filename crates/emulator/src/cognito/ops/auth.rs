//! Sign-in and tokens: InitiateAuth / AdminInitiateAuth (password and refresh-token flows), token
//! issue, and the access-token operations GetUser, ChangePassword and GlobalSignOut.

use super::*;

impl Cognito {
    pub(super) fn initiate_auth(&self, input: &Input<'_>, admin: bool) -> Result<Value, AwsError> {
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

    pub(super) fn password_auth(
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
        self.pre_authentication(pool, client, &user, client_metadata)?;
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
        let result = self.start_session(pool, client, &user)?;
        tracing::info!(pool_id = %pool.id, username = %user.username, "Cognito sign-in");
        Ok(json!({"ChallengeParameters": {}, "AuthenticationResult": result}))
    }

    /// Runs the PreAuthentication trigger, if one is set; its refusal refuses the sign-in.
    fn pre_authentication(
        &self,
        pool: &Pool,
        client: &Client,
        user: &User,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> Result<(), AwsError> {
        let Some(pre_auth) = self.triggers().pre_authentication else {
            return Ok(());
        };
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
                "userAttributes": user_attributes_for_trigger(user),
                // Cognito hands InitiateAuth's ClientMetadata to this trigger as validationData.
                "validationData": triggers::string_map_json(client_metadata),
                "userNotFound": false,
            }),
            json!({}),
        );
        triggers::invoke(&pre_auth, "PreAuthentication", event).map(|_| ())
    }

    /// A new sign-in session: the ID and access tokens, and a refresh token stored with the
    /// session it belongs to (`AuthenticationResult`).
    fn start_session(&self, pool: &Pool, client: &Client, user: &User) -> Result<Value, AwsError> {
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
        let mut result = self.issue_tokens(pool, client, user, &origin_jti, auth_time)?;
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
        Ok(result)
    }

    pub(super) fn refresh_auth(
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

    pub(super) fn issue_tokens(
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
    pub(super) fn authorize(&self, token: &str) -> Result<(String, String), AwsError> {
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

    pub(super) fn get_user(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

    pub(super) fn change_password(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

    pub(super) fn global_sign_out(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let (pool_id, key) = self.authorize(input.str_req("AccessToken")?)?;
        self.store.write(|s| {
            let p = pool_mut(s, &pool_id)?;
            with_user(p, &key, |u| u.sessions.clear())
        })?;
        Ok(json!({}))
    }
}
