//! `redactctl emulator serve`: runs the Stripe-compatible emulator until Ctrl-C or
//! SIGTERM, then stops cleanly and writes the state file one last time.

use super::args::{EmulatorCommand, EmulatorServeArgs, UnknownObjectsArg};
use super::Exit;
use crate::emulator::{
    spawn, Clock, Config, EmulatorError, Fixtures, UnknownObjects, WebhookTarget,
};

/// Why `emulator serve` cannot start.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error(
        "--webhook-url needs the endpoint secret in the STRIPE_WEBHOOK_SECRET environment variable"
    )]
    WebhookSecretMissing,
    #[error("{flag} must be between 0 and 1, not {rate}")]
    RateOutOfRange { flag: &'static str, rate: f64 },
}

/// Runs an `emulator` subcommand.
pub fn run(cmd: EmulatorCommand) -> Exit {
    match cmd {
        EmulatorCommand::Serve(args) => serve(&args),
        // Dispatched by `cli::run`, which knows the global `--local`.
        EmulatorCommand::Reset => super::emulator_reset(false).unwrap_or(Exit::Error),
    }
}

fn serve(args: &EmulatorServeArgs) -> Exit {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Error;
        }
    };
    match runtime.block_on(serve_async(args)) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Error
        }
    }
}

/// The configuration the flags describe (reads fixtures and the webhook secret).
fn config_from_args(
    args: &EmulatorServeArgs,
    webhook_secret: Option<String>,
) -> Result<Config, ServeError> {
    let fixtures = match &args.fixtures {
        Some(path) => Some(Fixtures::load(path)?),
        None => None,
    };
    let webhook = match &args.webhook_url {
        Some(url) => {
            let secret = webhook_secret
                .filter(|s| !s.is_empty())
                .ok_or(ServeError::WebhookSecretMissing)?;
            Some(WebhookTarget {
                url: url.clone(),
                secret,
            })
        }
        None => None,
    };
    for (name, rate) in [
        ("--fail-rate", args.fail_rate),
        ("--drop-rate", args.drop_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(ServeError::RateOutOfRange { flag: name, rate });
        }
    }
    Ok(Config {
        validation_delay: args.validation_delay,
        redaction_delay: args.redaction_delay,
        cancel_delay: args.cancel_delay,
        session_redaction_delay: args.session_redaction_delay,
        latency: args.latency,
        rate_limit: args.rate_limit,
        endpoint_rate_limit: args.endpoint_rate_limit,
        fail_rate: args.fail_rate,
        drop_rate: args.drop_rate,
        seed: args.seed,
        fixtures,
        state_file: args.state.clone(),
        webhook,
        account_id: args.account_id.clone(),
        clock: match args.now {
            Some(t) => Clock::starting_at(t),
            None => Clock::system(),
        },
        unknown_objects: match args.unknown_objects {
            UnknownObjectsArg::Missing => UnknownObjects::Missing,
            UnknownObjectsArg::Exist => UnknownObjects::Exist,
        },
        max_related_objects: args.max_related_objects,
    })
}

async fn serve_async(args: &EmulatorServeArgs) -> Result<(), ServeError> {
    let config = config_from_args(args, std::env::var("STRIPE_WEBHOOK_SECRET").ok())?;
    let emu = spawn(config, args.addr).await?;
    // Listen for the signals before saying where we listen: a supervisor that stops us as
    // soon as it reads that line must get a clean shutdown, not the default kill.
    let stop = stop_signal();
    eprintln!(
        "emulator listening on {} (test keys: sk_test_…, live keys: sk_live_…)",
        emu.base_url()
    );
    if let Some(state) = &args.state {
        eprintln!("emulator state: {}", state.display());
    }
    stop.await;
    eprintln!("emulator: shutting down");
    emu.shutdown().await;
    Ok(())
}

/// Registers for Ctrl-C and (on Unix) SIGTERM now, and returns a future that ends when one
/// arrives.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    fn serve_args(extra: &[&str]) -> EmulatorServeArgs {
        let mut argv = vec!["redactctl", "emulator", "serve"];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            Command::Emulator(EmulatorCommand::Serve(a)) => a,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn every_flag_reaches_the_config() {
        let a = serve_args(&[
            "--validation-delay",
            "3s",
            "--redaction-delay",
            "1m",
            "--cancel-delay",
            "2s",
            "--session-redaction-delay",
            "4s",
            "--latency",
            "10ms",
            "--rate-limit",
            "25",
            "--endpoint-rate-limit",
            "20",
            "--fail-rate",
            "0.1",
            "--drop-rate",
            "0.05",
            "--seed",
            "9",
            "--account-id",
            "acct_X",
            "--unknown-objects=exist",
            "--max-related-objects",
            "50",
            "--now",
            "2026-01-01T00:00:00Z",
        ]);
        let c = config_from_args(&a, None).unwrap();
        assert_eq!(c.validation_delay, std::time::Duration::from_secs(3));
        assert_eq!(c.redaction_delay, std::time::Duration::from_secs(60));
        assert_eq!(c.cancel_delay, std::time::Duration::from_secs(2));
        assert_eq!(c.session_redaction_delay, std::time::Duration::from_secs(4));
        assert_eq!(c.latency, std::time::Duration::from_millis(10));
        assert_eq!((c.rate_limit, c.endpoint_rate_limit), (25, 20));
        assert_eq!((c.fail_rate, c.drop_rate, c.seed), (0.1, 0.05, 9));
        assert_eq!(c.account_id.as_deref(), Some("acct_X"));
        assert_eq!(c.unknown_objects, UnknownObjects::Exist);
        assert_eq!(c.max_related_objects, 50);
        assert!((c.clock.now() - 1_767_225_600).abs() < 60);
        let strict = config_from_args(&serve_args(&[]), None).unwrap();
        assert_eq!(strict.unknown_objects, UnknownObjects::Missing);
    }

    #[test]
    fn webhook_needs_a_secret_and_rates_are_fractions() {
        let a = serve_args(&["--webhook-url", "http://127.0.0.1:9/hook"]);
        assert!(config_from_args(&a, None)
            .unwrap_err()
            .to_string()
            .contains("STRIPE_WEBHOOK_SECRET"));
        let c = config_from_args(&a, Some("whsec_1".into())).unwrap();
        assert_eq!(c.webhook.unwrap().secret, "whsec_1");
        let a = serve_args(&["--fail-rate", "1.5"]);
        assert!(config_from_args(&a, None).is_err());
    }

    #[test]
    fn bad_fixtures_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yaml");
        std::fs::write(&path, "objects: [{id: cus_1, colour: red}]").unwrap();
        let a = serve_args(&["--fixtures", path.to_str().unwrap()]);
        let e = config_from_args(&a, None).unwrap_err().to_string();
        assert!(e.contains("f.yaml") && e.contains("colour"), "{e}");
    }
}
