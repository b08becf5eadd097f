//! `redactctl find`: reads an e-mail address from a file, standard input or a prompt
//! (never from the command line, which lands in shell history and process lists), looks
//! it up, prints what was found, and with `--write` writes the manifest entry.

use std::io::{IsTerminal, Read, Write as _};
use std::path::PathBuf;

use clap::Args;

use super::args::GlobalArgs;
use super::{connect, prepare, CommandResult, Exit};
use crate::find::{self, entry, Identifier};
use crate::manifest::AccountSpec;
use crate::stripe::models::Mode;

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
    let received = args
        .received
        .clone()
        .unwrap_or_else(|| now[..10].to_string());
    // Bad input is refused before anything is read or sent.
    if let Some(t) = &args.ticket {
        entry::entry_name(t).map_err(|e| e.to_string())?;
        entry::check_date(&received).map_err(|e| e.to_string())?;
    }
    let id = read_identifier(args)?;
    let local = AccountSpec {
        mode: Mode::Test,
        id: None,
        connected_account: None,
    };
    let key = connect::key_for(global, &local)?;
    let account = AccountSpec {
        mode: key.mode(),
        ..local
    };
    let mode = key.mode();
    let outcome = prepare::block_on(async {
        let conn = connect::connect(global, key, &account).await?;
        let result = find::lookup(&conn.client, &id, now).await;
        conn.close().await;
        result.map_err(|e| e.to_string())
    })?;
    print!("{}", find::render_human(&outcome));
    if outcome.is_empty() {
        eprintln!("No match: nothing was written. Check the address, or look in the Dashboard.");
        return Ok(Exit::NoMatch);
    }
    let (Some(path), Some(ticket)) = (&args.write, &args.ticket) else {
        return Ok(Exit::Ok);
    };
    let spec = entry::EntrySpec {
        ticket: ticket.clone(),
        received,
        looked_up_at: outcome.looked_up_at.clone(),
        routes: outcome.routes_line(),
        objects: outcome.grouped(),
    };
    let text = match std::fs::read_to_string(path) {
        Ok(existing) => entry::append(&existing, &spec, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mode = (!entry::sibling_declares_account(path)).then_some(mode);
            entry::new_file(&spec, mode)
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    .map_err(|e| e.to_string())?;
    entry::check_text(path, &text).map_err(|e| e.to_string())?;
    entry::write_file(path, &text).map_err(|e| e.to_string())?;
    let name = entry::entry_name(ticket).map_err(|e| e.to_string())?;
    println!(
        "\nWrote entry `{name}` to {}. Next: review it, then `redactctl plan {}`.",
        path.display(),
        path.display()
    );
    Ok(Exit::Ok)
}

/// The address, from `--from-file`, a prompt on a terminal, or standard input.
fn read_identifier(args: &FindArgs) -> Result<Identifier, String> {
    let mut text = String::new();
    match &args.from_file {
        Some(p) => {
            std::fs::File::open(p)
                .and_then(|f| f.take(MAX_INPUT).read_to_string(&mut text))
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        }
        None if std::io::stdin().is_terminal() => {
            eprint!("E-mail address to look up: ");
            let _ = std::io::stderr().flush();
            std::io::stdin()
                .read_line(&mut text)
                .map_err(|e| format!("cannot read the address: {e}"))?;
        }
        None => {
            std::io::stdin()
                .take(MAX_INPUT)
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the address from standard input: {e}"))?;
        }
    }
    Identifier::parse(&text).map_err(|e| e.to_string())
}
