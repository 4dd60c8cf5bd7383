//! Unit tests of the parser: AWS's recorded diagnostics and the typed plan.
