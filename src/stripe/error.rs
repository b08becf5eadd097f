//! The client's one error type. Every variant that followed a response names the HTTP status
//! and Stripe's `Request-Id`, which is what Stripe support asks for.

use std::fmt::Write as _;

use super::key::KeyError;

/// A request that did not succeed (after retries, where retrying was allowed).
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error body (`{"error": {...}}`).
    #[error("{}", describe_api(*status, kind, code.as_deref(), param.as_deref(), message, request_id.as_deref()))]
    Api {
        status: u16,
        /// Stripe's `type`: `invalid_request_error`, `api_error`, `idempotency_error`…
        kind: String,
        code: Option<String>,
        param: Option<String>,
        message: String,
        request_id: Option<String>,
    },
    /// No usable response after every attempt: connection refused or dropped, timeouts.
    #[error("cannot reach Stripe after {attempts} attempt(s): {message}")]
    Network { message: String, attempts: u32 },
    /// A response that is not the JSON it should be (an HTML error page, truncated JSON).
    #[error("{}", describe_decode(*status, message, request_id.as_deref()))]
    Decode {
        status: u16,
        message: String,
        request_id: Option<String>,
    },
    /// The client cannot be built (bad base URL, bad header value).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The API key could not be read.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The server answered something no Stripe server would, and following it could go on
    /// forever or exhaust memory: a list whose cursor does not advance, a body over the
    /// size limit. Not retried.
    #[error("refusing the server's answer to {route}: {message}")]
    Hostile { route: String, message: String },
    /// The caller asked for something Stripe would refuse; nothing was sent.
    #[error("invalid request (not sent): {0}")]
    InvalidRequest(String),
    /// A create whose outcome is unknown: the last answer was a 5xx or no answer at all,
    /// and Stripe may have made the job before failing. Retrying under the same key cannot
    /// tell (Stripe saves a 500 that came after the write and replays it, with
    /// `Stripe-Should-Retry: false`); retrying under a fresh key blind could make a second
    /// job. The caller must look first (list the jobs) and adopt the job if it is there.
    #[error("the outcome of {route} is unknown: Stripe may have carried it out; look before retrying under a new key ({cause})")]
    OutcomeUnknown {
        route: String,
        /// The last answer (a 5xx) or the network failure; in the message, not a
        /// `source`, so that a renderer of causes does not print it twice.
        cause: Box<StripeError>,
    },
}

impl StripeError {
    /// The HTTP status of the final response, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            StripeError::OutcomeUnknown { cause, .. } => cause.status(),
            StripeError::Api { status, .. } | StripeError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Stripe's `Request-Id` of the final response, when there was one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            StripeError::Api { request_id, .. } | StripeError::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            StripeError::OutcomeUnknown { cause, .. } => cause.request_id(),
            _ => None,
        }
    }

    /// Stripe's error `code` (`resource_missing`, `rate_limit`…), when given.
    pub fn code(&self) -> Option<&str> {
        match self {
            StripeError::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether a write may or may not have been carried out (see
    /// [`StripeError::OutcomeUnknown`]): the caller must observe before a retry under a
    /// fresh idempotency key.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, StripeError::OutcomeUnknown { .. })
    }

    /// Whether the object asked for does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

fn describe_api(
    status: u16,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
    request_id: Option<&str>,
) -> String {
    let mut s = format!("Stripe error (HTTP {status}");
    if !kind.is_empty() {
        let _ = write!(s, ", {kind}");
    }
    if let Some(code) = code {
        let _ = write!(s, ", code {code}");
    }
    if let Some(param) = param {
        let _ = write!(s, ", param {param}");
    }
    let _ = write!(s, "): {message}");
    push_request_id(&mut s, request_id);
    s
}

fn describe_decode(status: u16, message: &str, request_id: Option<&str>) -> String {
    let mut s = format!("unexpected response from Stripe (HTTP {status}): {message}");
    push_request_id(&mut s, request_id);
    s
}

fn push_request_id(s: &mut String, request_id: Option<&str>) {
    match request_id {
        Some(id) => {
            let _ = write!(s, " [request {id}]");
        }
        None => s.push_str(" [no request id]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_is_one_line_naming_everything() {
        let e = StripeError::Api {
            status: 400,
            kind: "invalid_request_error".into(),
            code: Some("parameter_missing".into()),
            param: Some("objects".into()),
            message: "Missing required param: objects.".into(),
            request_id: Some("req_123".into()),
        };
        assert_eq!(
            e.to_string(),
            "Stripe error (HTTP 400, invalid_request_error, code parameter_missing, param objects): Missing required param: objects. [request req_123]"
        );
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.request_id(), Some("req_123"));
        assert_eq!(e.code(), Some("parameter_missing"));
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn an_unknown_outcome_keeps_the_answer_it_came_from() {
        let e = StripeError::OutcomeUnknown {
            route: "POST /v1/privacy/redaction_jobs".into(),
            cause: Box::new(StripeError::Api {
                status: 500,
                kind: "api_error".into(),
                code: None,
                param: None,
                message: "An unknown error occurred".into(),
                request_id: Some("req_500".into()),
            }),
        };
        assert!(e.is_outcome_unknown());
        assert_eq!(e.status(), Some(500), "the audit log records the 500");
        assert_eq!(e.request_id(), Some("req_500"));
        assert!(e.to_string().contains("may have carried it out"), "{e}");
        assert!(e.to_string().contains("req_500"), "{e}");
        assert!(!StripeError::InvalidRequest("x".into()).is_outcome_unknown());
    }

    #[test]
    fn decode_and_network_errors_say_what_happened() {
        let e = StripeError::Decode {
            status: 502,
            message: "body is not JSON".into(),
            request_id: None,
        };
        assert_eq!(
            e.to_string(),
            "unexpected response from Stripe (HTTP 502): body is not JSON [no request id]"
        );
        let n = StripeError::Network {
            message: "connection refused".into(),
            attempts: 3,
        };
        assert_eq!(n.status(), None);
        assert!(n.to_string().contains("3 attempt(s)"));
    }
}
