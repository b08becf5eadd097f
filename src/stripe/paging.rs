//! Guards for auto-paging: a list is followed with `starting_after` = the last id of each
//! page until `has_more` is false, so a server that keeps answering `has_more: true` with
//! the same page (or pages that come back to ids already seen) would keep the client
//! looping for ever. [`Cursor`] stops such a listing with a clear error.

use std::collections::HashSet;

use super::error::StripeError;

/// Pages followed in one listing, at most: 20,000 pages of 100 are 2,000,000 items, far
/// more than any account holds, and still bounded memory.
pub const MAX_PAGES: usize = 20_000;

/// What one listing has seen so far.
#[derive(Debug)]
pub struct Cursor {
    route: &'static str,
    seen: HashSet<String>,
    pages: usize,
}

impl Cursor {
    pub fn new(route: &'static str) -> Cursor {
        Cursor {
            route,
            seen: HashSet::new(),
            pages: 0,
        }
    }

    /// Checks the next page's ids: none seen before (a repeated id means the cursor did not
    /// advance, or the list loops) and not more than [`MAX_PAGES`] pages.
    pub fn check_page<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StripeError> {
        self.pages += 1;
        if self.pages > MAX_PAGES {
            return Err(self.error(format!("the list goes on past {MAX_PAGES} pages; stopping")));
        }
        for id in ids {
            if !self.seen.insert(id.to_string()) {
                return Err(self.error(format!(
                    "page {} repeats `{}`: the list's cursor does not advance",
                    self.pages,
                    id.escape_debug()
                )));
            }
        }
        Ok(())
    }

    /// An empty page that says `has_more: true` gives no cursor to continue from.
    pub fn check_more(&self, empty: bool, has_more: bool) -> Result<(), StripeError> {
        if empty && has_more {
            return Err(self.error(format!(
                "page {} is empty but says `has_more: true`",
                self.pages
            )));
        }
        Ok(())
    }

    fn error(&self, message: String) -> StripeError {
        StripeError::Hostile {
            route: self.route.to_string(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_id_stops_the_listing() {
        let mut c = Cursor::new("/v1/x");
        c.check_page(["a", "b"]).unwrap();
        c.check_page(["c"]).unwrap();
        let err = c.check_page(["c", "d"]).unwrap_err();
        assert!(err.to_string().contains("repeats `c`"), "{err}");
        assert!(err.to_string().contains("/v1/x"), "{err}");
    }

    #[test]
    fn an_empty_page_with_more_is_refused() {
        let c = Cursor::new("/v1/x");
        assert!(c.check_more(true, true).is_err());
        assert!(c.check_more(true, false).is_ok());
        assert!(c.check_more(false, true).is_ok());
    }
}
