//! Prints the instruction table of `benches/instructions.rs` with each target's verdict, and
//! enforces the CI gate: `verify` and `verify_borrowed` may not rise more than 3 % above their
//! instructions outside SHA-256 recorded in `benches/baseline`.
//!
//!   cargo bench -p tokenring-benches --bench instructions     # gungraun writes callgrind files
//!   cargo run --release -p tokenring-benches --bin instructions
//!   cargo run --release -p tokenring-benches --bin instructions -- --write-baseline
//!
//! Reads `<target>/gungraun/tokenring-benches/instructions/<group>/<bench>/callgrind.<bench>.out`
//! (`<target>` is `$CARGO_TARGET_DIR` or the workspace's `target/`). Every figure is per
//! operation: the file's count divided by [`INSTRUCTION_ITERATIONS`]. The targets guide work
//! and never change the exit status; the gate does. Exits with 1 when the gate fails and 2 when
//! a result or the baseline is missing or unreadable.

// A report tool: printing is its purpose.
#![allow(clippy::print_stdout)]
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tokenring_benches::callgrind::{self, Figures};
use tokenring_benches::{INSTRUCTION_ITERATIONS, KIDLESS_TRIES_MAX};

/// The rows of the table: group, benchmark (gungraun's `function.id`), label.
const ROWS: [(&str, &str, &str); 16] = [
    ("verify_hs256", "verify.tokenring", "tokenring verify (owned claims)"),
    ("verify_hs256", "verify_borrowed.tokenring", "tokenring verify_borrowed"),
    ("verify_hs256", "verify_jsonwebtoken.peer", "jsonwebtoken 12"),
    ("verify_hs256", "verify_jwt_simple.peer", "jwt-simple 0.15"),
    ("verify_hs256", "verify_jwt_compact.peer", "jwt-compact 0.9.0-beta.1"),
    ("verify_hs256", "floor_verify.hmac", "HMAC floor"),
    ("verify_hs256", "floor_plus_serde_json.hmac", "floor + serde_json claims"),
    ("sign_hs256", "sign_tokenring.tokenring", "sign: tokenring"),
    ("sign_hs256", "sign_jsonwebtoken.peer", "sign: jsonwebtoken"),
    ("reject_hs256", "reject.too_large", "reject too_large"),
    ("reject_hs256", "reject.malformed", "reject malformed"),
    ("reject_hs256", "reject.bad_signature", "reject bad_signature"),
    ("reject_hs256", "reject.unknown_key", "reject unknown_key"),
    ("reject_hs256", "reject.kidless_ring_of_64", "reject kid-less, ring of 64"),
    ("extract", "extract_tokenring_axum.tokenring", "(b) tokenring-axum Authenticated"),
    ("extract", "extract_jsonwebtoken.peer", "(c) extractor on jsonwebtoken"),
];

/// The benchmark each group's rows are compared with in the last column.
fn reference(group: &str) -> &'static str {
    match group {
        "verify_hs256" => "verify_jsonwebtoken.peer",
        "sign_hs256" => "sign_jsonwebtoken.peer",
        "reject_hs256" => "floor_verify.hmac",
        _ => "extract_jsonwebtoken.peer",
    }
}

/// The benchmarks the CI gate covers, by their names in `benches/baseline`.
const GATED: [(&str, &str); 2] = [("verify", "verify.tokenring"), ("verify_borrowed", "verify_borrowed.tokenring")];

/// How far a gated figure may rise above the baseline, in percent.
const GATE_PERCENT: f64 = 3.0;

/// Per-operation figures of every benchmark, by `function.id`.
struct Results(BTreeMap<&'static str, Figures>);

impl Results {
    fn read(root: &Path) -> Result<Self, String> {
        let mut figures = BTreeMap::new();
        for (group, bench, _) in ROWS {
            let path = root.join(group).join(bench).join(format!("callgrind.{bench}.out"));
            let text = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
            let total = callgrind::parse(&text).map_err(|error| format!("{}: {error}", path.display()))?;
            let per_operation = Figures {
                instructions: total.instructions / INSTRUCTION_ITERATIONS,
                compression: total.compression / INSTRUCTION_ITERATIONS,
                allocations: total.allocations / INSTRUCTION_ITERATIONS,
            };
            figures.insert(bench, per_operation);
        }
        Ok(Self(figures))
    }

    fn get(&self, bench: &str) -> Figures {
        self.0.get(bench).copied().unwrap_or_default()
    }

    fn total(&self, bench: &str) -> f64 {
        self.get(bench).instructions as f64
    }

    fn outside(&self, bench: &str) -> f64 {
        self.get(bench).outside_compression() as f64
    }
}

fn print_table(results: &Results) {
    println!(
        "instructions per operation (callgrind; {INSTRUCTION_ITERATIONS} operations per benchmark), SHA-256 = its compression function"
    );
    println!(
        "{:<36} {:>12} {:>16} {:>7}   {:<24}",
        "benchmark", "instructions", "outside SHA-256", "allocs", "total (outside) vs"
    );
    let mut last_group = "";
    for (group, bench, label) in ROWS {
        if group != last_group && !last_group.is_empty() {
            println!();
        }
        last_group = group;
        let figures = results.get(bench);
        let base = reference(group);
        let versus = format!(
            "{:.2} ({:.2}) {}",
            results.total(bench) / results.total(base),
            results.outside(bench) / results.outside(base),
            ROWS.iter().find(|row| row.1 == base).map_or("", |row| row.2)
        );
        println!(
            "{:<36} {:>12} {:>16} {:>7}   {versus}",
            label,
            figures.instructions,
            figures.outside_compression(),
            figures.allocations
        );
    }
}

/// Prints each target's verdict (issue 24): they guide work and do not gate.
fn print_targets(results: &Results) {
    let floor = results.total("floor_verify.hmac");
    let mut targets: Vec<(String, f64, f64)> = vec![
        (
            "verify outside SHA-256 <= 0.35 x jsonwebtoken's".to_owned(),
            results.outside("verify.tokenring") / results.outside("verify_jsonwebtoken.peer"),
            0.35,
        ),
        (
            "verify_borrowed outside SHA-256 <= 0.30 x jsonwebtoken's".to_owned(),
            results.outside("verify_borrowed.tokenring") / results.outside("verify_jsonwebtoken.peer"),
            0.30,
        ),
        (
            "verify in total <= 0.6 x jsonwebtoken's".to_owned(),
            results.total("verify.tokenring") / results.total("verify_jsonwebtoken.peer"),
            0.6,
        ),
        (
            "signing in total <= 0.6 x jsonwebtoken's".to_owned(),
            results.total("sign_tokenring.tokenring") / results.total("sign_jsonwebtoken.peer"),
            0.6,
        ),
    ];
    for reject in ["too_large", "malformed", "unknown_key", "bad_signature"] {
        targets.push((
            format!("reject {reject} <= the floor's total"),
            results.total(&format!("reject.{reject}")) / floor,
            1.0,
        ));
    }
    targets.push((
        "(b) tokenring-axum extractor <= 0.5 x (c) jsonwebtoken's".to_owned(),
        results.total("extract_tokenring_axum.tokenring") / results.total("extract_jsonwebtoken.peer"),
        0.5,
    ));
    println!();
    println!("targets (guide work, do not gate):");
    for (what, ratio, bound) in targets {
        println!("[{}] {what}: {ratio:.3}", if ratio <= bound { "holds" } else { "MISSED" });
    }
    let kidless = results.total("reject.kidless_ring_of_64") / floor;
    match KIDLESS_TRIES_MAX {
        Some(tries) => println!(
            "[{}] kid-less token on a ring of 64 <= {tries} (the kid-less try limit) x the floor: {kidless:.2} floors",
            if kidless <= tries as f64 { "holds" } else { "MISSED" }
        ),
        None => println!(
            "[pending] kid-less token on a ring of 64 <= the kid-less try limit x the floor: {kidless:.2} floors \
             (the limit does not exist yet)"
        ),
    }
}

/// The baseline: the gated benchmarks' instructions outside SHA-256, by name.
fn read_baseline(path: &Path) -> Result<BTreeMap<String, u64>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let mut baseline = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(name), Some(count), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("{} line {}: expected `name instructions`", path.display(), number + 1));
        };
        let count =
            count.parse().map_err(|_| format!("{} line {}: {count:?} is not a count", path.display(), number + 1))?;
        baseline.insert(name.to_owned(), count);
    }
    Ok(baseline)
}

/// Compares the gated figures with the baseline; returns whether every one is within the gate.
fn check_baseline(results: &Results, path: &Path) -> Result<bool, String> {
    let baseline = read_baseline(path)?;
    println!();
    println!("CI gate: instructions outside SHA-256 at most {GATE_PERCENT} % above {}", path.display());
    let mut within = true;
    for (name, bench) in GATED {
        let recorded = *baseline.get(name).ok_or_else(|| format!("{}: no line for {name}", path.display()))?;
        let now = results.get(bench).outside_compression();
        let change = (now as f64 / recorded as f64 - 1.0) * 100.0;
        let ok = change <= GATE_PERCENT;
        within &= ok;
        println!("[{}] {name}: {now} against {recorded} ({change:+.1} %)", if ok { "ok" } else { "FAILS" });
    }
    if !within {
        println!(
            "a gated figure rose more than {GATE_PERCENT} %: find the cause, or, if the cost is wanted, update \
             benches/baseline (--write-baseline) in the commit that says why"
        );
    }
    Ok(within)
}

fn write_baseline(results: &Results, path: &Path) -> Result<(), String> {
    let mut text = String::from(
        "# Instructions outside SHA-256's compression function per verification of the shared token\n\
         # (benches/instructions.rs), enforced by .ci/run: a rise of more than 3 % fails CI.\n\
         # Written by `cargo run --release -p tokenring-benches --bin instructions -- --write-baseline`;\n\
         # change it on purpose, in the commit that says why.\n",
    );
    for (name, bench) in GATED {
        text.push_str(&format!("{name} {}\n", results.get(bench).outside_compression()));
    }
    std::fs::write(path, text).map_err(|error| format!("{}: {error}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"),
    }
}

fn run(write: bool) -> Result<bool, String> {
    let root = target_dir().join("gungraun").join("tokenring-benches").join("instructions");
    let results = Results::read(&root)?;
    print_table(&results);
    print_targets(&results);
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("baseline");
    if write {
        write_baseline(&results, &baseline)?;
    }
    check_baseline(&results, &baseline)
}

fn main() -> ExitCode {
    let mut write = false;
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--write-baseline" => write = true,
            _ => {
                eprintln!("instructions: unknown argument; the only option is --write-baseline");
                return ExitCode::from(2);
            }
        }
    }
    match run(write) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(missing) => {
            eprintln!("instructions: {missing}; run `cargo bench -p tokenring-benches --bench instructions` first");
            ExitCode::from(2)
        }
    }
}
