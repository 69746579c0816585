//! Task ids: Taskcluster slugids, fresh for every generation as the
//! reference makes them, or derived from a seed so that two runs give the
//! same ids (for diffs and tests; the reference has no such option).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Where task ids come from.
#[derive(Debug, Clone, Default)]
pub enum TaskIds {
    /// Random "nice" slugids (never starting with `-`).
    #[default]
    Random,
    /// Ids derived from the seed and the task's label.
    Seeded(String),
}

impl TaskIds {
    /// The id for the task `label`.
    pub fn next_id(&self, label: &str) -> String {
        match self {
            TaskIds::Random => slugid::nice(),
            TaskIds::Seeded(seed) => seeded_id(seed, label),
        }
    }
}

/// A slugid built from the hash of `seed` and `label`, with the bits a
/// random one has fixed: a version-4 UUID whose first bit is clear.
fn seeded_id(seed: &str, label: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(seed.as_bytes());
    hasher.update([0]);
    hasher.update(label.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes[0] &= 0x7f;
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn looks_like_a_nice_slugid(id: &str) {
        assert_eq!(id.len(), 22, "{id}");
        assert!(
            id.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() && c <= 'f'),
            "{id}"
        );
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn seeded_ids_repeat_and_differ_by_label() {
        let ids = TaskIds::Seeded("42".to_owned());
        assert_eq!(ids.next_id("build"), ids.next_id("build"));
        assert_ne!(ids.next_id("build"), ids.next_id("test"));
        assert_ne!(
            ids.next_id("build"),
            TaskIds::Seeded("43".to_owned()).next_id("build")
        );
        looks_like_a_nice_slugid(&ids.next_id("build"));
    }

    #[test]
    fn random_ids_are_nice_slugids() {
        let ids = TaskIds::Random;
        let (a, b) = (ids.next_id("x"), ids.next_id("x"));
        assert_ne!(a, b);
        looks_like_a_nice_slugid(&a);
    }
}
