//! Approval: only the word `yes`, typed at a terminal, approves a plan; without a terminal
//! apply refuses unless `--auto-approve` was given.

use std::io::{BufRead, IsTerminal, Write};

/// How the operator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    Approved,
    /// They typed something other than `yes`.
    Declined,
    /// There is no terminal to ask on.
    NoTerminal,
}

/// Asks on the terminal (prompt on stderr, answer from stdin).
pub fn ask(auto_approve: bool) -> Approval {
    if auto_approve {
        return Approval::Approved;
    }
    if !std::io::stdin().is_terminal() {
        return Approval::NoTerminal;
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = err.flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(_) => decide(&line),
        Err(_) => Approval::Declined,
    }
}

/// `yes` (surrounding whitespace ignored) approves; anything else declines.
pub fn decide(answer: &str) -> Approval {
    if answer.trim() == "yes" {
        Approval::Approved
    } else {
        Approval::Declined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_approves() {
        assert_eq!(decide("yes\n"), Approval::Approved);
        assert_eq!(decide("  yes "), Approval::Approved);
        assert_eq!(decide("y\n"), Approval::Declined);
        assert_eq!(decide("YES\n"), Approval::Declined);
        assert_eq!(decide(""), Approval::Declined);
    }
}
