//! Event-pattern matching throughput: Baton's compiled matcher against the
//! `quamina` crate on citylots2-shaped data, in one run.
//!
//! `cargo bench --bench events` prints, per benchmark category of
//! `../shared/bench-data/citylots2/citylots2-benchmark-rules.json`, events/s
//! for both engines and their ratio over the whole generated data set, then
//! criterion measurements (per category on a 10,000-event slice, and matching
//! cost as the number of rules grows: 10, 1,000, 100,000).
//!
//! The real citylots2 file is not available, so a deterministic generator
//! makes ~200,000 records of its shape (see `generate`). The expected counts
//! in the rules file are for the real data and are not checked.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use baton_events::{MatchScratch, Matcher, Pattern};
use criterion::{BenchmarkId, Criterion, Throughput};
use serde_json::Value;

const RECORDS: usize = 200_000;

/// SplitMix64: a fixed seed gives the same data on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// San Francisco street names, weighted by repetition (FULTON, MASON and the
/// benchmark's prefixes/suffixes all occur).
const STREETS: &[&str] = &[
    "GREENWICH",
    "FULTON",
    "FULTON",
    "MASON",
    "JEFFERSON",
    "BEACH",
    "HYDE",
    "HYDE",
    "CHESTNUT",
    "ACTON",
    "BLAKE",
    "BLUXOME",
    "DRUMM",
    "DRUMM",
    "RHODE ISLAND",
    "CHICAGO",
    "DIAMOND",
    "LAKE",
    "SPRING",
    "KING",
    "CLAYTON",
    "WASHINGTON",
    "JACKSON",
    "MISSION",
    "MISSION",
    "VALENCIA",
    "GUERRERO",
    "DOLORES",
    "CHURCH",
    "SANCHEZ",
    "NOE",
    "CASTRO",
    "DIAMOND",
    "DOUGLASS",
    "HOFFMAN",
    "19TH",
    "20TH",
    "21ST",
    "24TH",
    "IRVING",
    "JUDAH",
    "KIRKHAM",
    "LAWTON",
    "MORAGA",
    "NORIEGA",
    "ORTEGA",
    "PACHECO",
    "QUINTARA",
    "RIVERA",
    "SANTIAGO",
    "TARAVAL",
    "ULLOA",
    "VICENTE",
    "WAWONA",
    "GEARY",
    "CLEMENT",
    "CALIFORNIA",
    "SACRAMENTO",
    "CLAY",
    "PINE",
    "BUSH",
    "SUTTER",
    "POST",
    "OFARRELL",
    "ELLIS",
    "EDDY",
    "TURK",
    "GOLDEN GATE",
    "MCALLISTER",
    "HAYES",
    "GROVE",
    "FELL",
    "OAK",
    "PAGE",
    "HAIGHT",
    "WALLER",
    "FREDERICK",
    "CARL",
    "PARNASSUS",
    "ALEMANY",
    "BRUNSWICK",
    "CHENERY",
    "CORBETT",
    "GOETTINGEN",
    "ARMSTRONG",
    "PALOU",
    "SHAFTER",
];
const ST_TYPES: &[&str] = &[
    "ST", "ST", "ST", "ST", "ST", "AVE", "AVE", "AVE", "BLVD", "WAY", "TER", "CT", "PL", "DR", "LN",
];
const KNOWN_LOTS: &[&str] = &["1430022", "2607117", "2607218", "3745012", "VACSTWIL"];

/// One record in citylots2's shape: GeoJSON properties, and geometry with an
/// array of `{x, y, z}` coordinate objects plus `firstCoordinates`.
fn record(rng: &mut Rng) -> String {
    let lot = if rng.below(500) == 0 {
        rng.pick(KNOWN_LOTS).to_owned()
    } else {
        // Skewed blocks so that lot numbers repeat, as in the real data.
        let block = (rng.unit().powi(2) * 7600.0) as u64 + 1;
        format!("{block:04}{:03}", rng.below(200) + 1)
    };
    let street = rng.pick(STREETS);
    let st_type = rng.pick(ST_TYPES);
    let from = if rng.below(100) == 0 {
        441
    } else {
        rng.below(4000)
    };
    let to = from + rng.below(20);
    let multi = rng.below(1800) == 0;
    let n = 4 + rng.below(17) as usize;
    let x0 = -122.51 + rng.unit() * 0.14;
    let y0 = 37.70 + rng.unit() * 0.11;
    let mut coords = String::new();
    let mut first = (x0, y0);
    for i in 0..n {
        let mut x = x0 + (rng.unit() - 0.5) * 0.0008;
        let mut y = y0 + (rng.unit() - 0.5) * 0.0008;
        if rng.below(4000) == 0 {
            x = -122.429_163_609_223_55;
        }
        if rng.below(4000) == 0 {
            y = 37.729_900_216_217_324;
        }
        if i == 0 {
            first = (x, y);
        } else {
            coords.push_str(", ");
        }
        coords.push_str(&format!("{{\"x\": {x:.14}, \"y\": {y:.14}, \"z\": 0}}"));
    }
    let odd = if from % 2 == 1 { "O" } else { "E" };
    format!(
        "{{\"type\": \"Feature\", \"properties\": {{\"MAPBLKLOT\": \"{lot}\", \"BLKLOT\": \"{lot}\", \"BLOCK_NUM\": \"{}\", \"LOT_NUM\": \"{}\", \"FROM_ST\": \"{from}\", \"TO_ST\": \"{to}\", \"STREET\": \"{street}\", \"ST_TYPE\": \"{st_type}\", \"ODD_EVEN\": \"{odd}\"}}, \"geometry\": {{\"type\": \"{}\", \"coordinates\": [{coords}], \"firstCoordinates\": {{\"x\": {:.14}, \"y\": {:.14}, \"z\": 0}}}}}}",
        lot.get(..4).unwrap_or(&lot),
        lot.get(4..).unwrap_or(""),
        if multi { "MultiPolygon" } else { "Polygon" },
        first.0,
        first.1,
    )
}

fn generate() -> Vec<String> {
    let mut rng = Rng(0x00C1_7710_7502);
    (0..RECORDS).map(|_| record(&mut rng)).collect()
}

struct Category {
    name: String,
    rules: Vec<String>,
}

fn categories() -> Vec<Category> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/bench-data/citylots2/citylots2-benchmark-rules.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cats = doc["categories"].as_object().unwrap();
    let rules_of = |name: &str| -> Vec<String> {
        cats[name]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect()
    };
    let mut out: Vec<Category> = cats
        .keys()
        .map(|k| Category {
            name: k.clone(),
            rules: rules_of(k),
        })
        .collect();
    for (combo, members) in doc["combos"].as_object().unwrap() {
        let rules = members
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| rules_of(m.as_str().unwrap()))
            .collect();
        out.push(Category {
            name: combo.clone(),
            rules,
        });
    }
    out
}

fn baton_matcher(rules: &[String]) -> Matcher<usize> {
    let mut m = Matcher::new();
    for (i, r) in rules.iter().enumerate() {
        m.add_rule(i, &Pattern::parse(r).unwrap());
    }
    m
}

fn quamina_matcher(rules: &[String]) -> Result<quamina::Quamina<usize>, String> {
    // quamina's default 10 MB automaton budget is too small for 100,000 rules.
    let mut q = quamina::QuaminaBuilder::new()
        .with_arena_byte_budget(1 << 32)
        .build()
        .map_err(|e| e.to_string())?;
    for (i, r) in rules.iter().enumerate() {
        q.add_pattern(i, r).map_err(|e| format!("rule {i}: {e}"))?;
    }
    Ok(q)
}

/// Matches every event once; returns per-rule counts.
fn run_baton(
    m: &Matcher<usize>,
    scratch: &mut MatchScratch,
    events: &[String],
    counts: &mut [u64],
) {
    for e in events {
        m.for_each_match(scratch, e, |&id| counts[id] += 1).unwrap();
    }
}

fn run_quamina(q: &quamina::Quamina<usize>, events: &[String], counts: &mut [u64]) {
    for e in events {
        for id in q.matches_for_event(e.as_bytes()).unwrap() {
            counts[id] += 1;
        }
    }
}

/// Best events/s of each engine over interleaved passes, so a load spike on
/// this shared machine hits both engines alike.
fn race(events: usize, mut a: impl FnMut(), mut b: Option<&mut dyn FnMut()>) -> (f64, Option<f64>) {
    let (mut best_a, mut best_b) = (f64::MAX, f64::MAX);
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 3 || (started.elapsed() < Duration::from_secs(2) && rounds < 6) {
        let t = Instant::now();
        a();
        best_a = best_a.min(t.elapsed().as_secs_f64());
        if let Some(b) = b.as_mut() {
            let t = Instant::now();
            b();
            best_b = best_b.min(t.elapsed().as_secs_f64());
        }
        rounds += 1;
    }
    let rate = |best: f64| events as f64 / best;
    (rate(best_a), b.map(|_| rate(best_b)))
}

fn summary(events: &[String], cats: &[Category]) {
    println!(
        "\ncitylots2-shaped data: {} events, {:.0} bytes on average\n",
        events.len(),
        events.iter().map(String::len).sum::<usize>() as f64 / events.len() as f64
    );
    println!(
        "{:<26} {:>14} {:>14} {:>8}   per-rule matches (baton | quamina)",
        "category", "baton ev/s", "quamina ev/s", "ratio"
    );
    for cat in cats {
        let baton = baton_matcher(&cat.rules);
        let mut scratch = MatchScratch::new();
        let mut b_counts = vec![0u64; cat.rules.len()];
        run_baton(&baton, &mut scratch, events, &mut b_counts);
        let quamina = quamina_matcher(&cat.rules);
        let mut q_counts = vec![0u64; cat.rules.len()];
        if let Ok(q) = &quamina {
            run_quamina(q, events, &mut q_counts);
        }
        let mut baton_pass = || {
            let mut c = vec![0u64; cat.rules.len()];
            run_baton(&baton, &mut scratch, black_box(events), &mut c);
        };
        let (b_rate, q_rate) = match &quamina {
            Ok(q) => {
                let mut quamina_pass = || {
                    let mut c = vec![0u64; cat.rules.len()];
                    run_quamina(q, black_box(events), &mut c);
                };
                race(events.len(), &mut baton_pass, Some(&mut quamina_pass))
            }
            Err(_) => race(events.len(), &mut baton_pass, None),
        };
        let (q_text, ratio, q_counts) = match (q_rate, &quamina) {
            (Some(q), Ok(_)) => (
                format!("{q:>14.0}"),
                format!("{:>7.2}x", b_rate / q),
                format!("{q_counts:?}"),
            ),
            (_, Err(e)) => (
                format!("{:>14}", "n/a"),
                format!("{:>8}", "-"),
                format!("quamina refuses: {e}"),
            ),
            _ => (String::new(), String::new(), String::new()),
        };
        println!(
            "{:<26} {:>14.0} {} {}   {:?} | {}",
            cat.name, b_rate, q_text, ratio, b_counts, q_counts
        );
    }
    println!();
}

/// Exact-match rules on MAPBLKLOT values drawn from the data.
fn scaling_rules(events: &[String], n: usize) -> Vec<String> {
    let mut rng = Rng(42);
    (0..n)
        .map(|i| {
            let lot = if i % 2 == 0 {
                let e = &events[rng.below(events.len() as u64) as usize];
                let at = e.find("\"MAPBLKLOT\": \"").unwrap() + 14;
                e[at..at + e[at..].find('"').unwrap()].to_owned()
            } else {
                format!("X{i:07}")
            };
            format!("{{\"properties\": {{\"MAPBLKLOT\": [\"{lot}\"]}}}}")
        })
        .collect()
}

/// Matching cost as the number of (exact-match) rules grows.
fn scaling(events: &[String]) -> Vec<(usize, Matcher<usize>, quamina::Quamina<usize>)> {
    let sample = &events[..20_000];
    println!(
        "{:<10} {:>12} {:>12} {:>14} {:>14} {:>8}   matches (baton | quamina)",
        "rules", "baton build", "quamina build", "baton ev/s", "quamina ev/s", "ratio"
    );
    let mut out = Vec::new();
    for n in [10usize, 1_000, 100_000] {
        let rules = scaling_rules(events, n);
        let t = Instant::now();
        let baton = baton_matcher(&rules);
        let baton_build = t.elapsed();
        let t = Instant::now();
        let q = quamina_matcher(&rules).unwrap();
        let quamina_build = t.elapsed();
        let mut scratch = MatchScratch::new();
        let mut b_hits = 0usize;
        let mut q_hits = 0usize;
        let mut quamina_pass = || {
            q_hits = 0;
            for e in sample {
                q_hits += q.matches_for_event(e.as_bytes()).unwrap().len();
            }
        };
        let (b_rate, q_rate) = race(
            sample.len(),
            || {
                b_hits = 0;
                for e in sample {
                    baton
                        .for_each_match(&mut scratch, e, |_| b_hits += 1)
                        .unwrap();
                }
            },
            Some(&mut quamina_pass),
        );
        let q_rate = q_rate.unwrap_or(f64::NAN);
        println!(
            "{n:<10} {:>12.1?} {:>12.1?} {b_rate:>14.0} {q_rate:>14.0} {:>7.2}x   {b_hits} | {q_hits}",
            baton_build,
            quamina_build,
            b_rate / q_rate
        );
        out.push((n, baton, q));
    }
    println!();
    out
}

fn main() {
    let started = Instant::now();
    let events = generate();
    let cats = categories();
    // `BATON_BENCH_PROFILE=EXACT` loops one category through Baton only (for a profiler).
    if let Ok(only) = std::env::var("BATON_BENCH_PROFILE") {
        let cat = cats
            .iter()
            .find(|c| c.name == only)
            .expect("a category name");
        let m = baton_matcher(&cat.rules);
        let mut scratch = MatchScratch::new();
        let mut counts = vec![0u64; cat.rules.len()];
        // `BATON_BENCH_HOT=N` uses only the first N events (cache-resident).
        let events = match std::env::var("BATON_BENCH_HOT") {
            Ok(n) => events[..n.parse::<usize>().unwrap().min(events.len())].to_vec(),
            Err(_) => events.clone(),
        };
        let t = Instant::now();
        let mut passes = 0;
        while t.elapsed() < Duration::from_secs(5) {
            run_baton(&m, &mut scratch, &events, &mut counts);
            passes += 1;
        }
        println!(
            "{only}: {:.0} events/s",
            (passes * events.len()) as f64 / t.elapsed().as_secs_f64()
        );
        return;
    }
    summary(&events, &cats);
    let scaled = scaling(&events);
    if std::env::var_os("BATON_BENCH_SUMMARY_ONLY").is_some() {
        return;
    }

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();

    let slice = &events[..10_000];
    for cat in &cats {
        let mut group = c.benchmark_group(format!("category/{}", cat.name));
        group.throughput(Throughput::Elements(slice.len() as u64));
        let baton = baton_matcher(&cat.rules);
        let mut scratch = MatchScratch::new();
        group.bench_function("baton", |b| {
            b.iter(|| {
                let mut counts = vec![0u64; cat.rules.len()];
                run_baton(&baton, &mut scratch, black_box(slice), &mut counts);
                counts
            });
        });
        if let Ok(q) = quamina_matcher(&cat.rules) {
            group.bench_function("quamina", |b| {
                b.iter(|| {
                    let mut counts = vec![0u64; cat.rules.len()];
                    run_quamina(&q, black_box(slice), &mut counts);
                    counts
                });
            });
        }
        group.finish();
    }

    let sample = &events[..2_000];
    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(sample.len() as u64));
    for (n, baton, q) in &scaled {
        let mut scratch = MatchScratch::new();
        group.bench_with_input(BenchmarkId::new("baton", n), n, |b, _| {
            b.iter(|| {
                let mut hits = 0usize;
                for e in sample {
                    baton
                        .for_each_match(&mut scratch, e, |_| hits += 1)
                        .unwrap();
                }
                hits
            });
        });
        group.bench_with_input(BenchmarkId::new("quamina", n), n, |b, _| {
            b.iter(|| {
                let mut hits = 0usize;
                for e in sample {
                    hits += q.matches_for_event(e.as_bytes()).unwrap().len();
                }
                hits
            });
        });
    }
    group.finish();
    c.final_summary();
    println!("total benchmark time: {:?}", started.elapsed());
}
