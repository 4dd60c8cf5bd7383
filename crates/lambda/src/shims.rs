//! The runtime shims Baton ships for `python3.x` and `nodejs*` functions: small Runtime
//! API clients, written for Baton, that import the user's handler. They are compiled
//! into the binary and written out under the data directory at start-up.

use std::path::{Path, PathBuf};

const PYTHON_BOOTSTRAP: &str = include_str!("../shims/python/bootstrap.py");
const NODE_BOOTSTRAP: &str = include_str!("../shims/node/bootstrap.js");

/// Writes the shims under `dir` (replacing older copies) and returns `dir`.
pub fn install(dir: &Path) -> std::io::Result<PathBuf> {
    for (sub, name, text) in [
        ("python", "bootstrap.py", PYTHON_BOOTSTRAP),
        ("node", "bootstrap.js", NODE_BOOTSTRAP),
    ] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d)?;
        let path = d.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            let tmp = d.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, &path)?;
        }
    }
    Ok(dir.to_path_buf())
}
