//! Code packages: checking an uploaded zip, and unpacking it once into a cache directory
//! that environments run from (the store keeps the zip; the directory is disposable).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::FunctionsError;

/// Lambda's limit on a zip uploaded directly (`ZipFile`): 50 MB.
pub const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;
/// Lambda's limit on unpacked code: 250 MB.
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;

/// The package's SHA-256 as hex (storage key) and base64 (`CodeSha256`).
pub fn digests(bytes: &[u8]) -> (String, String) {
    let digest = Sha256::digest(bytes);
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    (hex, b64)
}

fn unzip_error() -> FunctionsError {
    FunctionsError::InvalidParameter(
        "Could not unzip uploaded file. Please check your file, then try to upload again.".into(),
    )
}

/// Checks that `bytes` is a zip Lambda would accept (readable, within the size limits).
pub fn check_zip(bytes: &[u8]) -> Result<(), FunctionsError> {
    if bytes.len() > MAX_ZIP_BYTES {
        return Err(FunctionsError::TooLarge(
            "Request must be smaller than 70167211 bytes for the CreateFunction operation".into(),
        ));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| unzip_error())?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|_| unzip_error())?;
        total = total.saturating_add(entry.size());
        if entry.enclosed_name().is_none() {
            return Err(unzip_error());
        }
    }
    if total > MAX_UNZIPPED_BYTES {
        return Err(FunctionsError::InvalidParameter(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Unpacks `bytes` under `cache/<sha256_hex>` unless already there, and returns the
/// directory. Unpacking goes to a temporary sibling first and is renamed into place, so
/// a crash never leaves a half-written directory that looks complete.
pub fn unpack(cache: &Path, sha256_hex: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let dir = cache.join(sha256_hex);
    if dir.is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(cache)?;
    let tmp = cache.join(format!(".{sha256_hex}.{}", uuid::Uuid::new_v4()));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(std::io::Error::other)?;
    archive.extract(&tmp).map_err(std::io::Error::other)?;
    // Zips made without Unix modes lose the executable bit; a bootstrap must have it.
    let bootstrap = tmp.join("bootstrap");
    if bootstrap.is_file() {
        use std::os::unix::fs::PermissionsExt;
        let mut perms = std::fs::metadata(&bootstrap)?.permissions();
        perms.set_mode(perms.mode() | 0o755);
        std::fs::set_permissions(&bootstrap, perms)?;
    }
    match std::fs::rename(&tmp, &dir) {
        Ok(()) => Ok(dir),
        // Another invocation unpacked the same package first.
        Err(_) if dir.is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dir)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn make_zip(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, mode) in files {
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn zips_are_checked_and_unpacked_once() {
        let zip = make_zip(&[
            ("bootstrap", b"#!/bin/sh\n", 0o644),
            ("lib/a.txt", b"a", 0o644),
        ]);
        check_zip(&zip).unwrap();
        assert!(check_zip(b"not a zip").is_err());
        let dir = tempfile::tempdir().unwrap();
        let (hex, b64) = digests(&zip);
        assert_eq!(hex.len(), 64);
        assert_eq!(b64.len(), 44);
        let out = unpack(dir.path(), &hex, &zip).unwrap();
        assert_eq!(std::fs::read(out.join("lib/a.txt")).unwrap(), b"a");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "bootstrap is made executable");
        // A second unpack reuses the directory.
        assert_eq!(unpack(dir.path(), &hex, &zip).unwrap(), out);
    }

    #[test]
    fn entries_escaping_the_directory_are_refused() {
        let zip = make_zip(&[("../evil", b"x", 0o644)]);
        assert!(check_zip(&zip).is_err());
    }
}
