//! redactctl: declarative plan/apply for Stripe redaction jobs.
//!
//! Data flows one way: `manifest` → `Desired`; `stripe` + `observe` → `Live`;
//! `plan::plan(&Desired, &Live, &Options)` → `Plan` (pure); `apply` executes a plan
//! through the `stripe` client and records every write in the audit log. `emulator` is a
//! Stripe-compatible server used by tests, benchmarks and `--local`.

pub mod apply;
pub mod cli;
pub mod deadline;
pub mod domain;
pub mod emulator;
pub mod find;
pub mod io_limits;
pub mod kinds;
pub mod manifest;
pub mod observe;
pub mod ops;
pub mod plan;
pub mod reconcile;
pub mod report;
pub mod stripe;
