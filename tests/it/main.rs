//! The integration tests: one binary (one link), one module per area. Tests that need a
//! server start the emulator in-process on `127.0.0.1:0`; nothing reaches the network.

mod apply_flow;
mod apply_guide;
mod bad_environment;
mod client_emulator;
mod client_logs;
mod client_permits;
mod client_scripted;
mod common;
mod emulator_cli;
mod emulator_http;
mod emulator_ops;
mod emulator_support;
mod fuzz_emulator_form;
mod fuzz_manifest;
mod fuzz_plan_file;
mod manifest_load;
mod manifest_props;
mod manifest_schema;
mod observe_emulator;
mod observe_scripted;
mod operations;
mod ops_reconcile;
mod plan_props;
mod plan_views;
mod quickstart;
mod receipts;
mod reconcile;
mod reliability;
mod saved_plans;
mod secrets;
mod validate_bad_input;
mod validate_examples;
mod validate_output;
mod validate_snapshot;
