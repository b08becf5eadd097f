//! SIGINT/SIGTERM during apply. The first signal asks the convergence loop to start no new
//! write, let the requests in flight finish (their audit records are written as usual) and
//! end with a summary of what was done and what remains; a second signal exits at once.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;

use tokio::sync::Notify;

/// The first signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Whether writes may be under way (converge started). Before that nothing was sent, so a
/// signal (at the prompt, while observing) exits at once.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Called when the convergence loop starts: from now on a first signal stops it gently.
pub fn arm() {
    ARMED.store(true, Ordering::SeqCst);
}

fn notify() -> &'static Notify {
    static NOTIFY: OnceLock<Notify> = OnceLock::new();
    NOTIFY.get_or_init(Notify::new)
}

/// SIGINT's number (the exit code is 128 + it).
pub const SIGINT: i32 = 2;
/// SIGTERM's number.
pub const SIGTERM: i32 = 15;

/// The signal that asked apply to stop, if any.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// Resolves once a stop was requested (at once if it already was).
pub async fn wait() {
    loop {
        if requested().is_some() {
            return;
        }
        notify().notified().await;
    }
}

/// Records a stop request; a second one exits the process at once (128 + signal).
pub fn request(signal: i32) {
    if !ARMED.load(Ordering::SeqCst) {
        std::process::exit(128 + signal);
    }
    if SIGNAL
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        std::process::exit(128 + signal);
    }
    notify().notify_one();
}

/// Listens for SIGINT and SIGTERM for the rest of the process (inside a tokio runtime).
/// Without the handlers (they cannot be installed) the default behaviour stays.
#[cfg(unix)]
pub fn install() {
    use tokio::signal::unix::{signal, SignalKind};
    for (kind, number) in [
        (SignalKind::interrupt(), SIGINT),
        (SignalKind::terminate(), SIGTERM),
    ] {
        if let Ok(mut stream) = signal(kind) {
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    request(number);
                }
            });
        }
    }
}

/// Signals are only handled on unix.
#[cfg(not(unix))]
pub fn install() {}
