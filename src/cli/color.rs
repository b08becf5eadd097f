//! Whether to colour output: `--color`, `NO_COLOR`, and whether the stream is a terminal.

use std::io::IsTerminal;

use super::args::ColorChoice;

fn decide(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Colour on stdout?
pub fn stdout_enabled(choice: ColorChoice) -> bool {
    decide(choice, std::io::stdout().is_terminal())
}

/// Colour on stderr?
pub fn stderr_enabled(choice: ColorChoice) -> bool {
    decide(choice, std::io::stderr().is_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_colours_off_a_terminal_in_auto() {
        assert!(!decide(ColorChoice::Auto, false));
        assert!(decide(ColorChoice::Always, false));
        assert!(!decide(ColorChoice::Never, true));
    }
}
