//! The admin operations the backend uses (AdminGetUser, AdminUpdateUserAttributes, AdminDeleteUser,
//! AdminDisableUser, AdminEnableUser, AdminUserGlobalSignOut, AdminConfirmSignUp,
//! AdminSetUserPassword) and ListUsers.

use super::*;

impl Cognito {
    pub(super) fn admin_user<R>(
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

    pub(super) fn admin_user_change(
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

    pub(super) fn admin_get_user(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

    pub(super) fn admin_update_user_attributes(
        &self,
        input: &Input<'_>,
    ) -> Result<Value, AwsError> {
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

    pub(super) fn admin_confirm_sign_up(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

    pub(super) fn admin_set_user_password(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

    pub(super) fn list_users(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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
