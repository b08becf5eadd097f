//! `redactctl schema`: prints the manifest JSON Schema, for editors
//! (`# yaml-language-server: $schema=…`) and for regenerating
//! `schemas/manifest.schema.json`.

use std::io::Write;

use super::Exit;

/// Prints `manifest::schema_json()` on stdout.
pub fn run() -> Exit {
    let mut out = std::io::stdout().lock();
    match out
        .write_all(crate::manifest::schema_json().as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: cannot write the schema: {e}");
            Exit::Error
        }
    }
}
