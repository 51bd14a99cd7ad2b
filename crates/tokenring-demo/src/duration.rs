//! Durations on the command line: a whole number with a unit, `ms`, `s`, `m` or `h`.

use std::time::Duration;

/// Longest duration accepted (one day): the reloader clamps its poll to this anyway.
const DURATION_MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses `500ms`, `10s`, `2m`, `1h`.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let split = text.find(|character: char| !character.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| "expected a whole number with a unit: 500ms, 10s, 2m, 1h".to_owned())?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err("expected a unit: ms, s, m or h".to_owned()),
    };
    let duration = Duration::from_millis(number.saturating_mul(millis_per_unit));
    if duration.is_zero() || duration > DURATION_MAX {
        return Err("expected a duration above zero and at most 24h".to_owned());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("24h"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "s", "10", "0s", "25h", "1.5s", "-1s", "10 s", "99999999999999999999s", "1d"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
