//! `redactctl reconcile`: wires the library loop (`ops::reconcile`) to the outside world.
//! SIGTERM or Ctrl-C becomes a shutdown trigger (the current pass finishes), a verified
//! webhook a webhook trigger; each pass prints one JSON line on stdout.

use std::io::Write;
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use super::args::{GlobalArgs, ReconcileArgs};
use super::view::{CliEvents, Progress};
use super::{block_on, CommandResult, Exit};
use crate::ops::reconcile::{run_loop, ReconcileRequest, Reconciler, Trigger};
use crate::ops::OpsError;
use crate::reconcile::listener;

pub fn run(global: &GlobalArgs, args: &ReconcileArgs) -> CommandResult {
    if !args.auto_approve {
        return Err(OpsError::ReconcileNeedsApproval.into());
    }
    let secret = match args.listen {
        Some(_) => match std::env::var("STRIPE_WEBHOOK_SECRET") {
            Ok(s) if !s.trim().is_empty() => Some(s.trim().as_bytes().to_vec()),
            _ => return Err(OpsError::WebhookSecretMissing.into()),
        },
        None => None,
    };
    let session = super::session(global);
    let request = ReconcileRequest {
        paths: args.paths.clone(),
        max_irreversible: args.max_irreversible,
        audit_log: super::audit_log_path(global, &args.audit_log),
        no_cache: false,
        revalidate_every: Some(args.revalidate_every).filter(|d| !d.is_zero()),
    };
    let progress = if global.verbose > 0 {
        Progress::Plain
    } else {
        Progress::Quiet
    };
    let events = CliEvents::new(global, false, progress);
    block_on(async move {
        let reconciler = Reconciler::start(&session, &request, &events).await?;
        let result = serve(args, &reconciler, secret, &events).await;
        reconciler.close().await;
        result
    })?
}

async fn serve(
    args: &ReconcileArgs,
    reconciler: &Reconciler,
    secret: Option<Vec<u8>>,
    events: &CliEvents,
) -> CommandResult {
    if args.once {
        let line = reconciler.pass(1, Trigger::Start, events).await;
        println!("{}", serde_json::to_string(&line).unwrap_or_default());
        return Ok(if line.error.is_some() {
            Exit::Error
        } else {
            Exit::Ok
        });
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_signal_watch(tx.clone());
    let stop = Arc::new(Notify::new());
    if let (Some(addr), Some(secret)) = (args.listen, secret) {
        let webhook = Arc::new(Notify::new());
        let stop_listener = stop.clone();
        let shutdown = async move { stop_listener.notified().await };
        let (bound, _task) = listener::serve(addr, secret, webhook.clone(), shutdown)
            .await
            .map_err(|source| OpsError::Listen { addr, source })?;
        eprintln!("reconcile: listening for Stripe webhooks on http://{bound}");
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                webhook.notified().await;
                if tx.send(Trigger::Webhook).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let passes = run_loop(reconciler, args.interval, &mut rx, events, |line| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", serde_json::to_string(line).unwrap_or_default());
        let _ = out.flush();
    })
    .await;
    stop.notify_one();
    eprintln!("reconcile: stopped after {passes} passes");
    Ok(Exit::Ok)
}

/// Sends [`Trigger::Shutdown`] on SIGTERM or Ctrl-C.
fn spawn_signal_watch(tx: mpsc::UnboundedSender<Trigger>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        let _ = tx.send(Trigger::Shutdown);
    });
}
