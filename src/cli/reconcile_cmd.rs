//! `redactctl reconcile`: plan and apply in a loop, level-triggered. Each pass re-reads the
//! manifests and the whole live state, applies with the same guards as `apply`, and prints
//! one JSON line. Passes never overlap; SIGTERM or Ctrl-C ends the loop after the current
//! pass; a verified webhook starts the next pass early.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

use super::args::{GlobalArgs, ReconcileArgs};
use super::connect::{self, Connection};
use super::{prepare, CommandResult, Exit};
use crate::apply::audit::{now_rfc3339, AuditLog};
use crate::apply::execute::{ActionResult, Target};
use crate::apply::progress::{PlainReporter, QuietReporter, Reporter};
use crate::apply::{self, guards, ApplyOptions};
use crate::manifest::AccountSpec;
use crate::observe::observe;
use crate::plan::{self, Outcome};
use crate::reconcile::{listener, PassLine};

pub fn run(global: &GlobalArgs, args: &ReconcileArgs) -> CommandResult {
    if !args.auto_approve {
        return Err("reconcile applies without asking; pass --auto-approve to confirm that every pass may apply what the manifests say".into());
    }
    let secret = match args.listen {
        Some(_) => match std::env::var("STRIPE_WEBHOOK_SECRET") {
            Ok(s) if !s.trim().is_empty() => Some(s.trim().as_bytes().to_vec()),
            _ => {
                return Err(
                    "--listen needs the webhook signing secret in STRIPE_WEBHOOK_SECRET".into(),
                )
            }
        },
        None => None,
    };
    let first = prepare::load_manifests(global, &args.paths)?;
    prepare::block_on(async move {
        let account = first.account.clone();
        let key = connect::key_for(global, &account)?;
        guards::check_mode(key.mode(), &account).map_err(|e| e.to_string())?;
        let conn = connect::connect(global, key, &account).await?;
        let result = serve_passes(global, args, &conn, &account, secret).await;
        conn.close().await;
        result
    })
}

/// The loop itself: passes until SIGTERM or Ctrl-C, early on verified webhooks.
async fn serve_passes(
    global: &GlobalArgs,
    args: &ReconcileArgs,
    conn: &Connection,
    account: &AccountSpec,
    secret: Option<Vec<u8>>,
) -> CommandResult {
    let audit = Mutex::new(AuditLog::open(&args.audit_log).map_err(|e| e.to_string())?);
    let stopping = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(Notify::new());
    spawn_signal_watch(stopping.clone(), stop.clone());
    let trigger = Arc::new(Notify::new());
    if let (Some(addr), Some(secret)) = (args.listen, secret) {
        let stop_listener = stop.clone();
        let stopping_listener = stopping.clone();
        let shutdown = async move {
            while !stopping_listener.load(Ordering::SeqCst) {
                stop_listener.notified().await;
            }
        };
        let (bound, _task) = listener::serve(addr, secret, trigger.clone(), shutdown)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        eprintln!("reconcile: listening for Stripe webhooks on http://{bound}");
    }
    let mut cause = "start";
    let mut pass = 0u64;
    loop {
        pass += 1;
        let line = run_pass(global, args, conn, account, &audit, pass, cause).await;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", serde_json::to_string(&line).unwrap_or_default());
        let _ = out.flush();
        drop(out);
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        cause = tokio::select! {
            _ = tokio::time::sleep(args.interval) => "interval",
            _ = trigger.notified() => "webhook",
            _ = stop.notified() => "stop",
        };
        if cause == "stop" || stopping.load(Ordering::SeqCst) {
            break;
        }
    }
    eprintln!("reconcile: stopped after {pass} passes");
    Ok(Exit::Ok)
}

/// Sets `stopping` and wakes the loop on SIGTERM or Ctrl-C.
fn spawn_signal_watch(stopping: Arc<AtomicBool>, stop: Arc<Notify>) {
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
        stopping.store(true, Ordering::SeqCst);
        stop.notify_waiters();
        stop.notify_one();
    });
}

async fn run_pass(
    global: &GlobalArgs,
    args: &ReconcileArgs,
    conn: &Connection,
    account: &AccountSpec,
    audit: &Mutex<AuditLog>,
    pass: u64,
    cause: &str,
) -> PassLine {
    let started = Instant::now();
    let mut line = PassLine {
        pass,
        time: now_rfc3339(),
        trigger: cause.to_string(),
        ..PassLine::default()
    };
    let result = pass_inner(global, args, conn, account, audit, &mut line).await;
    if let Err(e) = result {
        line.error = Some(e);
    }
    line.duration_ms = started.elapsed().as_millis() as u64;
    line
}

async fn pass_inner(
    global: &GlobalArgs,
    args: &ReconcileArgs,
    conn: &Connection,
    account: &AccountSpec,
    audit: &Mutex<AuditLog>,
    line: &mut PassLine,
) -> Result<(), String> {
    let desired = prepare::load_manifests(global, &args.paths)
        .map_err(|_| "the manifests have errors (printed above); pass skipped".to_string())?;
    if &desired.account != account {
        return Err(
            "`account` changed since reconcile started; restart it to use the new account".into(),
        );
    }
    let observe_opts = prepare::observe_options(false, global.local);
    let live = observe(&conn.client, &desired, &observe_opts)
        .await
        .map_err(|e| e.to_string())?;
    guards::check_account(live.account.as_ref(), account).map_err(|e| e.to_string())?;
    let options = plan::Options::default();
    let approved = plan::plan(&desired, &live, &options);
    let irreversible = approved.actions.iter().filter(|a| a.irreversible).count();
    guards::check_irreversible(irreversible, args.max_irreversible).map_err(|e| e.to_string())?;
    let target = Target {
        account: live
            .account
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_default(),
        mode: conn.key_mode,
    };
    let opts = ApplyOptions {
        parallelism: 8,
        wait: None,
        planning: options,
        observe: observe_opts,
    };
    let reporter: Box<dyn Reporter> = if global.verbose > 0 {
        Box::new(PlainReporter::default())
    } else {
        Box::new(QuietReporter)
    };
    let report = apply::converge(
        &conn.client,
        &target,
        &desired,
        &approved,
        &opts,
        audit,
        reporter.as_ref(),
    )
    .await
    .map_err(|e| e.to_string())?;
    line.entries = report.last.entries.len();
    for e in &report.last.entries {
        match e.outcome {
            Outcome::Converged => line.converged += 1,
            Outcome::Waiting | Outcome::Changes => line.waiting += 1,
            Outcome::Blocked => line.blocked += 1,
        }
    }
    line.actions = report.performed.len();
    line.failed = report
        .performed
        .iter()
        .filter(|(_, r)| matches!(r, ActionResult::Failed(_)))
        .count();
    line.not_approved = report.not_approved.len();
    Ok(())
}
