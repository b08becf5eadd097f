//! The only code that talks to Stripe: models, form encoding, auth, retries, rate limits.

pub mod client;
pub mod encode;
pub mod error;
pub mod key;
pub mod limiter;
pub mod lookup;
pub mod models;
pub mod objects;
pub mod paging;
pub mod retry;

pub use client::{Client, ClientConfig, Sent, PAGE_SIZE};
pub use encode::ListQuery;
pub use error::StripeError;
pub use key::{ApiKey, KeyError};
pub use retry::RetryPolicy;

/// The preview Stripe-Version redaction jobs need (the SDKs of that date send it).
pub const DEFAULT_STRIPE_VERSION: &str = "2026-09-30.preview";
