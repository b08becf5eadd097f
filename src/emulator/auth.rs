//! API keys and namespaces: which key modes exist, how a key is read from the
//! `Authorization` header (Bearer, or Basic with the key as user name, like `curl -u`), how
//! a bad key is masked in the 401 message, and which account a key belongs to.
//! The key itself is never stored: only a hash is kept (for rate limiting).

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use super::state::NsKey;

/// A key that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Live mode (`sk_live_`/`rk_live_`).
    pub livemode: bool,
    /// A hash of the whole key: identifies the key for rate limiting without keeping it.
    pub key_hash: String,
    /// The account the key belongs to (`acct_…`).
    pub account_id: String,
    /// The key as Stripe shows it in messages (`sk_test_****abcd`).
    pub masked: String,
    /// A restricted key the fixtures declare read-only: writes are refused (403).
    pub read_only: bool,
    /// A restricted key with the redaction-job permissions only: reading a charge, a
    /// payment intent… is refused (403).
    pub redaction_only: bool,
}

/// Which account each declared key belongs to, and which accounts are connected to which
/// platform (from the fixtures). Keys are kept as hashes only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Key hash → account id.
    keys: HashMap<String, String>,
    /// Platform account → accounts connected to it.
    connected: HashMap<String, BTreeSet<String>>,
    /// Hashes of read-only restricted keys.
    read_only: BTreeSet<String>,
    /// Hashes of restricted keys that hold only the redaction-job permissions.
    redaction_only: BTreeSet<String>,
}

impl Directory {
    /// Declares that `key` belongs to `account`.
    pub fn add_key(&mut self, key: &str, account: &str) {
        self.keys.insert(key_hash(key), account.to_string());
    }

    /// Declares a read-only restricted key of `account`.
    pub fn add_read_only_key(&mut self, key: &str, account: &str) {
        self.add_key(key, account);
        self.read_only.insert(key_hash(key));
    }

    /// Declares a restricted key of `account` that holds only the redaction-job
    /// permissions: it cannot read the objects a job names.
    pub fn add_redaction_only_key(&mut self, key: &str, account: &str) {
        self.add_key(key, account);
        self.redaction_only.insert(key_hash(key));
    }

    /// Declares `connected` as a connected account of `platform`.
    pub fn connect(&mut self, platform: &str, connected: &str) {
        self.connected
            .entry(platform.to_string())
            .or_default()
            .insert(connected.to_string());
    }

    /// The account a declared key belongs to.
    pub fn account_of(&self, key_hash: &str) -> Option<&str> {
        self.keys.get(key_hash).map(String::as_str)
    }

    /// Whether `connected` is connected to `platform`.
    pub fn is_connected(&self, platform: &str, connected: &str) -> bool {
        self.connected
            .get(platform)
            .is_some_and(|s| s.contains(connected))
    }
}

fn key_hash(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..12])
}

/// Why authentication failed; the message is Stripe's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.")]
    /// No key at all.
    Missing,
    #[error("Invalid API Key provided: {0}")]
    /// A key that is not a test/live secret or restricted key (masked).
    Invalid(String),
    #[error("Invalid Stripe-Account header: '{0}' is not an account id (acct_…).")]
    /// A `Stripe-Account` header that is not an account id.
    BadAccount(String),
    #[error("The provided key '{key}' does not have access to account '{account}' (or that account does not exist). Application access may have been revoked.")]
    /// A `Stripe-Account` that is not connected to the key's account (403).
    NotConnected {
        /// The masked key.
        key: String,
        /// The account asked for.
        account: String,
    },
}

/// The key from an `Authorization` header value.
pub fn key_from_header(value: Option<&[u8]>) -> Result<String, AuthError> {
    let Some(raw) = value else {
        return Err(AuthError::Missing);
    };
    let Ok(text) = std::str::from_utf8(raw) else {
        return Err(AuthError::Invalid("****".into()));
    };
    let text = text.trim();
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    let rest = rest.trim();
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        rest.to_string()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_decode(rest).ok_or_else(|| AuthError::Invalid("****".into()))?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Invalid("****".into()))?;
        // `curl -u KEY:` sends "KEY:" (no password).
        decoded.split(':').next().unwrap_or_default().to_string()
    } else {
        return Err(AuthError::Invalid(mask(text)));
    };
    if key.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(key)
}

/// Checks a key and derives its mode and account: the account the directory declares for
/// it, else `fixed_account` (the configured account id), else one derived from the key's
/// secret part.
pub fn check_key_in(
    key: &str,
    fixed_account: Option<&str>,
    directory: &Directory,
) -> Result<KeyInfo, AuthError> {
    let mut info = check_key(key, fixed_account)?;
    if let Some(a) = directory.account_of(&info.key_hash) {
        info.account_id = a.to_string();
    }
    info.read_only = directory.read_only.contains(&info.key_hash);
    info.redaction_only = directory.redaction_only.contains(&info.key_hash);
    Ok(info)
}

/// Checks a key and derives its mode and account. `fixed_account`: the configured
/// account id, if any (otherwise it is derived from the key's secret part).
pub fn check_key(key: &str, fixed_account: Option<&str>) -> Result<KeyInfo, AuthError> {
    const PREFIXES: [(&str, bool); 4] = [
        ("sk_test_", false),
        ("rk_test_", false),
        ("sk_live_", true),
        ("rk_live_", true),
    ];
    let found = PREFIXES
        .iter()
        .find_map(|(p, live)| key.strip_prefix(p).map(|secret| (secret, *live)));
    let Some((secret, livemode)) = found else {
        return Err(AuthError::Invalid(mask(key)));
    };
    if secret.is_empty()
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(AuthError::Invalid(mask(key)));
    }
    let account_id = match fixed_account {
        Some(a) => a.to_string(),
        None => derived_account_id(secret),
    };
    Ok(KeyInfo {
        livemode,
        key_hash: key_hash(key),
        account_id,
        masked: mask(key),
        read_only: false,
        redaction_only: false,
    })
}

/// `acct_` + 16 hex digits of a hash of the key's secret part (what follows `sk_test_`),
/// so that `sk_test_X` and `sk_live_X` belong to the same account, as in Stripe.
pub fn derived_account_id(secret: &str) -> String {
    let digest = Sha256::digest(format!("redactctl-emulator-account:{secret}").as_bytes());
    format!("acct_{}", hex::encode(&digest[..8]))
}

/// Stripe's refusal of a write with a read-only restricted key (sent as a 403).
pub fn read_only_message(key: &KeyInfo) -> String {
    format!(
        "The provided key '{}' does not have the required permissions for this endpoint on account '{}'. Having the 'rak_privacy_redaction_job_write' permission would allow this request to continue.",
        key.masked, key.account_id
    )
}

/// Stripe's refusal of a read the restricted key has no permission for (sent as a 403),
/// naming the permission that would allow it.
pub fn missing_permission_message(key: &KeyInfo, permission: &str) -> String {
    format!(
        "The provided key '{}' does not have the required permissions for this endpoint on account '{}'. Having the '{permission}' permission would allow this request to continue.",
        key.masked, key.account_id
    )
}

/// The namespace of a request: the key's mode and the account it acts on — the key's own
/// account, or the `Stripe-Account` header's when that account is connected to it.
pub fn namespace(
    key: &KeyInfo,
    stripe_account: Option<&[u8]>,
    directory: &Directory,
) -> Result<NsKey, AuthError> {
    let account = match stripe_account {
        None => key.account_id.clone(),
        Some(raw) => {
            let text = std::str::from_utf8(raw).unwrap_or("").trim();
            let valid = text
                .strip_prefix("acct_")
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()));
            if !valid {
                let shown: String = text.chars().take(40).collect();
                return Err(AuthError::BadAccount(shown));
            }
            if text != key.account_id && !directory.is_connected(&key.account_id, text) {
                return Err(AuthError::NotConnected {
                    key: key.masked.clone(),
                    account: text.to_string(),
                });
            }
            text.to_string()
        }
    };
    Ok(NsKey {
        livemode: key.livemode,
        account: Some(account),
    })
}

/// Masks a key the way Stripe does: the mode prefix, stars, the last four characters.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let prefix_len = [
        "sk_test_", "rk_test_", "sk_live_", "rk_live_", "pk_test_", "pk_live_",
    ]
    .iter()
    .find(|p| key.starts_with(*p))
    .map(|p| p.len())
    .unwrap_or(0);
    let rest = chars.len().saturating_sub(prefix_len);
    if rest <= 4 {
        return format!("{}****", chars.iter().take(prefix_len).collect::<String>());
    }
    let head: String = chars.iter().take(prefix_len).collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Standard base64 (with or without padding); `None` on any invalid input.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc: u32 = 0;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i as u32);
        }
        let n = chunk.len() - 1;
        for i in 0..n {
            // Each byte is taken from the top of the 24-bit group.
            out.push(((acc >> (16 - 8 * i as u32)) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_give_the_same_key() {
        assert_eq!(
            key_from_header(Some(b"Bearer sk_test_abc")).unwrap(),
            "sk_test_abc"
        );
        // base64("sk_test_abc:")
        assert_eq!(
            key_from_header(Some(b"Basic c2tfdGVzdF9hYmM6")).unwrap(),
            "sk_test_abc"
        );
        assert_eq!(key_from_header(None), Err(AuthError::Missing));
        assert!(key_from_header(Some(b"Basic !!!")).is_err());
        assert!(key_from_header(Some(&[0xff, 0xfe])).is_err());
    }

    #[test]
    fn modes_and_bad_keys() {
        assert!(!check_key("sk_test_abc", None).unwrap().livemode);
        assert!(!check_key("rk_test_abc", None).unwrap().livemode);
        assert!(check_key("sk_live_abc", None).unwrap().livemode);
        assert!(check_key("rk_live_abc", None).unwrap().livemode);
        assert_eq!(
            check_key("pk_test_1234abcd", None).unwrap_err(),
            AuthError::Invalid("pk_test_****abcd".into())
        );
        assert_eq!(
            check_key("sk_test_", None).unwrap_err(),
            AuthError::Invalid("sk_test_****".into())
        );
        let e = check_key("whatever-secret-value", None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Invalid API Key provided: ****alue");
        assert!(!e.contains("secret"));
    }

    #[test]
    fn account_is_stable_and_shared_by_modes_of_one_secret() {
        let a = check_key("sk_test_abc", None).unwrap().account_id;
        assert_eq!(a, check_key("sk_live_abc", None).unwrap().account_id);
        assert_ne!(a, check_key("sk_test_abd", None).unwrap().account_id);
        assert!(a.starts_with("acct_") && a.len() == 21);
        assert_eq!(
            check_key("sk_test_abc", Some("acct_X")).unwrap().account_id,
            "acct_X"
        );
    }

    #[test]
    fn stripe_account_header_selects_the_namespace() {
        let k = check_key("sk_live_abc", None).unwrap();
        let mut dir = Directory::default();
        assert!(matches!(
            namespace(&k, Some(b"acct_123"), &dir),
            Err(AuthError::NotConnected { .. })
        ));
        dir.connect(&k.account_id, "acct_123");
        let ns = namespace(&k, Some(b"acct_123"), &dir).unwrap();
        assert!(ns.livemode);
        assert_eq!(ns.account.as_deref(), Some("acct_123"));
        assert!(namespace(&k, Some(b"cus_123"), &dir).is_err());
        assert_eq!(
            namespace(&k, None, &dir).unwrap().account.as_deref(),
            Some(k.account_id.as_str())
        );
        let own = k.account_id.clone();
        assert!(namespace(&k, Some(own.as_bytes()), &Directory::default()).is_ok());
    }

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a").is_none());
    }
}
