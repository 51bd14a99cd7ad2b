//! Prints the comparison table from criterion's results: each benchmark's median and its ratio
//! to tokenring's or to the HMAC floor. Wall-clock figures carry no targets (they move with the
//! processor); the targets are stated in instructions (the `instructions` bin).
//!
//! Run through `benches/compare`, which runs the benchmarks first. Reads
//! `<root>/<group>/<function>/new/estimates.json` for each root given as an argument (one per
//! round of `benches/compare`), or from `<target>/criterion` when none is given, where
//! `<target>` is `$CARGO_TARGET_DIR` or the workspace's `target/`.
//!
//! With several rounds, each figure is the median over the rounds of criterion's medians, and
//! the ratio of owned verification to jsonwebtoken's is also computed within every round (both
//! sides measured by the same process): its median and range are printed. Exits with 2 when a
//! result is missing.

// A report tool: printing is its purpose.
#![allow(clippy::print_stdout)]
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

/// Results of one or more rounds, by `group/function`: one criterion output directory each.
struct Results {
    roots: Vec<PathBuf>,
}

/// The median of `values` (not empty), with the lowest and the highest.
fn median_range(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    let median = if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 };
    (median, values[0], values[values.len() - 1])
}

impl Results {
    /// Criterion's median, in nanoseconds, of `group/function` in each round.
    fn medians(&self, id: &str) -> Result<Vec<f64>, String> {
        self.roots
            .iter()
            .map(|root| {
                let path = root.join(id).join("new").join("estimates.json");
                let text = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
                let estimates: Estimates =
                    serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
                Ok(estimates.median.point_estimate)
            })
            .collect()
    }

    /// The median over the rounds of `group/function`'s median, in nanoseconds.
    fn median(&self, id: &str) -> Result<f64, String> {
        Ok(median_range(self.medians(id)?).0)
    }

    /// `numerator / denominator` within each round: the median over the rounds, the lowest and
    /// the highest.
    fn ratio(&self, numerator: &str, denominator: &str) -> Result<(f64, f64, f64), String> {
        let ratios = self.medians(numerator)?.into_iter().zip(self.medians(denominator)?).map(|(n, d)| n / d);
        Ok(median_range(ratios.collect()))
    }
}

const VERIFY: [&str; 6] =
    ["tokenring", "tokenring_borrowed", "jsonwebtoken", "jwt_simple", "jwt_compact", "hmac_floor"];
const SIGN: [&str; 4] = ["tokenring", "jsonwebtoken", "jwt_simple", "jwt_compact"];
const MAC: [&str; 2] = ["tokenring", "hmac_crate"];
const REJECT: [&str; 4] = ["bad_signature", "unknown_key", "malformed", "too_large"];
const CLAIMS_JSON: [&str; 2] = ["serde_json_owned", "serde_json_borrowed"];
const SIZES: [usize; 3] = [256, 1024, 4096];

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"),
    }
}

/// Prints a row for each function of `group`: its median and its ratio to `base`.
fn print_rows(results: &Results, group: &str, functions: &[&str], base: f64) -> Result<(), String> {
    for function in functions {
        let median = results.median(&format!("{group}/{function}"))?;
        println!("{:<34} {:>9.1} ns {:>13.2}x", format!("{group}/{function}"), median, median / base);
    }
    Ok(())
}

fn run(results: &Results) -> Result<(), String> {
    if results.roots.len() > 1 {
        println!("each figure is the median over {} rounds of criterion's medians", results.roots.len());
    }
    println!("{:<34} {:>12} {:>14}", "benchmark", "median", "vs tokenring");
    for (group, functions) in [("verify_hs256", &VERIFY[..]), ("sign_hs256", &SIGN[..])] {
        print_rows(results, group, functions, results.median(&format!("{group}/tokenring"))?)?;
    }
    let floor = results.median("verify_hs256/hmac_floor")?;
    println!();
    println!("{:<34} {:>12} {:>14}", "the MAC alone", "median", "vs tokenring");
    print_rows(results, "mac_hs256", &MAC, results.median("mac_hs256/tokenring")?)?;
    println!();
    println!("{:<34} {:>12} {:>14}", "benchmark", "median", "vs hmac_floor");
    print_rows(results, "reject_hs256", &REJECT, floor)?;
    // What the claims reader costs at least: `serde_json` alone, no checks.
    print_rows(results, "claims_json", &CLAIMS_JSON, floor)?;
    println!();
    println!("{:<34} {:>12} {:>12} {:>10}", "verify_by_size", "tokenring", "hmac_floor", "ratio");
    for size in SIZES {
        let tokenring = results.median(&format!("verify_by_size/tokenring/{size}"))?;
        let hmac = results.median(&format!("verify_by_size/hmac_floor/{size}"))?;
        println!("{:<34} {:>9.1} ns {:>9.1} ns {:>9.2}x", format!("{size} bytes"), tokenring, hmac, tokenring / hmac);
    }
    let slope = |name: &str| -> Result<f64, String> {
        let small = results.median(&format!("verify_by_size/{name}/{}", SIZES[0]))?;
        let large = results.median(&format!("verify_by_size/{name}/{}", SIZES[2]))?;
        Ok((large - small) / (SIZES[2] - SIZES[0]) as f64)
    };
    println!("{:<34} {:>9.3} ns {:>9.3} ns", "per byte (256 -> 4096)", slope("tokenring")?, slope("hmac_floor")?);

    if results.roots.len() > 1 {
        let (ratio, lowest, highest) = results.ratio("verify_hs256/tokenring", "verify_hs256/jsonwebtoken")?;
        println!();
        println!(
            "{} rounds: owned verify / jsonwebtoken within each round, median {ratio:.2} ({lowest:.2} to {highest:.2})",
            results.roots.len()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut roots: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if roots.is_empty() {
        roots.push(target_dir().join("criterion"));
    }
    let results = Results { roots };
    match run(&results) {
        Ok(()) => ExitCode::SUCCESS,
        Err(missing) => {
            eprintln!("compare: missing result ({missing}); run benches/compare first");
            ExitCode::from(2)
        }
    }
}
