//! `redactctl find`: reads an e-mail address from a file, standard input or a prompt
//! (never from the command line, which lands in shell history and process lists), looks
//! it up, prints what was found, and with `--write` writes the manifest entry.

use std::io::{BufRead, IsTerminal, Read, Write as _};
use std::path::PathBuf;

use clap::Args;

use super::args::GlobalArgs;
use super::view::{CliEvents, Progress};
use super::{block_on, CommandResult, Exit};
use crate::find::{self, Identifier};
use crate::ops::find::{FindRequest, WriteEntry};
use crate::ops::{self, OpsError};

/// Longest input read for the address.
const MAX_INPUT: u64 = 4096;

#[derive(Debug, Args)]
pub struct FindArgs {
    /// Read the e-mail address from this file. Without it: standard input, or a prompt on
    /// a terminal. The address is never a command-line argument.
    #[arg(long, value_name = "PATH")]
    pub from_file: Option<PathBuf>,
    /// Write the entry to this manifest file (appended when it exists).
    #[arg(long, value_name = "FILE", requires = "ticket")]
    pub write: Option<PathBuf>,
    /// The request's ticket (e.g. DSR-200): the entry is named after it.
    #[arg(long, value_name = "TICKET", requires = "write")]
    pub ticket: Option<String>,
    /// When the request was received (YYYY-MM-DD; default: today, UTC).
    #[arg(long, value_name = "DATE", requires = "write")]
    pub received: Option<String>,
}

pub fn run(global: &GlobalArgs, args: &FindArgs) -> CommandResult {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let write = match (&args.write, &args.ticket) {
        (Some(path), Some(ticket)) => Some(WriteEntry {
            path: path.clone(),
            ticket: ticket.clone(),
            received: args
                .received
                .clone()
                .unwrap_or_else(|| now[..10].to_string()),
        }),
        _ => None,
    };
    // Bad input is refused before anything is read or sent.
    if let Some(w) = &write {
        ops::find::check_write(w)?;
    }
    let identifier = read_identifier(args)?;
    let session = super::session(global);
    let events = CliEvents::new(global, false, Progress::Quiet);
    let request = FindRequest {
        identifier,
        write,
        now,
    };
    let outcome = block_on(ops::find::find(&session, request, &events))??;
    print!("{}", find::render_human(&outcome.found));
    if outcome.found.is_empty() {
        eprintln!("No match: nothing was written. Check the address, or look in the Dashboard.");
        return Ok(Exit::NoMatch);
    }
    if let Some((name, path)) = &outcome.written {
        println!(
            "\nWrote entry `{name}` to {}. Next: review it, then `redactctl plan {}`.",
            path.display(),
            path.display()
        );
    }
    Ok(Exit::Ok)
}

/// The address, from `--from-file`, a prompt on a terminal, or standard input.
fn read_identifier(args: &FindArgs) -> Result<Identifier, OpsError> {
    let mut text = String::new();
    match &args.from_file {
        Some(p) => {
            std::fs::File::open(p)
                .and_then(|f| f.take(MAX_INPUT).read_to_string(&mut text))
                .map_err(|source| OpsError::ReadFile {
                    path: p.clone(),
                    source,
                })?;
        }
        None if std::io::stdin().is_terminal() => {
            eprint!("E-mail address to look up: ");
            let _ = std::io::stderr().flush();
            std::io::stdin()
                .lock()
                .take(MAX_INPUT)
                .read_line(&mut text)
                .map_err(|source| OpsError::ReadFile {
                    path: PathBuf::from("<terminal>"),
                    source,
                })?;
        }
        None => {
            std::io::stdin()
                .take(MAX_INPUT)
                .read_to_string(&mut text)
                .map_err(|source| OpsError::ReadFile {
                    path: PathBuf::from("<standard input>"),
                    source,
                })?;
        }
    }
    Identifier::parse(&text).map_err(OpsError::FindInput)
}
