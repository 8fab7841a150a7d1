//! The ListUsers `Filter` language: `AttributeName Op "Value"` with `Op` one of `=` (exact) and
//! `^=` (prefix), backslash escapes inside the quotes, optional whitespace around the operator.

use crate::core::error::AwsError;

#[derive(Debug, PartialEq, Eq)]
pub struct Filter {
    pub attribute: String,
    pub prefix: bool,
    pub value: String,
}

/// Attributes Cognito can search on; anything else is refused as it is by Cognito.
const SEARCHABLE: &[&str] = &[
    "username",
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "cognito:user_status",
    "status",
    "sub",
];

fn invalid(message: &str) -> AwsError {
    AwsError::new(400, "InvalidParameterException", message)
}

/// Parses a non-empty filter.
pub fn parse(input: &str) -> Result<Filter, AwsError> {
    let input = input.trim();
    let name_end = input
        .find(|c: char| c.is_whitespace() || c == '=' || c == '^')
        .ok_or_else(|| invalid("Error while parsing filter."))?;
    let (attribute, rest) = input.split_at(name_end);
    let rest = rest.trim_start();
    let (prefix, rest) = if let Some(r) = rest.strip_prefix("^=") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (false, r)
    } else {
        return Err(invalid("Error while parsing filter."));
    };
    let rest = rest.trim_start();
    let quoted = rest
        .strip_prefix('"')
        .ok_or_else(|| invalid("Error while parsing filter."))?;
    let mut value = String::new();
    let mut chars = quoted.chars();
    let mut closed = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push(
                chars
                    .next()
                    .ok_or_else(|| invalid("Error while parsing filter."))?,
            ),
            '"' => {
                closed = true;
                break;
            }
            c => value.push(c),
        }
    }
    if !closed || !chars.as_str().trim().is_empty() {
        return Err(invalid("Error while parsing filter."));
    }
    if !SEARCHABLE.contains(&attribute) {
        return Err(invalid(&format!("Invalid search attribute: {attribute}")));
    }
    Ok(Filter {
        attribute: attribute.to_owned(),
        prefix,
        value,
    })
}

impl Filter {
    /// Whether `actual` satisfies the filter. User status is compared case-insensitively.
    pub fn matches(&self, actual: Option<&str>) -> bool {
        let Some(actual) = actual else {
            return false;
        };
        let insensitive = matches!(self.attribute.as_str(), "cognito:user_status" | "status");
        let (actual, wanted) = if insensitive {
            (actual.to_lowercase(), self.value.to_lowercase())
        } else {
            (actual.to_owned(), self.value.clone())
        };
        if self.prefix {
            actual.starts_with(&wanted)
        } else {
            actual == wanted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_clients_send() {
        let f = parse(r#"email = "a@b.c""#).unwrap();
        assert_eq!(
            (f.attribute.as_str(), f.prefix, f.value.as_str()),
            ("email", false, "a@b.c")
        );
        // The upstream cleanup Lambda sends no space after '='.
        let f = parse(r#"cognito:user_status ="UNCONFIRMED""#).unwrap();
        assert_eq!(f.attribute, "cognito:user_status");
        assert!(f.matches(Some("unconfirmed")));
        let f = parse(r#"given_name^="Jo\"e""#).unwrap();
        assert!(f.prefix);
        assert_eq!(f.value, "Jo\"e");
        assert!(f.matches(Some("Jo\"ey")));
        assert!(!f.matches(Some("jo\"ey")));
    }

    #[test]
    fn refuses_malformed_filters() {
        for bad in [
            "email",
            r#"email == "x""#,
            r#"email = x"#,
            r#"email = "x"#,
            r#"email = "x" trailing"#,
            r#"custom:x = "y""#,
        ] {
            assert_eq!(
                parse(bad).unwrap_err().code,
                "InvalidParameterException",
                "{bad}"
            );
        }
    }
}
