//! Profile choices offered by the SPA. Upstream stored any string; we accept only the names the
//! SPA can render.

use crate::{string_newtype_impls, InvalidValue};

macro_rules! name_enum {
    ($(#[$meta:meta])* $ty:ident, $field:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $ty { $($variant),+ }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$(Self::$variant),+];

            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    _ => Err(InvalidValue(format!(
                        concat!("{} is not a valid ", $field, "; expected one of: {}"),
                        s,
                        [$($name),+].join(", ")
                    ))),
                }
            }

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }

        string_newtype_impls!($ty, InvalidValue);
    };
}

name_enum!(
    /// Profile colour.
    Color, "color", {
        Blue => "blue",
        Green => "green",
        Lavender => "lavender",
        Purple => "purple",
        Salmon => "salmon",
        Turquoise => "turquoise",
        Yellow => "yellow",
    }
);

name_enum!(
    /// Built-in avatar, or `custom` for an uploaded image.
    Avatar, "avatar", {
        Bear => "bear",
        Bird => "bird",
        Bird2 => "bird2",
        Dog => "dog",
        Dog2 => "dog2",
        Dog3 => "dog3",
        Giraffe => "giraffe",
        Hedgehog => "hedgehog",
        Hippo => "hippo",
        Horse => "horse",
        Ibex => "ibex",
        Jellyfish => "jellyfish",
        Sheep => "sheep",
        Tiger => "tiger",
        Custom => "custom",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_round_trip_and_reject_unknown() {
        assert_eq!(Color::ALL.len(), 7);
        for c in Color::ALL {
            assert_eq!(Color::parse(c.as_str()).unwrap(), *c);
        }
        let err = Color::parse("red").unwrap_err().to_string();
        assert!(err.starts_with("red is not a valid color"), "{err}");
        assert!(Color::parse("Blue").is_err());
    }

    #[test]
    fn avatars_round_trip_and_reject_unknown() {
        assert_eq!(Avatar::ALL.len(), 15);
        for a in Avatar::ALL {
            assert_eq!(Avatar::parse(a.as_str()).unwrap(), *a);
        }
        assert!(Avatar::parse("cat").is_err());
        assert_eq!(serde_json::to_string(&Avatar::Bird2).unwrap(), "\"bird2\"");
    }
}
