//! Storage plumbing every service's store builds on.
//!
//! Each service owns its store trait (with its `# Contract` docs), its conformance suite
//! and its SQLite and PostgreSQL implementations and migrations; this module holds what
//! they share: the two databases ([`sqlite::Database`]: one file, one writer thread with
//! group commit; [`postgres::Database`]: a connection pool), the one migration runner
//! each of them has, [`StoreError`], and the test helpers ([`testing`]).
//!
//! Architecture Invariant: no SQL outside a service's `store/` module and this one;
//! behaviour code sees only its service's store trait.

mod error;
pub mod postgres;
pub mod sqlite;
pub mod testing;

pub use error::StoreError;

/// One schema migration: applied once, by name, in name order among all services'
/// migrations. Names carry a range per service (`0xxx` platform, `1xxx` Step Functions,
/// `2xxx` event buses, `3xxx` functions and event source mappings, `4xxx` queues), so
/// services add migrations without renumbering each other's; a name, once released,
/// never changes (databases record it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

/// A service's migrations for both backends.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static [Migration],
    pub postgres: &'static [Migration],
}

/// The platform's own migration, the same on both backends: nothing but the migrations
/// table itself, which each runner creates (kept so the mechanism is always exercised).
const CORE: &[Migration] = &[Migration {
    name: "0000_schema_migrations",
    sql: include_str!("0000_schema_migrations.sql"),
}];

/// The platform's migration and every service's, sorted by name. Refuses a name given
/// twice (two services claiming one range).
fn ordered(services: &[&'static [Migration]]) -> Result<Vec<Migration>, StoreError> {
    ordered_with(CORE, services)
}

fn ordered_with(
    core: &'static [Migration],
    services: &[&'static [Migration]],
) -> Result<Vec<Migration>, StoreError> {
    let mut all: Vec<Migration> = core.to_vec();
    for list in services {
        all.extend_from_slice(list);
    }
    all.sort_by_key(|m| m.name);
    if let Some(w) = all.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(StoreError::Backend(format!(
            "migration {} is listed twice",
            w[0].name
        )));
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[Migration] = &[Migration {
        name: "1000_a",
        sql: "SELECT 1;",
    }];
    const B: &[Migration] = &[
        Migration {
            name: "2001_b",
            sql: "SELECT 1;",
        },
        Migration {
            name: "2000_b",
            sql: "SELECT 1;",
        },
    ];

    #[test]
    fn migrations_apply_in_name_order_and_a_name_is_unique() {
        let core: &[Migration] = &[Migration {
            name: "0000_core",
            sql: "SELECT 1;",
        }];
        let names: Vec<_> = ordered_with(core, &[B, A])
            .map(|v| v.iter().map(|m| m.name).collect())
            .unwrap_or_default();
        assert_eq!(names, ["0000_core", "1000_a", "2000_b", "2001_b"]);
        assert!(ordered_with(core, &[A, A]).is_err());
    }
}
