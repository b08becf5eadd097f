//! Logging through `tracing` to stderr; `RUST_LOG` wins over `-v`/`-q`.

use tracing_subscriber::EnvFilter;

use super::args::GlobalArgs;

/// Installs the global subscriber. Safe to call once per process.
pub fn init(global: &GlobalArgs) {
    let default = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "redactctl=info,warn",
            2 => "redactctl=debug,info",
            _ => "redactctl=trace,debug",
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = super::color::stderr_enabled(global.color);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
