//! Reads the figures of one benchmark from a callgrind output file (the format gungraun writes,
//! uncompressed: `--compress-strings=no --compress-pos=no`, its default).
//!
//! Three figures: the instructions executed (`Ir`), the part of them spent inside SHA-256's
//! compression function, and the calls into Rust's global allocator. The latter two come from
//! the call records: each `calls=` line is followed by the inclusive cost of that call, so the
//! cost of a function, with everything it calls, is the sum over the calls made to it from
//! outside it. Calls between two compression functions (the dispatcher `compress256` calling
//! the software backend) are inside already and are not counted twice.

/// Whether `function` is part of SHA-256's compression: the `sha2` crate's `sha256` module (its
/// `compress256` and the backends it dispatches to; the block buffering and padding live in
/// `sha2::block_api` or `sha2::core_api` and are not included), and the block function of
/// `hmac-sha256`, the SHA-256 that `jwt-simple` brings.
pub fn is_compression(function: &str) -> bool {
    function.starts_with("sha2::sha256::")
        || function.starts_with("hmac_sha256::State::blocks")
        || function.starts_with("hmac_sha256::W::")
}

/// Whether `function` is an entry point of Rust's global allocator that obtains memory: what the
/// counting allocator of `tests/allocations.rs` counts (alloc, alloc_zeroed, realloc).
pub fn is_allocation(function: &str) -> bool {
    matches!(function, "__rustc::__rust_alloc" | "__rustc::__rust_alloc_zeroed" | "__rustc::__rust_realloc")
}

/// The figures of one callgrind output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figures {
    /// Instructions executed while collection was on.
    pub instructions: u64,
    /// Instructions executed inside SHA-256's compression function ([`is_compression`]).
    pub compression: u64,
    /// Calls into the global allocator that obtain memory ([`is_allocation`]).
    pub allocations: u64,
}

impl Figures {
    /// Instructions outside SHA-256's compression function.
    pub fn outside_compression(&self) -> u64 {
        self.instructions - self.compression
    }
}

/// Reads the figures from the text of a callgrind output file.
///
/// # Errors
/// A message naming what is missing or malformed: no `events:` line with `Ir`, no `summary:` or
/// `totals:` line, a `calls=` line without its cost line, or a number that does not parse.
pub fn parse(text: &str) -> Result<Figures, String> {
    let mut ir_column = None;
    let mut positions = 1;
    let mut total = None;
    let mut compression = 0u64;
    let mut allocations = 0u64;
    let mut caller = String::new();
    let mut callee = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(events) = line.strip_prefix("events:") {
            ir_column = events.split_whitespace().position(|event| event == "Ir");
        } else if let Some(kinds) = line.strip_prefix("positions:") {
            positions = kinds.split_whitespace().count();
        } else if let Some(costs) = line.strip_prefix("summary:").or_else(|| line.strip_prefix("totals:")) {
            let column = ir_column.ok_or("no Ir event before the summary")?;
            total = Some(number(costs.split_whitespace().nth(column).unwrap_or("0"))?);
        } else if let Some(name) = line.strip_prefix("fn=") {
            caller = name.to_owned();
        } else if let Some(name) = line.strip_prefix("cfn=") {
            callee = name.to_owned();
        } else if let Some(call) = line.strip_prefix("calls=") {
            let count = number(call.split_whitespace().next().unwrap_or(""))?;
            let cost_line = lines.next().ok_or("a calls= line without its cost line")?;
            let column = ir_column.ok_or("no Ir event before the first call")?;
            let inclusive = cost_line.split_whitespace().nth(positions + column).map_or(Ok(0), number)?;
            if is_compression(&callee) && !is_compression(&caller) {
                compression += inclusive;
            }
            if is_allocation(&callee) && !is_allocation(&caller) {
                allocations += count;
            }
        }
    }
    let instructions = total.ok_or("no summary: or totals: line")?;
    Ok(Figures { instructions, compression, allocations })
}

fn number(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("{text:?} is not a count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape gungraun writes: a benchmark function calling the `hmac` crate, which calls the
    /// compression dispatcher, which calls the software backend; and one allocation.
    const FILE: &str = "\
# callgrind format
version: 1
positions: line
events: Ir Dr Dw
summary: 1000 10 10

fn=bench::wrapper
10 100 1 1
cfn=hmac::finalize
calls=2 20
11 700 5 5
cfn=__rustc::__rust_alloc
calls=3 30
12 50 1 1

fn=hmac::finalize
20 100
cfn=sha2::sha256::compress256
calls=4 40
21 600 4 4

fn=sha2::sha256::compress256
40 20
cfn=sha2::sha256::soft::unroll::compress
calls=4 50
41 580 4 4

fn=__rustc::__rust_alloc
30 10
cfn=__rustc::__rust_alloc
calls=1 30
31 5
";

    #[test]
    fn reads_the_total_the_compression_and_the_allocations() {
        let figures = parse(FILE).unwrap();
        assert_eq!(figures, Figures { instructions: 1000, compression: 600, allocations: 3 });
        assert_eq!(figures.outside_compression(), 400);
    }

    #[test]
    fn the_ir_column_is_found_by_name() {
        let text =
            FILE.replace("events: Ir Dr Dw", "events: Dr Ir Dw").replace("summary: 1000 10 10", "summary: 10 1000 10");
        // With Ir second, the call costs read are now the Dr figures.
        let figures = parse(&text).unwrap();
        assert_eq!((figures.instructions, figures.compression), (1000, 4));
    }

    #[test]
    fn a_file_without_a_summary_is_refused() {
        let text = FILE.replace("summary: 1000 10 10", "");
        assert_eq!(parse(&text), Err("no summary: or totals: line".to_owned()));
        assert!(parse("events: Ir\nsummary: many\n").unwrap_err().contains("not a count"));
    }

    #[test]
    fn compression_functions_are_the_sha256_modules_only() {
        assert!(is_compression("sha2::sha256::compress256"));
        assert!(is_compression("sha2::sha256::soft::unroll::compress"));
        assert!(is_compression("hmac_sha256::State::blocks"));
        assert!(!is_compression("<sha2::block_api::Sha256VarCore as digest::core_api::UpdateCore>::update_blocks"));
        assert!(!is_compression("hmac::finalize"));
    }
}
