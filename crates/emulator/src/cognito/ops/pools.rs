//! Pool and app-client set-up: CreateUserPool, DescribeUserPool, ListUserPools and the
//! UserPoolClient counterparts.

use super::*;

impl Cognito {
    pub(super) fn create_user_pool(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let name = input.str_req("PoolName")?;
        if name.is_empty() || name.chars().count() > 128 {
            return Err(invalid_parameter("PoolName must be 1 to 128 characters"));
        }
        let policy = password_policy(input);
        let alias_attributes = alias_attributes(input)?;
        let schema = schema(input);
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

    pub(super) fn describe_user_pool(&self, input: &Input<'_>) -> Result<Value, AwsError> {
        let pool_id = input.str_req("UserPoolId")?;
        self.store
            .read(|s| get_pool(s, pool_id).map(|p| json!({"UserPool": p.describe_json()})))
    }

    pub(super) fn list_user_pools(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

    pub(super) fn create_user_pool_client(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

    pub(super) fn describe_user_pool_client(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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

    pub(super) fn list_user_pool_clients(&self, input: &Input<'_>) -> Result<Value, AwsError> {
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
}

/// `Policies.PasswordPolicy` (Cognito's defaults for what is left out).
fn password_policy(input: &Input<'_>) -> PasswordPolicy {
    let mut policy = PasswordPolicy::default();
    let Some(p) = input
        .object("Policies")
        .and_then(|p| p.get("PasswordPolicy"))
        .and_then(Value::as_object)
    else {
        return policy;
    };
    if let Some(n) = p.get("MinimumLength").and_then(Value::as_u64) {
        policy.minimum_length = usize::try_from(n).unwrap_or(usize::MAX);
    }
    let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
    policy.require_uppercase = flag("RequireUppercase");
    policy.require_lowercase = flag("RequireLowercase");
    policy.require_numbers = flag("RequireNumbers");
    policy.require_symbols = flag("RequireSymbols");
    policy
}

/// `AliasAttributes`: only `preferred_username`, `email` and `phone_number` can be aliases.
fn alias_attributes(input: &Input<'_>) -> Result<Vec<String>, AwsError> {
    let alias_attributes = input.str_list("AliasAttributes")?;
    if let Some(bad) = alias_attributes
        .iter()
        .find(|a| !matches!(a.as_str(), "preferred_username" | "email" | "phone_number"))
    {
        return Err(invalid_parameter(format!("Invalid alias attribute: {bad}")));
    }
    Ok(alias_attributes)
}

/// The `Schema` attributes this emulator enforces (name, required, mutable).
fn schema(input: &Input<'_>) -> Vec<SchemaAttribute> {
    let Some(items) = input.0.get("Schema").and_then(Value::as_array) else {
        return Vec::new();
    };
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
}
