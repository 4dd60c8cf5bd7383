//! Property tests: no input makes the parser panic.
