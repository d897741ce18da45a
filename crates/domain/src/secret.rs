//! S1: bearer secrets (session tokens, sign-in link tokens). A token is 256
//! random bits, shown once to its owner; only its SHA-256 is stored, so a
//! database leak gives no usable secret. High-entropy tokens need no slow
//! hash, and a lookup by hash is an index probe, not a comparison loop.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh random token (URL-safe, 43 characters) and its stored hash.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64url(&bytes);
    let hash = hash_token(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A token as presented must look like one we issued; anything else is
/// refused before touching the database.
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// `text` with its HMAC-SHA256 under `key` appended (`text.tag`, the tag in
/// base64url): a value that comes back unchanged can be told from one made
/// by someone without the key.
pub fn sign(key: &[u8], text: &str) -> String {
    use hmac::Mac;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(text.as_bytes());
    format!("{text}.{}", base64url(&mac.finalize().into_bytes()))
}

/// The text of a value made by [`sign`] with this key, or `None` for
/// anything else. The tag is compared in constant time.
pub fn verified<'a>(key: &[u8], signed: &'a str) -> Option<&'a str> {
    use base64::Engine;
    use hmac::Mac;
    let (text, tag) = signed.rsplit_once('.')?;
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag).ok()?;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(text.as_bytes());
    mac.verify_slice(&tag).ok()?;
    Some(text)
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_hashed() {
        let (a, ha) = new_token();
        let (b, hb) = new_token();
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert!(looks_like_token(&a), "{a}");
        assert_eq!(hash_token(&a), ha);
        assert_eq!(ha.len(), 64);
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&format!("{}=", &a[..42])));
    }

    #[test]
    fn a_signed_text_verifies_only_unchanged_and_under_its_key() {
        let signed = sign(b"key one", "ok:Saved");
        assert_eq!(verified(b"key one", &signed), Some("ok:Saved"));
        assert_eq!(verified(b"key two", &signed), None);
        assert_eq!(verified(b"key one", &signed.replacen("Saved", "Paid", 1)), None);
        assert_eq!(verified(b"key one", "ok:Saved"), None);
        assert_eq!(verified(b"key one", "ok:Saved."), None);
        assert_eq!(verified(b"key one", &format!("{signed}x")), None);
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let known = sign(b"Jefe", "what do ya want for nothing?");
        let tag = known.rsplit_once('.').unwrap().1;
        use base64::Engine;
        let hex: String = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(tag)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn base64url_matches_known_vectors() {
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
