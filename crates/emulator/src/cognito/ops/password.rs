//! Password reset: ForgotPassword, ConfirmForgotPassword, and the e-mails both sign-up and reset send.

use super::*;

impl Cognito {
    pub(super) fn forgot_password(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let client_metadata = input.string_map("ClientMetadata")?;
        let (pool, client, user) = self.store.read(|s| {
            let (p, c) = signed_client(s, input, client_id, username)?;
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
        self.send_code(
            &pool,
            &client,
            &user,
            "CustomMessage_ForgotPassword",
            client_metadata.as_ref(),
            &to,
            CodePurpose::ForgotPassword,
        )?;
        Ok(json!({"CodeDeliveryDetails": code_delivery(&to)}))
    }

    pub(super) fn confirm_forgot_password(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let client_id = input.str_req("ClientId")?;
        let username = input.str_req("Username")?;
        let code = input.str_req("ConfirmationCode")?;
        let password = input.str_req("Password")?;
        self.store.write(|s| {
            let (p, _) = signed_client(s, input, client_id, username)?;
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

    /// Sends `user` a fresh code for `purpose` (through the custom-message trigger named by
    /// `trigger_source`) and stores it, replacing any earlier code for the same purpose.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_code(
        &self,
        pool: &Pool,
        client: &Client,
        user: &User,
        trigger_source: &str,
        client_metadata: Option<&BTreeMap<String, String>>,
        to: &str,
        purpose: CodePurpose,
    ) -> Result<(), AwsError> {
        let code = random_code();
        let ctx = EventContext {
            region: &self.region,
            pool_id: &pool.id,
            client_id: &client.id,
            user_name: &user.username,
        };
        let mail = self.compose_mail(
            pool,
            &ctx,
            trigger_source,
            &user.attributes,
            client_metadata,
            to,
            &code,
        )?;
        let lifetime = match purpose {
            CodePurpose::SignUp => SIGN_UP_CODE_SECS,
            CodePurpose::ForgotPassword => RESET_CODE_SECS,
        };
        self.store.write(|s| {
            let p = pool_mut(s, &pool.id)?;
            let key = p.user_key(&user.username);
            with_user(p, &key, |u| set_code(u, purpose, code, lifetime))
        })?;
        self.record_message(mail.message);
        Ok(())
    }

    /// The e-mail for `trigger_source`, through the CustomMessage trigger when one is registered.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn compose_mail(
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
}
