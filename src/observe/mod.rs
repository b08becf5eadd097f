//! Reads one `Live` snapshot from Stripe for a set of desired entries.

pub mod live;

pub use live::Live;
