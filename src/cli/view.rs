//! The CLI's side of the ops events: manifest warnings and notes on stderr, the plan on
//! stdout before approval, apply progress through the reporter chosen once per run.

use std::io::IsTerminal;

use super::args::GlobalArgs;
use super::color;
use crate::apply::approval;
use crate::apply::progress::{PlainReporter, QuietReporter, Reporter, TerminalReporter};
use crate::manifest::{render_diagnostics, Diagnostic};
use crate::ops::apply::{PromptAnswer, Prompter};
use crate::ops::Events;
use crate::plan::{self, Plan};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing.
    Quiet,
    /// One plain line per state change.
    Plain,
    /// Bars and spinners on a terminal, plain lines otherwise.
    Auto,
}

/// Prints what a use case reports.
pub struct CliEvents {
    quiet: bool,
    stderr_color: bool,
    stdout_color: bool,
    show_plan: bool,
    reporter: Box<dyn Reporter>,
}

impl CliEvents {
    pub fn new(global: &GlobalArgs, show_plan: bool, progress: Progress) -> CliEvents {
        let reporter: Box<dyn Reporter> = match progress {
            Progress::Quiet => Box::new(QuietReporter),
            _ if global.quiet => Box::new(QuietReporter),
            Progress::Auto if std::io::stderr().is_terminal() => {
                Box::new(TerminalReporter::default())
            }
            Progress::Plain | Progress::Auto => Box::new(PlainReporter::default()),
        };
        CliEvents {
            quiet: global.quiet,
            stderr_color: color::stderr_enabled(global.color),
            stdout_color: color::stdout_enabled(global.color),
            show_plan,
            reporter,
        }
    }
}

impl Events for CliEvents {
    fn manifest_warnings(&self, warnings: &[Diagnostic]) {
        if !self.quiet {
            eprint!("{}", render_diagnostics(warnings, self.stderr_color));
        }
    }

    fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    fn plan_ready(&self, the_plan: &Plan) {
        if self.show_plan && !self.quiet {
            print!("{}", plan::render_human(the_plan, self.stdout_color));
        }
    }

    fn progress(&self) -> &dyn Reporter {
        self.reporter.as_ref()
    }
}

/// Asks on the terminal: only `yes` approves.
pub struct TerminalPrompt;

impl Prompter for TerminalPrompt {
    fn ask(&self) -> PromptAnswer {
        match approval::ask(false) {
            approval::Approval::Approved => PromptAnswer::Yes,
            approval::Approval::Declined => PromptAnswer::No,
            approval::Approval::NoTerminal => PromptAnswer::NoTerminal,
        }
    }
}
