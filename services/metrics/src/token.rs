//! The session list's `nextToken`: the DynamoDB page key, sealed with AES-256-GCM.
//!
//! Upstream encrypted the key with AES-CBC under a key and IV baked into the source, so anyone could
//! forge or tamper with tokens, and a bad token answered 500 with an OpenSSL dump. Here:
//!
//! - the key comes from configuration (`PAGINATION_TOKEN_KEY`, or the secret named by
//!   `PAGINATION_TOKEN_KEY_ARN`): base64 of 32 bytes is used as is; any other value of at least 32
//!   characters (the CDK app generates a 32-character alphanumeric secret) is stretched with
//!   HKDF-SHA256;
//! - every token has a fresh random 96-bit nonce;
//! - the associated data binds the token to the channel ARN and the caller's `sub`, so a token is
//!   only accepted for the list it continues;
//! - token = URL-safe base64 (no padding) of `version ‖ nonce ‖ ciphertext ‖ tag`.
//!
//! Anything that does not open (garbage, truncated, tampered, another channel's or user's token) is
//! one error, [`InvalidToken`], answered as 400 `BadRequestException`.

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ugc_domain::ChannelArn;
use ugc_dynamo::PageKey;

const KEY_LEN: usize = 32;
/// Shortest non-base64 key accepted (32 alphanumerics carry about 190 bits).
const MIN_SECRET_CHARS: usize = 32;
const VERSION: u8 = 1;
/// Longest token looked at; real ones are a few hundred characters.
pub const MAX_TOKEN_CHARS: usize = 4096;
const HKDF_SALT: &[u8] = b"ugc-metrics pagination token key";
const AAD_PREFIX: &str = "ugc-metrics/streamSessions/v1";

/// 32 bytes of key material. Never printed.
#[derive(Clone)]
pub struct TokenKey([u8; KEY_LEN]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

impl TokenKey {
    /// Parses a configured key (see the module notes). The error never quotes the value.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            if let Ok(bytes) = engine.decode(value) {
                if let Ok(key) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) {
                    return Ok(Self(key));
                }
            }
        }
        if value.chars().count() < MIN_SECRET_CHARS {
            return Err(format!(
                "expected base64 of {KEY_LEN} bytes or a secret of at least {MIN_SECRET_CHARS} characters"
            ));
        }
        let mut key = [0u8; KEY_LEN];
        hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT)
            .extract(value.as_bytes())
            .expand(&[b"aes-256-gcm"], KeyLen)
            .and_then(|okm| okm.fill(&mut key))
            .map_err(|_| "key derivation failed".to_owned())?;
        Ok(Self(key))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("nextToken is not valid for this list")]
pub struct InvalidToken;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("could not seal the page token")]
pub struct SealError;

pub struct TokenCipher {
    key: RandomizedNonceKey,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(AES-256-GCM)")
    }
}

fn aad(channel: &ChannelArn, sub: &str) -> Aad<Vec<u8>> {
    Aad::from(format!("{AAD_PREFIX}\n{}\n{sub}", channel.as_str()).into_bytes())
}

impl TokenCipher {
    pub fn new(key: &TokenKey) -> Result<Self, SealError> {
        RandomizedNonceKey::new(&AES_256_GCM, &key.0)
            .map(|key| Self { key })
            .map_err(|_| SealError)
    }

    /// The `nextToken` continuing `channel`'s list for the caller `sub` after `key`.
    pub fn seal(
        &self,
        channel: &ChannelArn,
        sub: &str,
        key: &PageKey,
    ) -> Result<String, SealError> {
        let mut in_out = key.to_json().into_bytes();
        let nonce = self
            .key
            .seal_in_place_append_tag(aad(channel, sub), &mut in_out)
            .map_err(|_| SealError)?;
        let mut token = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        token.push(VERSION);
        token.extend_from_slice(nonce.as_ref());
        token.extend_from_slice(&in_out);
        Ok(URL_SAFE_NO_PAD.encode(token))
    }

    /// The page key inside a token issued by [`Self::seal`] for the same channel and caller.
    pub fn open(
        &self,
        channel: &ChannelArn,
        sub: &str,
        token: &str,
    ) -> Result<PageKey, InvalidToken> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(InvalidToken);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| InvalidToken)?;
        let (version, rest) = bytes.split_first().ok_or(InvalidToken)?;
        if *version != VERSION || rest.len() < NONCE_LEN {
            return Err(InvalidToken);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| InvalidToken)?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, aad(channel, sub), &mut sealed)
            .map_err(|_| InvalidToken)?;
        let text = std::str::from_utf8(plain).map_err(|_| InvalidToken)?;
        let key = PageKey::from_json(text).map_err(|_| InvalidToken)?;
        // The associated data already binds the channel; a key for another partition would also
        // make DynamoDB fail the query, which must not become a 500.
        if key.channel_arn() != Some(channel.as_str()) {
            return Err(InvalidToken);
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ivs:us-west-2:123456789012:channel/abc";

    fn page_key(arn: &str) -> PageKey {
        PageKey::from_json(&format!(
            r#"{{"channelArn":{{"S":"{arn}"}},"id":{{"S":"st-1"}},"startTime":{{"S":"2023-06-14T18:32:41Z"}}}}"#
        ))
        .unwrap()
    }

    fn cipher() -> TokenCipher {
        TokenCipher::new(&TokenKey::parse(&STANDARD.encode([7u8; 32])).unwrap()).unwrap()
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let arn = ChannelArn::parse(ARN).unwrap();
        let cipher = cipher();
        let a = cipher.seal(&arn, "sub", &page_key(ARN)).unwrap();
        let b = cipher.seal(&arn, "sub", &page_key(ARN)).unwrap();
        assert_ne!(a, b);
        assert_eq!(cipher.open(&arn, "sub", &a).unwrap(), page_key(ARN));
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn anything_else_is_rejected() {
        let arn = ChannelArn::parse(ARN).unwrap();
        let other = ChannelArn::parse("arn:aws:ivs:us-west-2:123456789012:channel/xyz").unwrap();
        let cipher = cipher();
        let token = cipher.seal(&arn, "sub", &page_key(ARN)).unwrap();
        assert_eq!(cipher.open(&other, "sub", &token), Err(InvalidToken));
        assert_eq!(cipher.open(&arn, "other-sub", &token), Err(InvalidToken));
        assert_eq!(
            cipher.open(&arn, "sub", &token[..token.len() - 3]),
            Err(InvalidToken)
        );
        assert_eq!(cipher.open(&arn, "sub", "zz"), Err(InvalidToken));
        assert_eq!(
            cipher.open(&arn, "sub", "a9b45de7f6f3d70de1896531b68f51ee"),
            Err(InvalidToken)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            let flipped = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(
                cipher.open(&arn, "sub", &flipped),
                Err(InvalidToken),
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
        let other_key =
            TokenCipher::new(&TokenKey::parse(&STANDARD.encode([8u8; 32])).unwrap()).unwrap();
        assert_eq!(other_key.open(&arn, "sub", &token), Err(InvalidToken));
        // A key for another channel sealed under this channel's binding is still refused.
        let foreign = cipher
            .seal(
                &arn,
                "sub",
                &page_key("arn:aws:ivs:us-west-2:123456789012:channel/xyz"),
            )
            .unwrap();
        assert_eq!(cipher.open(&arn, "sub", &foreign), Err(InvalidToken));
    }

    #[test]
    fn key_forms() {
        let raw = TokenKey::parse(&URL_SAFE_NO_PAD.encode([1u8; 32])).unwrap();
        assert_eq!(raw.0, [1u8; 32]);
        let derived = TokenKey::parse("mqGmnKzveqqSQLbdXspNgJFHpLdCsy78").unwrap();
        assert_ne!(derived.0, [0u8; 32]);
        assert_eq!(
            derived.0,
            TokenKey::parse("mqGmnKzveqqSQLbdXspNgJFHpLdCsy78")
                .unwrap()
                .0
        );
        assert!(TokenKey::parse("tooShort").is_err());
        assert!(TokenKey::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert!(!format!("{raw:?}").contains('1'));
    }
}
