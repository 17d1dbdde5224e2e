//! Shared trait impls for validated text newtypes (`Uscc`, `DivisionCode`,
//! `ProgrammeCode`): each wraps a `String` that its own `parse` checked.

/// Implements `Display` (the text), `Debug` (`Name(text)`), and the
/// `String` conversions serde uses (`TryFrom<String>` runs `parse`, so a
/// deserialised value is as valid as a parsed one).
macro_rules! impl_text_newtype {
    ($name:ident, $error:ty) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

pub(crate) use impl_text_newtype;
