//! What the fuzz suites share: how many inputs a test tries, and its seed.
//!
//! `cargo test` runs a modest count so that the suite stays quick; set `FUZZ_CASES=25000`
//! (or more) for a long run, and `FUZZ_SEED=<u64>` to explore other inputs. A failure prints
//! the seed, the case number and the input.

/// Inputs per fuzz test: `FUZZ_CASES`, or 2,000.
pub fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n >= 100)
        .unwrap_or(2_000)
}

/// The seed of one test: its own fixed seed, mixed with `FUZZ_SEED` when set (so the
/// tests of a file stay different from each other). A failure prints both.
pub fn seed(default: u64) -> u64 {
    default ^ fuzz_seed().unwrap_or(0)
}

/// `FUZZ_SEED`, when set.
pub fn fuzz_seed() -> Option<u64> {
    std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok())
}
