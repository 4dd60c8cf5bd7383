//! Request and trace ids from the operating system's random source, drawn in blocks.
//!
//! Why blocks: every invocation needs three random values (request id, trace root,
//! trace parent), and one `getrandom` system call per value was a measurable share of a
//! warm invoke. One call now fills a per-thread buffer that serves 64 values; the bytes
//! are the same kind (the kernel's CSPRNG), only fetched fewer times.

use std::cell::RefCell;

const BLOCK: usize = 64 * 16;

struct Pool {
    bytes: [u8; BLOCK],
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; BLOCK], used: BLOCK }) };
}

/// 128 random bits.
pub fn random_u128() -> u128 {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.used == BLOCK {
            if getrandom::fill(&mut pool.bytes).is_err() {
                // No random source: fall back to the uuid crate's own draw.
                return uuid::Uuid::new_v4().as_u128();
            }
            pool.used = 0;
        }
        let at = pool.used;
        pool.used += 16;
        let mut one = [0u8; 16];
        one.copy_from_slice(&pool.bytes[at..at + 16]);
        u128::from_le_bytes(one)
    })
}

/// A version 4 UUID (`8-4-4-4-12` hex), as Lambda's request ids are.
pub fn request_id() -> String {
    uuid::Builder::from_random_bytes(random_u128().to_le_bytes())
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// An X-Ray trace header for a new, unsampled trace (`Root=1-<epoch hex>-<24 hex>;
/// Parent=<16 hex>;Sampled=0`).
pub fn trace_header(epoch_secs: i64) -> String {
    let bits = random_u128();
    let parent = random_u128() as u64;
    format!(
        "Root=1-{epoch_secs:08x}-{:024x};Parent={parent:016x};Sampled=0",
        bits >> 32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_well_formed_and_differ() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).expect("a uuid");
        assert_eq!(parsed.get_version_num(), 4);
        let t = trace_header(0x5f00_0000);
        let rest = t.strip_prefix("Root=1-5f000000-").expect("root");
        let (root, rest) = rest.split_once(";Parent=").expect("parent");
        let (parent, sampled) = rest.split_once(';').expect("sampled");
        assert_eq!((root.len(), parent.len(), sampled), (24, 16, "Sampled=0"));
        assert!(
            root.chars()
                .chain(parent.chars())
                .all(|c| c.is_ascii_hexdigit())
        );
        // More than one block's worth, to cross a refill.
        let many: std::collections::HashSet<u128> = (0..200).map(|_| random_u128()).collect();
        assert_eq!(many.len(), 200);
    }
}
