//! Optional signing of saved plan files, so that an apply job can tell the plan its own CI
//! made from one edited on the way (an artifact store, a shared disk, a hand with a text
//! editor). With a key (`REDACTCTL_PLAN_KEY`, read by the CLI and passed in as a value),
//! `plan --out` writes an HMAC-SHA256 of the plan's JSON as the file's first member, and
//! `apply PLANFILE` refuses a file whose signature is missing or does not match.
//!
//! The signature covers the exact bytes `plan --out` wrote without it: any edit, even a
//! re-indentation, breaks it. Pure: no I/O, no environment.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a signed file starts with; the signature line is `  "signature": "hmac-sha256:<hex>",`.
const SIGNED_PREFIX: &str = "{\n  \"signature\": \"hmac-sha256:";
/// What the unsigned JSON (`render_json`) starts with.
const UNSIGNED_PREFIX: &str = "{\n";
/// Mixed into every MAC so that a key shared with another tool cannot be made to sign a
/// plan file, nor a plan's MAC be reused elsewhere.
const DOMAIN: &[u8] = b"redactctl plan file v1\n";

/// The shortest key accepted, in bytes (after trimming surrounding whitespace).
pub const MIN_KEY_BYTES: usize = 16;
/// The longest key accepted, in bytes: the key comes from the environment, which anyone
/// who sets up the job controls; a bound keeps it an input, not a resource.
pub const MAX_KEY_BYTES: usize = 1024;

/// The environment variable the CLI reads the key from.
pub const PLAN_KEY_ENV: &str = "REDACTCTL_PLAN_KEY";

/// The secret that signs plan files. Never printed: `Debug` hides it and there is no
/// `Display`.
#[derive(Clone)]
pub struct PlanKey(Vec<u8>);

impl std::fmt::Debug for PlanKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlanKey([hidden])")
    }
}

/// Why the key in the environment cannot be used. No variant holds the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanKeyError {
    #[error("{PLAN_KEY_ENV} is set but empty; unset it to leave plan files unsigned, or set a key of at least {MIN_KEY_BYTES} bytes")]
    Empty,
    #[error("{PLAN_KEY_ENV} is too short ({len} bytes); use at least {MIN_KEY_BYTES} random bytes (e.g. `openssl rand -hex 32`)")]
    TooShort { len: usize },
    #[error(
        "{PLAN_KEY_ENV} is too long ({len} bytes); at most {MAX_KEY_BYTES} bytes are accepted"
    )]
    TooLong { len: usize },
    #[error("{PLAN_KEY_ENV} is not valid UTF-8")]
    NotUtf8,
}

impl PlanKey {
    /// The key from the environment variable's value (`None`: not set, files are not
    /// signed). Surrounding whitespace (a trailing newline from a secrets file) is not
    /// part of the key.
    pub fn from_env_value(
        value: Option<&std::ffi::OsStr>,
    ) -> Result<Option<PlanKey>, PlanKeyError> {
        let Some(value) = value else { return Ok(None) };
        // Checked before anything is copied: a huge value is refused as it is.
        if value.len() > MAX_KEY_BYTES + 64 {
            return Err(PlanKeyError::TooLong { len: value.len() });
        }
        let text = value.to_str().ok_or(PlanKeyError::NotUtf8)?.trim();
        match text.len() {
            0 => Err(PlanKeyError::Empty),
            n if n < MIN_KEY_BYTES => Err(PlanKeyError::TooShort { len: n }),
            n if n > MAX_KEY_BYTES => Err(PlanKeyError::TooLong { len: n }),
            _ => Ok(Some(PlanKey(text.as_bytes().to_vec()))),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(DOMAIN);
        mac
    }
}

/// Why a plan file's signature does not let it be applied. No variant holds the key or
/// the expected MAC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the plan file is not signed, and {PLAN_KEY_ENV} is set: only signed plans are applied; nothing was sent — make the plan with `redactctl plan --out` where {PLAN_KEY_ENV} is set")]
    Missing,
    #[error("the plan file's signature does not match its contents under {PLAN_KEY_ENV}: it was edited after it was signed, or signed with another key; nothing was sent — make the plan again")]
    Mismatch,
    #[error("the plan file's signature is not in the form `redactctl plan --out` writes (was the file reformatted?); nothing was sent — make the plan again")]
    Malformed,
    #[error("cannot sign the plan: its JSON does not start the way redactctl writes it")]
    CannotSign,
    #[error("the plan file is signed, but {PLAN_KEY_ENV} is not set, so its signature cannot be checked; nothing was sent — set {PLAN_KEY_ENV} to the key the plan job used")]
    CannotCheck,
}

/// `unsigned` (the plan's JSON as `render_json` writes it) with its signature as the first
/// member; an error (never a silently unsigned file) for text that does not start the way
/// `render_json` writes it.
pub fn sign(unsigned: &str, key: &PlanKey) -> Result<String, SignatureError> {
    let rest = unsigned
        .strip_prefix(UNSIGNED_PREFIX)
        .ok_or(SignatureError::CannotSign)?;
    let mut mac = key.mac();
    mac.update(unsigned.as_bytes());
    let tag = hex::encode(mac.finalize().into_bytes());
    Ok(format!("{SIGNED_PREFIX}{tag}\",\n{rest}"))
}

/// Whether the text carries a signature member where `sign` puts one, or anywhere at the
/// top level (a reformatted file).
fn claims_signature(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        signature: Option<serde::de::IgnoredAny>,
    }
    text.starts_with(SIGNED_PREFIX)
        || serde_json::from_str::<Probe>(text).is_ok_and(|p| p.signature.is_some())
}

/// Checks a plan file's text against `key` and returns the text to parse. With a key, the
/// file must carry a signature that matches; without one, an unsigned file passes as it
/// is and a signed one is refused, since it cannot be checked.
pub fn verify<'a>(
    text: &'a str,
    key: Option<&PlanKey>,
) -> Result<std::borrow::Cow<'a, str>, SignatureError> {
    let Some(key) = key else {
        return if claims_signature(text) {
            Err(SignatureError::CannotCheck)
        } else {
            Ok(std::borrow::Cow::Borrowed(text))
        };
    };
    let Some(after) = text.strip_prefix(SIGNED_PREFIX) else {
        return Err(if claims_signature(text) {
            SignatureError::Malformed
        } else {
            SignatureError::Missing
        });
    };
    let Some((tag_hex, rest)) = after.split_once("\",\n") else {
        return Err(SignatureError::Malformed);
    };
    if tag_hex.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let tag = hex::decode(tag_hex).map_err(|_| SignatureError::Malformed)?;
    let unsigned = format!("{UNSIGNED_PREFIX}{rest}");
    let mut mac = key.mac();
    mac.update(unsigned.as_bytes());
    // Constant time: the comparison tells nothing about how much of a forged tag was right.
    mac.verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(std::borrow::Cow::Owned(unsigned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    const PLAN: &str = "{\n  \"format_version\": 3,\n  \"actions\": []\n}\n";

    fn key(s: &str) -> PlanKey {
        PlanKey::from_env_value(Some(OsStr::new(s)))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_signed_plan_verifies_and_gives_back_the_exact_unsigned_text() {
        let k = key("0123456789abcdef0123456789abcdef");
        let signed = sign(PLAN, &k).unwrap();
        assert!(signed.starts_with(SIGNED_PREFIX), "{signed}");
        let _: serde_json::Value = serde_json::from_str(&signed).unwrap();
        assert_eq!(verify(&signed, Some(&k)).unwrap(), PLAN);
    }

    #[test]
    fn edits_other_keys_and_missing_signatures_are_refused() {
        let k = key("0123456789abcdef0123456789abcdef");
        let signed = sign(PLAN, &k).unwrap();
        let edited = signed.replace("\"actions\": []", "\"actions\": [ ]");
        assert_eq!(verify(&edited, Some(&k)), Err(SignatureError::Mismatch));
        let other = key("fedcba9876543210fedcba9876543210");
        assert_eq!(verify(&signed, Some(&other)), Err(SignatureError::Mismatch));
        assert_eq!(verify(PLAN, Some(&k)), Err(SignatureError::Missing));
        // Reformatted: the signature is there but not where redactctl writes it.
        let v: serde_json::Value = serde_json::from_str(&signed).unwrap();
        let compact = serde_json::to_string(&v).unwrap();
        assert_eq!(verify(&compact, Some(&k)), Err(SignatureError::Malformed));
        // A tag that is not hex, or of the wrong length.
        let bad = signed.replacen("hmac-sha256:", "hmac-sha256:zz", 1);
        assert_eq!(verify(&bad, Some(&k)), Err(SignatureError::Malformed));
    }

    #[test]
    fn text_not_written_by_render_json_is_not_signed_silently() {
        let k = key("0123456789abcdef0123456789abcdef");
        assert_eq!(sign("[]", &k), Err(SignatureError::CannotSign));
    }

    #[test]
    fn without_a_key_unsigned_plans_pass_and_signed_ones_cannot_be_checked() {
        let k = key("0123456789abcdef0123456789abcdef");
        assert_eq!(verify(PLAN, None).unwrap(), PLAN);
        assert_eq!(
            verify(&sign(PLAN, &k).unwrap(), None),
            Err(SignatureError::CannotCheck)
        );
    }

    #[test]
    fn the_key_is_bounded_non_empty_and_never_shown() {
        assert!(matches!(PlanKey::from_env_value(None), Ok(None)));
        assert_eq!(
            PlanKey::from_env_value(Some(OsStr::new("  \n"))).unwrap_err(),
            PlanKeyError::Empty
        );
        assert!(matches!(
            PlanKey::from_env_value(Some(OsStr::new("short"))),
            Err(PlanKeyError::TooShort { len: 5 })
        ));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            PlanKey::from_env_value(Some(OsStr::new(&long))),
            Err(PlanKeyError::TooLong { .. })
        ));
        let huge = "k".repeat(10 * 1024 * 1024);
        assert!(matches!(
            PlanKey::from_env_value(Some(OsStr::new(&huge))),
            Err(PlanKeyError::TooLong { .. })
        ));
        // A trailing newline from a secrets file is not part of the key.
        let a = sign(PLAN, &key("0123456789abcdef0123456789abcdef\n")).unwrap();
        assert!(verify(&a, Some(&key("0123456789abcdef0123456789abcdef"))).is_ok());
        let secret = "SECRETplanKEY-0123456789";
        assert!(!format!("{:?}", key(secret)).contains(secret));
        for e in [
            PlanKeyError::Empty,
            PlanKeyError::TooShort { len: 3 },
            PlanKeyError::TooLong { len: 3 },
            PlanKeyError::NotUtf8,
        ] {
            assert!(!e.to_string().contains(secret));
        }
    }
}
