//! plan (filled in by its issue).
