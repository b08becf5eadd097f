//! The API key, held in a secret type. Its `Debug` and `Display` show only the masked form,
//! so that a key can never leak into output, logs, plan files or the audit log by accident;
//! the only way to the plain text is [`ApiKey::expose`], used by the client for one header.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::models::Mode;

/// The environment variable read when no `--api-key-file` is given.
pub const API_KEY_ENV: &str = "STRIPE_API_KEY";

/// Why a key could not be obtained. Messages never contain the key itself.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither `--api-key-file` nor `STRIPE_API_KEY` gave a key.
    #[error("no Stripe API key: set {API_KEY_ENV} or pass --api-key-file FILE")]
    Missing,
    /// The key file could not be read.
    #[error("cannot read the API key file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The key (file or variable) is empty.
    #[error("the Stripe API key is empty")]
    Empty,
    /// The key contains whitespace or control characters inside it.
    #[error("the Stripe API key `{masked}` contains whitespace or control characters")]
    Malformed { masked: String },
    /// The key is not a secret (`sk_`) or restricted (`rk_`) key of a known mode.
    #[error("`{masked}` is not a Stripe secret or restricted key (expected sk_test_, sk_live_, rk_test_ or rk_live_)")]
    UnknownPrefix { masked: String },
}

/// Largest key file read: a key is about a hundred characters.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// A Stripe secret or restricted API key and the mode its prefix names.
#[derive(Clone)]
pub struct ApiKey {
    secret: SecretString,
    mode: Mode,
    masked: String,
}

const PREFIXES: [(&str, Mode); 4] = [
    ("sk_test_", Mode::Test),
    ("rk_test_", Mode::Test),
    ("sk_live_", Mode::Live),
    ("rk_live_", Mode::Live),
];

impl ApiKey {
    /// Parses a key as read from a file or the environment: a trailing newline (and other
    /// trailing or leading whitespace, as editors and `echo` add them) is trimmed; the mode
    /// comes from the prefix.
    pub fn parse(s: &str) -> Result<ApiKey, KeyError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(KeyError::Empty);
        }
        let masked = mask(s);
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(KeyError::Malformed { masked });
        }
        let Some(&(_, mode)) = PREFIXES
            .iter()
            .find(|(p, _)| s.len() > p.len() && s.starts_with(p))
        else {
            return Err(KeyError::UnknownPrefix { masked });
        };
        Ok(ApiKey {
            secret: SecretString::from(s),
            mode,
            masked,
        })
    }

    /// Reads the key from `file` when given (`--api-key-file`), otherwise from the
    /// `STRIPE_API_KEY` environment variable. The key is never taken from a flag value: it
    /// would land in shell history and CI logs.
    pub fn from_sources(file: Option<&Path>) -> Result<ApiKey, KeyError> {
        match file {
            Some(path) => {
                // Process substitution (`<(pass show stripe)`) is a FIFO: allowed, bounded.
                let text = crate::io_limits::read_text_limited(
                    path,
                    MAX_KEY_FILE_BYTES,
                    crate::io_limits::Special::Allow,
                )
                .map_err(|e| KeyError::File {
                    path: path.to_path_buf(),
                    source: e.into_io(),
                })?;
                ApiKey::parse(&text)
            }
            None => match std::env::var(API_KEY_ENV) {
                Ok(v) => ApiKey::parse(&v),
                Err(std::env::VarError::NotPresent) => Err(KeyError::Missing),
                Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::Malformed {
                    masked: "(not UTF-8)".to_string(),
                }),
            },
        }
    }

    /// Test or live, from the key's prefix.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The key as Stripe's dashboard shows it: prefix and last four characters
    /// (`sk_test_…abcd`). Safe to print.
    pub fn masked(&self) -> String {
        self.masked.clone()
    }

    /// The plain key, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

/// `sk_test_…abcd`: the prefix up to the mode, then the last four characters when the key
/// is long enough that they reveal little.
fn mask(s: &str) -> String {
    let prefix = PREFIXES
        .iter()
        .find(|(p, _)| s.starts_with(p))
        .map(|(p, _)| *p)
        .unwrap_or("");
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= prefix.chars().count() + 12 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{prefix}…{tail}")
    } else {
        format!("{prefix}…")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.masked)
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_test_51AbCdEfGhIjKlMnOpQrStUvWxYz0123456789wxyz";

    #[test]
    fn parse_trims_newline_and_reads_mode() {
        let k = ApiKey::parse(&format!("{KEY}\n")).unwrap();
        assert_eq!(k.mode(), Mode::Test);
        assert_eq!(k.expose(), KEY);
        assert_eq!(
            ApiKey::parse("rk_live_abcdefghijklmnopqrstuvwx\r\n")
                .unwrap()
                .mode(),
            Mode::Live
        );
        assert_eq!(
            ApiKey::parse("sk_live_abcdefghijklmnopqrstuvwx")
                .unwrap()
                .mode(),
            Mode::Live
        );
        assert_eq!(
            ApiKey::parse("rk_test_abcdefghijklmnopqrstuvwx")
                .unwrap()
                .mode(),
            Mode::Test
        );
    }

    #[test]
    fn debug_display_and_masked_never_show_the_key() {
        let k = ApiKey::parse(KEY).unwrap();
        assert_eq!(k.masked(), "sk_test_…wxyz");
        for shown in [format!("{k:?}"), format!("{k}"), k.masked()] {
            assert!(!shown.contains("51AbCdEf"), "{shown}");
        }
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        assert!(matches!(ApiKey::parse("  \n"), Err(KeyError::Empty)));
        let err = ApiKey::parse("pk_test_abcdefghijklmnopqrstuvwxyz").unwrap_err();
        assert!(matches!(err, KeyError::UnknownPrefix { .. }));
        assert!(!err.to_string().contains("abcdefghijklmnop"));
        assert!(matches!(
            ApiKey::parse("sk_test_abc def"),
            Err(KeyError::Malformed { .. })
        ));
        assert!(matches!(
            ApiKey::parse("sk_test_"),
            Err(KeyError::UnknownPrefix { .. })
        ));
    }

    #[test]
    fn from_env_when_no_file_is_given() {
        // The only test in the crate that touches STRIPE_API_KEY.
        std::env::set_var(API_KEY_ENV, format!("{KEY}\n"));
        let k = ApiKey::from_sources(None).unwrap();
        assert_eq!(k.expose(), KEY);
        std::env::remove_var(API_KEY_ENV);
        let missing = ApiKey::from_sources(None).unwrap_err();
        assert!(matches!(missing, KeyError::Missing));
        assert!(missing.to_string().contains("STRIPE_API_KEY"));
    }

    #[test]
    fn from_file_reads_and_trims() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{KEY}\n")).unwrap();
        let k = ApiKey::from_sources(Some(&path)).unwrap();
        assert_eq!(k.expose(), KEY);
        let missing = ApiKey::from_sources(Some(&dir.path().join("nope"))).unwrap_err();
        assert!(matches!(missing, KeyError::File { .. }));
        let huge = dir.path().join("huge");
        std::fs::write(&huge, vec![b'k'; 5000]).unwrap();
        let refused = ApiKey::from_sources(Some(&huge)).map(|_| ()).unwrap_err();
        assert!(
            refused.to_string().ends_with("larger than 4096 bytes"),
            "{refused}"
        );
    }
}
