//! Typed identifiers (UUID v7).
//!
//! v7 UUIDs sort by creation time, which keeps B-tree inserts local and makes
//! ids roughly chronological in listings. A type parameter stops a provider id
//! being passed where a voucher id is expected.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// An identifier of a `T`, always a version-7 UUID.
pub struct Id<T> {
    uuid: Uuid,
    kind: PhantomData<fn() -> T>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not a UUID")]
    Malformed,
    #[error("a UUID of version {0}, ids here are version 7")]
    WrongVersion(usize),
}

impl<T> Id<T> {
    /// A new, time-ordered id.
    pub fn generate() -> Id<T> {
        Id::wrap(Uuid::now_v7())
    }

    pub fn parse(text: &str) -> Result<Id<T>, IdError> {
        let uuid = Uuid::try_parse(text).map_err(|_| IdError::Malformed)?;
        Id::from_uuid(uuid)
    }

    pub fn from_uuid(uuid: Uuid) -> Result<Id<T>, IdError> {
        match uuid.get_version_num() {
            7 => Ok(Id::wrap(uuid)),
            other => Err(IdError::WrongVersion(other)),
        }
    }

    pub fn as_uuid(&self) -> Uuid {
        self.uuid
    }

    fn wrap(uuid: Uuid) -> Id<T> {
        Id {
            uuid,
            kind: PhantomData,
        }
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}
impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state)
    }
}
impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.uuid, f)
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.uuid)
    }
}
impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.uuid.serialize(serializer)
    }
}
impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let uuid = Uuid::deserialize(deserializer)?;
        Id::from_uuid(uuid).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Voucher;

    #[test]
    fn generated_ids_are_v7_and_time_ordered() {
        let first = Id::<Voucher>::generate();
        let second = Id::<Voucher>::generate();
        assert_eq!(first.as_uuid().get_version_num(), 7);
        assert!(first < second);
        assert_eq!(Id::<Voucher>::parse(&first.to_string()), Ok(first));
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        assert_eq!(
            Id::<Voucher>::parse("67e55044-10b1-426f-9247-bb680e5fe0c8"),
            Err(IdError::WrongVersion(4))
        );
        assert_eq!(
            Id::<Voucher>::parse("00000000-0000-0000-0000-000000000000"),
            Err(IdError::WrongVersion(0))
        );
        assert_eq!(Id::<Voucher>::parse("not-a-uuid"), Err(IdError::Malformed));
        assert_eq!(Id::<Voucher>::parse(""), Err(IdError::Malformed));
        let json: Result<Id<Voucher>, _> =
            serde_json::from_str("\"67e55044-10b1-426f-9247-bb680e5fe0c8\"");
        assert!(json.is_err());
    }
}
