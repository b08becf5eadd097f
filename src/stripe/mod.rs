//! The only code that talks to Stripe: models, form encoding, auth, retries, rate limits.

pub mod models;

/// The preview Stripe-Version redaction jobs need (the SDKs of that date send it).
pub const DEFAULT_STRIPE_VERSION: &str = "2026-09-30.preview";
