//! Declarations of the environment variables each service and Lambda reads.
//!
//! A configuration module declares its variables once with [`env_vars!`](crate::env_vars) and
//! reads them through those declarations (the readers in `ugc_web::env` and `ugc_triggers::config`
//! take an [`EnvVar`], not a name), so a variable cannot be read without being declared. The
//! declarations are also the configuration reference: `docs/configuration.md` is rendered from
//! them with [`markdown_table`] and a test fails when it is stale.

/// One environment variable: its name, what an unset value means, and what it sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    /// What applies when the variable is unset or blank; `None`: it is required.
    pub default: Option<&'static str>,
    pub description: &'static str,
}

impl EnvVar {
    /// Whether start-up fails without it.
    pub const fn is_required(&self) -> bool {
        self.default.is_none()
    }
}

/// Declares environment variables as constants of a module, plus the list of all of them as
/// `ALL`, in declaration order. Each constant is named after its variable, so a typo cannot make
/// the declared name and the read name differ.
///
/// ```
/// ugc_domain::env_vars! {
///     pub mod var;
///     /// not rendered: a comment for readers of the code
///     TABLE_NAME: required => "The DynamoDB table.";
///     PORT: "`8080`" => "Listen port.";
/// }
/// assert_eq!(var::PORT.name, "PORT");
/// assert_eq!(var::ALL.len(), 2);
/// assert!(var::TABLE_NAME.is_required());
/// ```
#[macro_export]
macro_rules! env_vars {
    ($vis:vis mod $module:ident; $( $(#[$attr:meta])* $name:ident : $default:tt => $description:expr; )*) => {
        /// The environment variables this module reads (see `docs/configuration.md`).
        $vis mod $module {
            $(
                $(#[$attr])*
                pub const $name: $crate::env_var::EnvVar = $crate::env_var::EnvVar {
                    name: stringify!($name),
                    default: $crate::__env_var_default!($default),
                    description: $description,
                };
            )*
            /// Every variable above, in declaration order.
            pub const ALL: &[$crate::env_var::EnvVar] = &[$($name),*];
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __env_var_default {
    (required) => {
        None
    };
    ($default:literal) => {
        Some($default)
    };
}

/// A Markdown table of `vars`: variable, default (`required` when there is none), meaning.
pub fn markdown_table(vars: &[EnvVar]) -> String {
    let mut out = String::from("| Variable | Default | Meaning |\n|---|---|---|\n");
    for var in vars {
        let default = var.default.unwrap_or("**required**");
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            var.name,
            cell(default),
            cell(var.description)
        ));
    }
    out
}

/// Table cells cannot hold `|` or line breaks.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::env_vars! {
        mod var;
        A: required => "First | second.";
        B: "`7`" => "Multi-line
            description.";
    }

    #[test]
    fn declarations_and_table() {
        assert_eq!(var::ALL, &[var::A, var::B]);
        assert_eq!(var::A.name, "A");
        assert!(var::A.is_required() && !var::B.is_required());
        assert_eq!(
            markdown_table(var::ALL),
            "| Variable | Default | Meaning |\n|---|---|---|\n\
             | `A` | **required** | First \\| second. |\n\
             | `B` | `7` | Multi-line description. |\n"
        );
    }
}
