//! Verifies Stripe's `Stripe-Signature` header:
//! `t=TIMESTAMP,v1=HEX(HMAC_SHA256(secret, "TIMESTAMP.PAYLOAD"))`, within a tolerance, with a
//! constant-time comparison. Pure: the caller passes the current time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's default tolerance.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a webhook was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Stripe-Signature header")]
    Missing,
    #[error("malformed Stripe-Signature header")]
    Malformed,
    #[error("no v1 signature matches the payload")]
    Mismatch,
    #[error("timestamp outside the tolerance ({age} s away)")]
    Stale { age: i64 },
}

/// Checks `header` against `payload` and `secret` at time `now` (unix seconds).
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secret: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => timestamp = v.parse().ok(),
            "v1" => {
                if let Ok(bytes) = hex::decode(v) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let matches = signatures.iter().any(|sig| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // `verify_slice` compares in constant time.
        mac.verify_slice(sig).is_ok()
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    let age = now - timestamp;
    if age.abs() > tolerance_secs {
        return Err(SignatureError::Stale { age });
    }
    Ok(timestamp)
}

/// Signs a payload the way Stripe does (tests, and tools that forward events).
pub fn sign(payload: &[u8], secret: &[u8], timestamp: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return format!("t={timestamp}"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_good_signature_passes() {
        let header = sign(b"{}", SECRET, 1000);
        assert_eq!(verify(Some(&header), b"{}", SECRET, 1100, 300), Ok(1000));
    }

    #[test]
    fn forged_payload_or_secret_fails() {
        let header = sign(b"{}", SECRET, 1000);
        assert_eq!(
            verify(Some(&header), b"{\"x\":1}", SECRET, 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), b"{}", b"whsec_other", 1000, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_malformed_fail() {
        let header = sign(b"{}", SECRET, 1000);
        assert_eq!(
            verify(Some(&header), b"{}", SECRET, 1301, 300),
            Err(SignatureError::Stale { age: 301 })
        );
        assert_eq!(
            verify(Some("v1=abcd"), b"{}", SECRET, 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(None, b"{}", SECRET, 1000, 300),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let good = sign(b"{}", SECRET, 1000);
        let v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t=1000,v1=00ff,v1={v1}");
        assert!(verify(Some(&header), b"{}", SECRET, 1000, 300).is_ok());
    }
}
