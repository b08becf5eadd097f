//! Manifests: the YAML model, loading files, directories and multi-document YAML with
//! source locations, merging `account`/`defaults`, and the checks `validate` runs.

pub mod desired;

pub use desired::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
