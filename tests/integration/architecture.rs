//! The crate graph ARCHITECTURE.md promises, checked from the manifests: the pure cores
//! depend on no Baton crate but each other and on no async runtime or database; the
//! platform on no service; a service crate on the platform and the pure cores only,
//! never on another service (services meet through the platform's bridge traits).

use std::collections::BTreeMap;
use std::path::Path;

const PURE_CORES: &[&str] = &["baton-asl", "baton-exec", "baton-events"];
const PLATFORM: &str = "baton-platform";

/// Crates no pure core may use: anything that does I/O, keeps time or runs tasks.
const IMPURE: &[&str] = &[
    "tokio",
    "rusqlite",
    "tokio-postgres",
    "deadpool-postgres",
    "reqwest",
    "axum",
    "hyper",
    "getrandom",
    "rand",
    "uuid",
];

/// `[dependencies]` and `[dev-dependencies]` names of a manifest, by section.
fn dependencies(manifest: &str) -> BTreeMap<&'static str, Vec<String>> {
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut section: Option<&'static str> = None;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = match line {
                "[dependencies]" => Some("dependencies"),
                "[dev-dependencies]" => Some("dev-dependencies"),
                _ => None,
            };
            continue;
        }
        let Some(section) = section else { continue };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['.', '=', ' '])
            .next()
            .unwrap_or_default()
            .to_owned();
        out.entry(section).or_default().push(name);
    }
    out
}

fn package_name(manifest: &str) -> String {
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("name = "))
        .map(|n| n.trim_matches('"').to_owned())
        .unwrap_or_default()
}

#[test]
fn crates_depend_only_as_the_architecture_allows() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let mut services = Vec::new();
    let mut problems = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let manifest_path = entry.expect("an entry").path().join("Cargo.toml");
        let Ok(manifest) = std::fs::read_to_string(&manifest_path) else {
            continue;
        };
        seen += 1;
        let name = package_name(&manifest);
        let deps = dependencies(&manifest);
        let all: Vec<&String> = deps.values().flatten().collect();
        let baton: Vec<&String> = all
            .iter()
            .copied()
            .filter(|d| d.starts_with("baton-"))
            .collect();
        if PURE_CORES.contains(&name.as_str()) {
            for d in &baton {
                if !PURE_CORES.contains(&d.as_str()) {
                    problems.push(format!("pure core {name} depends on {d}"));
                }
            }
            for d in deps.get("dependencies").into_iter().flatten() {
                if IMPURE.contains(&d.as_str()) {
                    problems.push(format!("pure core {name} depends on {d}"));
                }
            }
        } else if name == PLATFORM {
            for d in &baton {
                problems.push(format!("the platform depends on {d}"));
            }
        } else {
            services.push(name.clone());
            for d in &baton {
                if d.as_str() != PLATFORM && !PURE_CORES.contains(&d.as_str()) {
                    problems.push(format!("service crate {name} depends on {d}"));
                }
            }
            if !baton.iter().any(|d| d.as_str() == PLATFORM) {
                problems.push(format!("service crate {name} does not build on {PLATFORM}"));
            }
            let readme = manifest_path.with_file_name("README.md");
            if !readme.exists() {
                problems.push(format!("service crate {name} has no README.md"));
            }
            for part in ["src/wire", "src/store"] {
                if !manifest_path.with_file_name(part).is_dir() {
                    problems.push(format!("service crate {name} has no {part}/"));
                }
            }
        }
    }
    assert!(seen >= 8, "found {seen} crates under crates/");
    services.sort();
    assert_eq!(
        services,
        [
            "baton-eventbridge",
            "baton-lambda",
            "baton-sqs",
            "baton-stepfunctions"
        ],
        "the service crates (add a new one here and to ARCHITECTURE.md)"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}
