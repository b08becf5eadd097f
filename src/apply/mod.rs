//! apply (filled in by its issue).
