//! Encryption of secret values at rest, and the random secrets and hashes behind tokens.
//!
//! Secret values are sealed with XChaCha20-Poly1305 under the store's 32-byte key, with a random
//! 24-byte nonce per value (random nonces of that size never repeat in practice) and, as associated
//! data, where the value belongs (its scope, owner and name), so that a sealed value copied to
//! another row does not decrypt. Tokens, session ids and agent credentials are 256-bit random
//! secrets; only their SHA-256 is stored, next to a short random prefix to look them up by.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

const NONCE_BYTES: usize = 24;

/// The key that secret values are encrypted with. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A key from its 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A new random key.
    ///
    /// # Errors
    /// When the operating system's random number generator fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0; 32];
        fill_random(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The key as 64 hexadecimal digits (to keep it in a file).
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Reads a key from 64 hexadecimal digits (surrounding white space is ignored).
    ///
    /// # Errors
    /// When the text is not 64 hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        unhex(text)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(Self)
            .ok_or_else(|| StoreError::invalid("secret key", "expected 64 hexadecimal digits"))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Encrypts `plain` for the place named by `context`: nonce followed by ciphertext and tag.
    pub(crate) fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0; NONCE_BYTES];
        fill_random(&mut nonce)?;
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: context.as_bytes() })
            .map_err(|_| StoreError::invalid("secret value", "it could not be encrypted"))?;
        let mut stored = Vec::with_capacity(NONCE_BYTES + sealed.len());
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        Ok(stored)
    }

    /// Decrypts what [`SecretKey::seal`] made for the same `context`; `None` when it does not
    /// authenticate (another key, another place, or damage).
    pub(crate) fn open(&self, context: &str, stored: &[u8]) -> Option<Vec<u8>> {
        let nonce = stored.get(..NONCE_BYTES)?;
        let sealed = stored.get(NONCE_BYTES..)?;
        self.cipher().decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: context.as_bytes() }).ok()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SecretKey(***)")
    }
}

/// Fills `bytes` from the operating system's random number generator.
pub(crate) fn fill_random(bytes: &mut [u8]) -> Result<()> {
    getrandom::fill(bytes).map_err(|error| StoreError::Random(error.to_string()))
}

/// `count` random bytes as hexadecimal digits.
pub(crate) fn random_hex(count: usize) -> Result<String> {
    let mut bytes = vec![0; count];
    fill_random(&mut bytes)?;
    Ok(hex(&bytes))
}

/// Lower-case hexadecimal digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The bytes that [`hex`] wrote; `None` for anything else.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok()).collect()
}

/// The SHA-256 of `text`, in hexadecimal.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Compares two strings in time that does not depend on where they differ.
pub(crate) fn constant_time_equal(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left.bytes().zip(right.bytes()).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

/// A new secret of the form `{kind}_{prefix}_{random}`; returns it and its prefix. The prefix (12
/// hex digits) is stored in clear to find the record; the whole secret only as its SHA-256.
pub(crate) fn new_secret(kind: &str) -> Result<(String, String)> {
    let prefix = random_hex(6)?;
    let secret = format!("{kind}_{prefix}_{}", random_hex(32)?);
    Ok((secret, prefix))
}

/// Splits a secret made by [`new_secret`] into its prefix, checking its kind.
pub(crate) fn secret_prefix<'a>(kind: &str, secret: &'a str) -> Option<&'a str> {
    let rest = secret.strip_prefix(kind)?.strip_prefix('_')?;
    let (prefix, random) = rest.split_once('_')?;
    (prefix.len() == 12 && random.len() == 64).then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_place_and_with_their_key() -> Result<()> {
        let key = SecretKey::generate()?;
        let sealed = key.seal("group:1:TOKEN", b"hunter2")?;
        assert_eq!(key.open("group:1:TOKEN", &sealed).as_deref(), Some(&b"hunter2"[..]));
        assert_eq!(key.open("group:2:TOKEN", &sealed), None);
        assert_eq!(SecretKey::generate()?.open("group:1:TOKEN", &sealed), None);
        assert_ne!(key.seal("group:1:TOKEN", b"hunter2")?, sealed, "every value gets a new nonce");
        Ok(())
    }

    #[test]
    fn keys_round_trip_through_hex_and_do_not_print() -> Result<()> {
        let key = SecretKey::generate()?;
        assert_eq!(SecretKey::from_hex(&key.to_hex())?, key);
        assert!(SecretKey::from_hex("zz").is_err());
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
        Ok(())
    }

    #[test]
    fn secrets_carry_their_prefix() -> Result<()> {
        let (secret, prefix) = new_secret("slw")?;
        assert_eq!(secret_prefix("slw", &secret), Some(prefix.as_str()));
        assert_eq!(secret_prefix("agt", &secret), None);
        assert_eq!(secret_prefix("slw", "slw_abc_def"), None);
        assert!(constant_time_equal(&sha256_hex(&secret), &sha256_hex(&secret)));
        assert!(!constant_time_equal("abc", "abd"));
        Ok(())
    }
}
