//! A wrapper for values that must never be printed: password hashes, token
//! hashes, secrets in transit. `Debug` shows `[redacted]`; there is no
//! `Display`, so the only way out is an explicit `expose()`.

#[derive(Clone, PartialEq, Eq)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    pub fn new(value: T) -> Redacted<T> {
        Redacted(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::Redacted;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Redacted::new(String::from("$argon2id$v=19$secret"));
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(secret.expose(), "$argon2id$v=19$secret");
    }
}
