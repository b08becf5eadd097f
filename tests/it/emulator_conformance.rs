//! Conformance of the emulator with Stripe's documented behaviour, driven with raw HTTP
//! (a plain `reqwest` client, not the project's Stripe client). Each test pins one rule
//! where an earlier emulator was kinder than Stripe.

use redactctl::emulator::kinds::Kind;
use redactctl::kinds::ObjectKind;

/// The emulator keeps its own table of kinds (an oracle must not share what it checks);
/// this is where the two tables are compared.
#[test]
fn the_emulator_kinds_table_agrees_with_the_clients() {
    assert_eq!(Kind::ALL.len(), ObjectKind::ALL.len());
    for (ours, theirs) in Kind::ALL.into_iter().zip(ObjectKind::ALL) {
        assert_eq!(ours.wire_name(), theirs.as_str());
        assert_eq!(ours.prefixes(), theirs.prefixes(), "{ours}");
        assert_eq!(theirs.as_str().parse::<Kind>(), Ok(ours));
    }
}
