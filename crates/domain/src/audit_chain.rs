//! A1: the audit log's hash chain. Each entry's hash covers the hash of the
//! entry before it and a canonical encoding of the entry itself, so editing,
//! deleting, inserting or reordering any stored entry breaks the chain from
//! that entry on. The encoding is defined here once, over the values as the
//! database stores them (integers and text), so SQLite and PostgreSQL give
//! the same hashes and a database copied between them still verifies.
//!
//! Canonical encoding of an entry (all integers big-endian):
//! - `seq` as 8 bytes (i64), then `at` (milliseconds since the epoch) as 8
//!   bytes (i64);
//! - then, in this order, `actor_id`, `actor_label`, `action`,
//!   `target_kind`, `target_id`, `before_json`, `after_json`, `source_ip`:
//!   each one byte `0` when NULL, or byte `1`, its UTF-8 length as 4 bytes
//!   (u32) and its UTF-8 bytes exactly as stored.
//!
//! `hash = SHA-256(prev_hash ‖ encoding)`, where `prev_hash` is the 32 raw
//! bytes of the previous entry's hash ([`GENESIS`], 32 zero bytes, before
//! the first entry). Hashes are stored as 64 lowercase hex digits.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// The hashed fields of one entry, borrowed from wherever they are.
#[derive(Debug, Clone, Copy)]
pub struct ChainedFields<'a> {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<&'a str>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: Option<&'a str>,
    pub before_json: Option<&'a str>,
    pub after_json: Option<&'a str>,
    pub source_ip: Option<&'a str>,
}

/// The canonical encoding described in the module documentation.
pub fn encode(e: &ChainedFields<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + e.before_json.map_or(0, str::len) + e.after_json.map_or(0, str::len));
    write_encoding(e, |bytes| out.extend_from_slice(bytes));
    out
}

/// Hands the canonical encoding of `e` to `sink`, piece by piece.
fn write_encoding(e: &ChainedFields<'_>, mut sink: impl FnMut(&[u8])) {
    sink(&e.seq.to_be_bytes());
    sink(&e.at.to_be_bytes());
    for field in [
        e.actor_id,
        Some(e.actor_label),
        Some(e.action),
        Some(e.target_kind),
        e.target_id,
        e.before_json,
        e.after_json,
        e.source_ip,
    ] {
        match field {
            None => sink(&[0]),
            Some(s) => {
                sink(&[1]);
                sink(&(s.len() as u32).to_be_bytes());
                sink(s.as_bytes());
            }
        }
    }
}

/// The hash of an entry that follows `prev` (the encoding is fed to the
/// hash as it is written, never held: N3's confirm hashes one entry per
/// user).
pub fn entry_hash(prev: &[u8; 32], e: &ChainedFields<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    write_encoding(e, |bytes| h.update(bytes));
    h.finalize().into()
}

/// 64 lowercase hex digits.
pub fn to_hex(hash: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in hash {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The 32 bytes of a stored hash, or `None` if it is not 64 hex digits.
pub fn from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let digits = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(digits, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64) -> ChainedFields<'static> {
        ChainedFields {
            seq,
            at: 1_764_000_000_000,
            actor_id: Some("u1"),
            actor_label: "Ada Admin",
            action: "user.created",
            target_kind: "user",
            target_id: Some("u2"),
            before_json: None,
            after_json: Some(r#"{"email":"b@example.com"}"#),
            source_ip: None,
        }
    }

    /// Spelled out byte by byte as ARCHITECTURE.md documents it: changing
    /// the encoding would make every stored chain fail to verify.
    #[test]
    fn the_hash_follows_the_documented_encoding() {
        let h = entry_hash(&GENESIS, &entry(1));
        let mut manual = Sha256::new();
        manual.update(GENESIS);
        let mut enc = Vec::new();
        enc.extend_from_slice(&1i64.to_be_bytes());
        enc.extend_from_slice(&1_764_000_000_000i64.to_be_bytes());
        for f in [
            Some("u1"),
            Some("Ada Admin"),
            Some("user.created"),
            Some("user"),
            Some("u2"),
            None,
            Some(r#"{"email":"b@example.com"}"#),
            None,
        ] {
            match f {
                None => enc.push(0),
                Some(s) => {
                    enc.push(1);
                    enc.extend_from_slice(&(s.len() as u32).to_be_bytes());
                    enc.extend_from_slice(s.as_bytes());
                }
            }
        }
        manual.update(&enc);
        let m: [u8; 32] = manual.finalize().into();
        assert_eq!(m, h);
    }

    #[test]
    fn every_field_and_the_previous_hash_count() {
        let base = entry_hash(&GENESIS, &entry(1));
        assert_ne!(base, entry_hash(&[1; 32], &entry(1)), "prev_hash");
        let variants: Vec<ChainedFields<'static>> = vec![
            ChainedFields { seq: 2, ..entry(1) },
            ChainedFields { at: 1, ..entry(1) },
            ChainedFields {
                actor_id: None,
                ..entry(1)
            },
            ChainedFields {
                actor_id: Some(""),
                ..entry(1)
            },
            ChainedFields {
                actor_label: "Ada",
                ..entry(1)
            },
            ChainedFields {
                action: "user.updated",
                ..entry(1)
            },
            ChainedFields {
                target_kind: "matter",
                ..entry(1)
            },
            ChainedFields {
                target_id: None,
                ..entry(1)
            },
            ChainedFields {
                before_json: Some("{}"),
                ..entry(1)
            },
            ChainedFields {
                after_json: None,
                ..entry(1)
            },
            ChainedFields {
                source_ip: Some("127.0.0.1"),
                ..entry(1)
            },
        ];
        for v in variants {
            assert_ne!(base, entry_hash(&GENESIS, &v), "{v:?}");
        }
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        // "ab" + "c" and "a" + "bc" must differ: lengths are encoded.
        let a = ChainedFields {
            actor_label: "ab",
            action: "c",
            ..entry(1)
        };
        let b = ChainedFields {
            actor_label: "a",
            action: "bc",
            ..entry(1)
        };
        assert_ne!(entry_hash(&GENESIS, &a), entry_hash(&GENESIS, &b));
    }

    /// The hash streams the encoding; [`encode`] writes it out. Same bytes.
    #[test]
    fn the_hash_covers_exactly_the_encoding() {
        for e in [
            entry(1),
            ChainedFields {
                actor_id: None,
                target_id: None,
                after_json: None,
                ..entry(7)
            },
        ] {
            let mut h = Sha256::new();
            h.update([9u8; 32]);
            h.update(encode(&e));
            let expected: [u8; 32] = h.finalize().into();
            assert_eq!(entry_hash(&[9; 32], &e), expected);
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(from_hex(&to_hex(&[0xab; 32])), Some([0xab; 32]));
        // Every byte value, against the formatter: lowercase, two digits.
        for start in (0..=255u8).step_by(32) {
            let bytes: [u8; 32] = std::array::from_fn(|i| start.wrapping_add(i as u8));
            let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(to_hex(&bytes), expected);
            assert_eq!(from_hex(&expected), Some(bytes));
        }
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
    }
}
