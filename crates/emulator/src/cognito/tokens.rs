//! RS256 signing keys, JWT encoding and verification, and the JWKS document
//! (`docs/wire-protocols.md` §1.4). Cognito signs ID and access tokens with different keys, so the
//! emulator keeps two RSA-2048 keys; they are generated on first use and persisted (PKCS#8 DER,
//! base64) so tokens and cached JWKS stay valid across restarts.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A persisted signing key.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    /// PKCS#8 v1 DER, standard base64.
    pub pkcs8: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct StoredKeys {
    pub id: StoredKey,
    pub access: StoredKey,
}

pub struct SigningKey {
    pub kid: String,
    key: KeyPair,
}

pub struct SigningKeys {
    pub id: SigningKey,
    pub access: SigningKey,
}

/// Which key signs (or must have signed) a token.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TokenUse {
    Id,
    Access,
}

impl SigningKeys {
    pub fn generate() -> anyhow::Result<(Self, StoredKeys)> {
        let (id, id_stored) = SigningKey::generate()?;
        let (access, access_stored) = SigningKey::generate()?;
        Ok((
            Self { id, access },
            StoredKeys {
                id: id_stored,
                access: access_stored,
            },
        ))
    }

    pub fn load(stored: &StoredKeys) -> anyhow::Result<Self> {
        Ok(Self {
            id: SigningKey::load(&stored.id)?,
            access: SigningKey::load(&stored.access)?,
        })
    }

    pub fn key(&self, token_use: TokenUse) -> &SigningKey {
        match token_use {
            TokenUse::Id => &self.id,
            TokenUse::Access => &self.access,
        }
    }

    /// `{"keys": [...]}` with both public keys.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.id.jwk(), self.access.jwk()]})
    }

    /// Signs `claims` as a compact JWT with the key for `token_use`.
    pub fn sign(&self, token_use: TokenUse, claims: &Map<String, Value>) -> anyhow::Result<String> {
        let key = self.key(token_use);
        let header = json!({"kid": key.kid, "alg": "RS256"});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
        );
        let mut sig = vec![0u8; key.key.public_modulus_len()];
        key.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// Checks the signature (with the key for `token_use`) and returns the claims. Expiry and
    /// revocation are the caller's business.
    pub fn verify(&self, token_use: TokenUse, token: &str) -> Option<Map<String, Value>> {
        let (signing_input, sig) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        if payload.contains('.') {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        let key = self.key(token_use);
        if header.get("kid").and_then(Value::as_str) != Some(key.kid.as_str())
            || header.get("alg").and_then(Value::as_str) != Some("RS256")
        {
            return None;
        }
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            key.key.public_key().as_ref(),
        )
        .verify(signing_input.as_bytes(), &sig)
        .ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

impl SigningKey {
    fn generate() -> anyhow::Result<(Self, StoredKey)> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
        let der = key
            .as_der()
            .map_err(|_| anyhow::anyhow!("cannot encode the RSA key as PKCS#8"))?;
        let stored_der = STANDARD.encode(der.as_ref());
        let kid = kid_of(&key);
        Ok((
            Self {
                kid: kid.clone(),
                key,
            },
            StoredKey {
                kid,
                pkcs8: stored_der,
            },
        ))
    }

    fn load(stored: &StoredKey) -> anyhow::Result<Self> {
        let der = STANDARD.decode(&stored.pkcs8)?;
        let key = KeyPair::from_pkcs8(&der)
            .map_err(|e| anyhow::anyhow!("stored Cognito signing key is unusable: {e}"))?;
        Ok(Self {
            kid: stored.kid.clone(),
            key,
        })
    }

    fn jwk(&self) -> Value {
        let public = self.key.public_key();
        json!({
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            "kid": self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        })
    }
}

/// Real kids are base64 SHA-256 digests (e.g. `VN3d8yjT...Ggh0Y=`); this one is the digest of the
/// public key, so it is stable for a key and distinct between keys.
fn kid_of(key: &KeyPair) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.public_key().as_ref());
    STANDARD.encode(digest.as_ref())
}

/// Reads the claims of a JWT without checking anything; for telling "expired" from "invalid"
/// only after the signature was checked, and for refusing obviously malformed tokens early.
pub fn peek_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_verifies_and_survives_a_reload() {
        let (keys, stored) = SigningKeys::generate().unwrap();
        assert_ne!(keys.id.kid, keys.access.kid);
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("abc"));
        let token = keys.sign(TokenUse::Access, &claims).unwrap();
        assert_eq!(keys.verify(TokenUse::Access, &token).unwrap()["sub"], "abc");
        // The other key refuses it, and so does a tampered payload.
        assert!(keys.verify(TokenUse::Id, &token).is_none());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"evil"}"#);
        parts[1] = &forged;
        assert!(keys.verify(TokenUse::Access, &parts.join(".")).is_none());

        let reloaded = SigningKeys::load(&stored).unwrap();
        assert_eq!(
            reloaded.verify(TokenUse::Access, &token).unwrap()["sub"],
            "abc"
        );
        let jwks = reloaded.jwks();
        assert_eq!(jwks["keys"][1]["kid"], keys.access.kid.as_str());
        assert_eq!(jwks["keys"][1]["e"], "AQAB");
    }
}
