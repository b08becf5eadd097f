//! Progress while applying, on stderr: on a terminal an indicatif bar for the actions and a
//! spinner per waiting entry; without one (CI), one plain line per state change.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::execute::ActionResult;
use crate::plan::Action;

/// Receives apply's events. Implementations must not block for long.
pub trait Reporter: Send + Sync {
    /// A batch of `n` actions is about to run.
    fn batch(&self, n: usize);
    fn action_started(&self, action: &Action);
    fn action_finished(&self, action: &Action, result: &ActionResult);
    /// An entry's state as last observed (`waiting: validating`, `converged`…); reported
    /// only when it changes.
    fn entry_state(&self, entry: &str, state: &str);
    /// Anything else worth a line.
    fn note(&self, message: &str);
    /// Apply is done: clear bars and spinners.
    fn finish(&self);
}

/// Describes an action in one line: `dsr-1: run prj_123`.
pub fn describe(action: &Action) -> String {
    let what = action
        .job
        .as_deref()
        .or(action.session.as_deref())
        .map(str::to_string)
        .unwrap_or_else(|| {
            let ids: Vec<&str> = action.objects.iter().map(|o| o.id.as_str()).collect();
            format!("job for {}", ids.join(", "))
        });
    match &action.entry {
        Some(entry) => format!("{entry}: {} {what}", action.op.as_str()),
        None => format!("(unmanaged): {} {what}", action.op.as_str()),
    }
}

fn describe_result(result: &ActionResult) -> String {
    match result {
        ActionResult::Done {
            target,
            status,
            replayed,
        } => {
            let mut s = String::from("done");
            if let Some(t) = target {
                s.push_str(&format!(" → {t}"));
            }
            if let Some(st) = status {
                s.push_str(&format!(" ({st})"));
            }
            if *replayed {
                s.push_str(" [replayed]");
            }
            s
        }
        ActionResult::Skipped(why) => format!("skipped: {why}"),
        ActionResult::Failed(why) => format!("FAILED: {why}"),
    }
}

/// One plain line per state change (CI logs).
#[derive(Default)]
pub struct PlainReporter {
    states: Mutex<BTreeMap<String, String>>,
}

impl Reporter for PlainReporter {
    fn batch(&self, _n: usize) {}
    fn action_started(&self, _action: &Action) {}
    fn action_finished(&self, action: &Action, result: &ActionResult) {
        eprintln!("{}: {}", describe(action), describe_result(result));
    }
    fn entry_state(&self, entry: &str, state: &str) {
        if let Ok(mut states) = self.states.lock() {
            if states.get(entry).map(String::as_str) != Some(state) {
                states.insert(entry.to_string(), state.to_string());
                eprintln!("{entry}: {state}");
            }
        }
    }
    fn note(&self, message: &str) {
        eprintln!("{message}");
    }
    fn finish(&self) {}
}

/// Bars and spinners for a person at a terminal.
pub struct TerminalReporter {
    multi: MultiProgress,
    bar: Mutex<Option<ProgressBar>>,
    spinners: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Default for TerminalReporter {
    fn default() -> Self {
        TerminalReporter {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bar: Mutex::new(None),
            spinners: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Reporter for TerminalReporter {
    fn batch(&self, n: usize) {
        let bar = self.multi.add(ProgressBar::new(n as u64));
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} actions {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        }
    }
    fn action_started(&self, action: &Action) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                // Follow-ups a re-plan brings (or retries) extend the bar.
                if bar.length().is_some_and(|len| bar.position() >= len) {
                    bar.inc_length(1);
                }
                bar.set_message(describe(action));
            }
        }
    }
    fn action_finished(&self, action: &Action, result: &ActionResult) {
        let _ = self
            .multi
            .println(format!("{}: {}", describe(action), describe_result(result)));
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(1);
            }
        }
    }
    fn entry_state(&self, entry: &str, state: &str) {
        let Ok(mut spinners) = self.spinners.lock() else {
            return;
        };
        let done = state == "converged" || state.starts_with("blocked");
        let spinner = spinners.entry(entry.to_string()).or_insert_with(|| {
            let s = self.multi.add(ProgressBar::new_spinner());
            s.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            s.set_prefix(entry.to_string());
            s.enable_steady_tick(Duration::from_millis(120));
            s
        });
        if done {
            spinner.finish_with_message(state.to_string());
        } else {
            spinner.set_message(state.to_string());
        }
    }
    fn note(&self, message: &str) {
        let _ = self.multi.println(message);
    }
    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
        if let Ok(mut spinners) = self.spinners.lock() {
            for (_, s) in std::mem::take(&mut *spinners) {
                s.finish();
            }
        }
    }
}

/// Hides every event (`-q`).
pub struct QuietReporter;

impl Reporter for QuietReporter {
    fn batch(&self, _n: usize) {}
    fn action_started(&self, _action: &Action) {}
    fn action_finished(&self, _action: &Action, _result: &ActionResult) {}
    fn entry_state(&self, _entry: &str, _state: &str) {}
    fn note(&self, _message: &str) {}
    fn finish(&self) {}
}
