//! Durations on the command line: a whole number and one unit, like `90s`, `15m`, `1h`, `7d`.
//!
//! The grammar is deliberately small: ASCII digits without a sign or leading zeros, then exactly
//! one of `s`, `m`, `h`, `d`. Anything else (`1h30m`, `1.5h`, ` 1h`, `0x10s`, `-5m`, `1H`) is
//! refused rather than guessed at, and so is any value over [`DURATION_SECS_MAX`].

use std::fmt;

use tokenring::limits::DURATION_SECS_MAX;

/// Longest duration text considered, in bytes. Ten years in seconds has 9 digits; anything far
/// longer is refused before any arithmetic.
const DURATION_TEXT_LEN_MAX: usize = 24;

/// Why a duration was refused. Messages do not repeat the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// The text is empty.
    Empty,
    /// The text is longer than any valid duration.
    TooLong,
    /// The text does not end in one of the units.
    MissingUnit,
    /// The part before the unit is not a plain decimal number.
    NotANumber,
    /// The number has a superfluous leading zero (`010m`, `0x1s`).
    LeadingZero,
    /// The duration exceeds [`DURATION_SECS_MAX`].
    OverLimit,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("duration is empty; expected a number and a unit, like 90s, 15m, 1h or 7d"),
            Self::TooLong => f.write_str("duration text is too long"),
            Self::MissingUnit => f.write_str("duration needs a unit: s, m, h or d (like 90s, 15m, 1h or 7d)"),
            Self::NotANumber => f.write_str("duration must be a whole decimal number and a unit, like 90s or 7d"),
            Self::LeadingZero => f.write_str("duration must not have leading zeros"),
            Self::OverLimit => write!(f, "duration is longer than ten years ({DURATION_SECS_MAX} seconds)"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration into seconds.
///
/// # Errors
/// A [`DurationError`] saying what is wrong with the text.
pub(crate) fn parse_secs(text: &str) -> Result<u64, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.len() > DURATION_TEXT_LEN_MAX {
        return Err(DurationError::TooLong);
    }
    let (digits, unit) = text.split_at(text.len() - text.chars().next_back().map_or(0, char::len_utf8));
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(DurationError::MissingUnit),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(DurationError::NotANumber);
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(DurationError::LeadingZero);
    }
    let mut count: u64 = 0;
    for byte in digits.bytes() {
        count = count
            .checked_mul(10)
            .and_then(|count| count.checked_add(u64::from(byte - b'0')))
            .ok_or(DurationError::OverLimit)?;
    }
    let secs = count.checked_mul(unit_secs).ok_or(DurationError::OverLimit)?;
    if secs > DURATION_SECS_MAX {
        return Err(DurationError::OverLimit);
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_unit() {
        assert_eq!(parse_secs("90s"), Ok(90));
        assert_eq!(parse_secs("15m"), Ok(900));
        assert_eq!(parse_secs("1h"), Ok(3600));
        assert_eq!(parse_secs("7d"), Ok(604_800));
        assert_eq!(parse_secs("0s"), Ok(0));
        assert_eq!(parse_secs("0d"), Ok(0));
    }

    #[test]
    fn accepts_exactly_the_limit() {
        assert_eq!(parse_secs(&format!("{DURATION_SECS_MAX}s")), Ok(DURATION_SECS_MAX));
        assert_eq!(parse_secs(&format!("{}s", DURATION_SECS_MAX + 1)), Err(DurationError::OverLimit));
        assert_eq!(parse_secs(&format!("{}d", DURATION_SECS_MAX / 86_400)), Ok(DURATION_SECS_MAX));
        assert_eq!(parse_secs(&format!("{}d", DURATION_SECS_MAX / 86_400 + 1)), Err(DurationError::OverLimit));
    }

    #[test]
    fn refuses_overflow() {
        assert_eq!(parse_secs("18446744073709551615s"), Err(DurationError::OverLimit));
        assert_eq!(parse_secs("18446744073709551616s"), Err(DurationError::OverLimit));
        assert_eq!(parse_secs("99999999999999999999d"), Err(DurationError::OverLimit));
        assert_eq!(parse_secs("213503982334601d"), Err(DurationError::OverLimit));
        assert_eq!(parse_secs(&format!("{}s", "9".repeat(30))), Err(DurationError::TooLong));
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(parse_secs(""), Err(DurationError::Empty));
        for text in ["1", "90", "h", "1x", "1H", "1S", "1 h", "1hh", "1h ", "1é", "1\u{0}"] {
            assert!(
                matches!(parse_secs(text), Err(DurationError::MissingUnit | DurationError::NotANumber)),
                "{text:?}"
            );
        }
        for text in ["-5m", "+5m", " 5m", "1.5h", "1h30m", "1e3s", "0x10s", "x1s", "٣s", "1_000s"] {
            assert_eq!(parse_secs(text), Err(DurationError::NotANumber), "{text:?}");
        }
        assert_eq!(parse_secs("0x"), Err(DurationError::MissingUnit));
        assert_eq!(parse_secs("010m"), Err(DurationError::LeadingZero));
        assert_eq!(parse_secs("00s"), Err(DurationError::LeadingZero));
    }

    #[test]
    fn messages_do_not_repeat_the_input() {
        let input = "secret-looking-input-s";
        let error = parse_secs(input).unwrap_err();
        assert!(!error.to_string().contains("secret"));
    }
}
