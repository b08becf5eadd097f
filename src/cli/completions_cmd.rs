//! `redactctl completions SHELL` and `redactctl man`: generated from the clap definitions,
//! so they never drift from the real options.

use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs};
use super::Exit;

pub fn completions(args: &CompletionsArgs) -> Exit {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "redactctl", &mut std::io::stdout());
    Exit::Ok
}

pub fn man() -> Exit {
    let cmd = Cli::command();
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
        eprintln!("error: cannot render the man page: {e}");
        return Exit::Error;
    }
    use std::io::Write;
    match std::io::stdout().write_all(&out) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Error
        }
    }
}
