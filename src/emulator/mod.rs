//! emulator (filled in by its issue).
