//! Sign-up: SignUp (with the pre-sign-up trigger and the e-mailed code), ConfirmSignUp and
//! ResendConfirmationCode.

use super::*;

impl Cognito {
    pub(super) fn sign_up(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

        let (pool, client) =
            self.check_sign_up(input, client_id, username, password, &attributes)?;
        let ctx = EventContext {
            region: &self.region,
            pool_id: &pool.id,
            client_id: &client.id,
            user_name: username,
        };
        let mut attributes = attributes;
        let confirmed = self.pre_sign_up(
            &ctx,
            &mut attributes,
            validation_data.as_ref(),
            client_metadata.as_ref(),
        )?;

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
        let mut user = User {
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
        if sends_code {
            set_code(&mut user, CodePurpose::SignUp, code, SIGN_UP_CODE_SECS);
        }
        self.insert_new_user(&pool.id, user)?;
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

    /// The pool and client of a sign-up whose client, password, attributes and name are
    /// acceptable.
    fn check_sign_up(
        &self,
        input: &Input<'_>,
        client_id: &str,
        username: &str,
        password: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(Pool, Client), AwsError> {
        self.store.read(|s| {
            let (p, c) = signed_client(s, input, client_id, username)?;
            p.policy.check(password)?;
            check_required(p, attributes)?;
            let key = p.user_key(username);
            if p.users.contains_key(&key) || p.find_user_key(username).is_some() {
                return Err(AwsError::new(
                    400,
                    "UsernameExistsException",
                    "User already exists",
                ));
            }
            if let Some(e) = alias_conflict(p, attributes, &key) {
                return Err(e);
            }
            Ok((p.clone_without_users(), c.clone()))
        })
    }

    /// Runs the PreSignUp trigger, if one is set: returns whether it auto-confirmed the user, and
    /// marks the attributes it auto-verified.
    fn pre_sign_up(
        &self,
        ctx: &EventContext<'_>,
        attributes: &mut BTreeMap<String, String>,
        validation_data: Option<&BTreeMap<String, String>>,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> Result<bool, AwsError> {
        let Some(pre_sign_up) = self.triggers().pre_sign_up else {
            return Ok(false);
        };
        let event = triggers::event(
            ctx,
            "PreSignUp_SignUp",
            json!({
                "userAttributes": triggers::attributes_json(attributes),
                "validationData": triggers::string_map_json(validation_data),
                "clientMetadata": triggers::string_map_json(client_metadata),
            }),
            json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false}),
        );
        let response = triggers::invoke(&pre_sign_up, "PreSignUp", event)?;
        let flag = |k: &str| response.get(k).and_then(Value::as_bool).unwrap_or(false);
        if flag("autoVerifyEmail") && attributes.contains_key("email") {
            attributes.insert("email_verified".into(), "true".into());
        }
        if flag("autoVerifyPhone") && attributes.contains_key("phone_number") {
            attributes.insert("phone_number_verified".into(), "true".into());
        }
        Ok(flag("autoConfirmUser"))
    }

    /// Stores a signed-up user, unless the name was taken meanwhile (or, for a user confirmed
    /// at once, one of its aliases).
    fn insert_new_user(&self, pool_id: &str, user: User) -> Result<(), AwsError> {
        self.store.write(|s| {
            let p = pool_mut(s, pool_id)?;
            let key = p.user_key(&user.username);
            if p.users.contains_key(&key) {
                return Err(AwsError::new(
                    400,
                    "UsernameExistsException",
                    "User already exists",
                ));
            }
            if user.status == UserStatus::Confirmed {
                if let Some(e) = alias_conflict(p, &user.attributes, &key) {
                    return Err(e);
                }
            }
            p.users.insert(key, user);
            Ok(())
        })
    }

    pub(super) fn confirm_sign_up(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let code = input.str_req("ConfirmationCode")?;
        let force_alias = input.bool_opt("ForceAliasCreation")?.unwrap_or(false);
        self.store.write(|s| {
            let (p, _) = signed_client(s, input, client_id, username)?;
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

    pub(super) fn resend_confirmation_code(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let client_metadata = input.string_map("ClientMetadata")?;
        let (pool, client, user) = self.store.read(|s| {
            let (p, c) = signed_client(s, input, client_id, username)?;
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
        self.send_code(
            &pool,
            &client,
            &user,
            "CustomMessage_ResendCode",
            client_metadata.as_ref(),
            &to,
            CodePurpose::SignUp,
        )?;
        Ok(json!({"CodeDeliveryDetails": code_delivery(&to)}))
    }
}
