//! Durations written as text, for command lines and configuration: `90s`, `15m`, `1h30m`,
//! `7d`, `500ms`.
//!
//! One grammar for every program of the workspace (the `tokenring` CLI, the demo service, the
//! simulator), so that a duration an operator copies from one to another means the same:
//!
//! * one or more parts, each a whole decimal number followed by a unit: `ms`, `s`, `m`
//!   (minutes), `h` or `d` (days of 24 hours);
//! * units from the largest to the smallest, each at most once (`1d12h`, `1h2m3s400ms`);
//! * nothing else: no sign, no fraction, no exponent, no spaces, no upper case, no bare number.
//!
//! The text is at most [`DURATION_TEXT_LEN_MAX`] bytes, and the duration at most
//! [`DURATION_SECS_MAX`] seconds, both checked before any arithmetic that could overflow.
//!
//! ```
//! use std::time::Duration;
//! use tokenring::duration::{self, DurationError};
//!
//! assert_eq!(duration::parse("1h30m"), Ok(Duration::from_secs(90 * 60)));
//! assert_eq!(duration::parse("250ms"), Ok(Duration::from_millis(250)));
//! assert_eq!(duration::parse_secs("7d"), Ok(7 * 86_400));
//! assert_eq!(duration::parse("90"), Err(DurationError::MissingUnit));
//! assert_eq!(duration::parse("30m1h"), Err(DurationError::UnitOrder));
//! assert_eq!(duration::parse_secs("1500ms"), Err(DurationError::FractionOfASecond));
//! ```
//!
//! [`DURATION_TEXT_LEN_MAX`]: crate::limits::DURATION_TEXT_LEN_MAX
//! [`DURATION_SECS_MAX`]: crate::limits::DURATION_SECS_MAX

use core::fmt;
use core::time::Duration;

use crate::limits::{DURATION_SECS_MAX, DURATION_TEXT_LEN_MAX};

/// Milliseconds in the longest duration accepted; every sum below it fits in a `u64`.
const DURATION_MILLIS_MAX: u64 = DURATION_SECS_MAX * 1000;

/// The units, largest first, with their length in milliseconds. A unit's position is its rank:
/// a later part must have a later unit.
const UNITS: [(&str, u64); 5] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)];

/// Why a duration's text was refused. The message names the rule that was broken and never
/// repeats the text, which may be anything a user typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationError {
    /// The text is empty.
    Empty,
    /// The text is longer than [`DURATION_TEXT_LEN_MAX`] bytes.
    TooLong,
    /// A part does not start with a decimal digit (a sign, a space, a letter, a fraction).
    NotANumber,
    /// A number is not followed by a unit (`90`, `1h30`).
    MissingUnit,
    /// A number is followed by something that is not one of the units (`3w`, `1H`, `1 h`).
    UnknownUnit,
    /// A unit is not smaller than the one before it (`30m1h`, `1s1s`).
    UnitOrder,
    /// The duration exceeds [`DURATION_SECS_MAX`] seconds.
    OverLimit,
    /// [`parse_secs`] was given a duration that is not a whole number of seconds (`1500ms`).
    FractionOfASecond,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("duration is empty; expected a number and a unit, like 90s, 15m, 1h or 7d"),
            Self::TooLong => write!(f, "duration text is longer than {DURATION_TEXT_LEN_MAX} bytes"),
            Self::NotANumber => {
                f.write_str("duration must be whole decimal numbers, each followed by a unit, like 90s, 1h30m or 7d")
            }
            Self::MissingUnit => f.write_str("duration needs a unit after each number: ms, s, m, h or d"),
            Self::UnknownUnit => f.write_str("duration has an unknown unit; the units are ms, s, m, h and d"),
            Self::UnitOrder => f.write_str("duration units must go from the largest to the smallest, each once"),
            Self::OverLimit => write!(f, "duration is longer than {} days", DURATION_SECS_MAX / 86_400),
            Self::FractionOfASecond => f.write_str("duration must be a whole number of seconds here"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Reads a duration (see the [module](self) for the grammar).
///
/// # Errors
/// A [`DurationError`] naming the first rule the text breaks.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.len() > DURATION_TEXT_LEN_MAX {
        return Err(DurationError::TooLong);
    }
    let mut rest = text.as_bytes();
    let mut total_millis: u64 = 0;
    // Rank of the last unit read; the next must have a higher one.
    let mut next_rank = 0;
    while !rest.is_empty() {
        let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
        if digits == 0 {
            return Err(DurationError::NotANumber);
        }
        let mut number: u64 = 0;
        for &digit in &rest[..digits] {
            number = number
                .checked_mul(10)
                .and_then(|number| number.checked_add(u64::from(digit - b'0')))
                .ok_or(DurationError::OverLimit)?;
        }
        rest = &rest[digits..];
        let letters = rest.iter().take_while(|byte| !byte.is_ascii_digit()).count();
        if letters == 0 {
            return Err(DurationError::MissingUnit);
        }
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let rank = UNITS.iter().position(|(name, _)| name.as_bytes() == unit).ok_or(DurationError::UnknownUnit)?;
        if rank < next_rank {
            return Err(DurationError::UnitOrder);
        }
        next_rank = rank + 1;
        total_millis = number
            .checked_mul(UNITS[rank].1)
            .and_then(|part| total_millis.checked_add(part))
            .filter(|&total| total <= DURATION_MILLIS_MAX)
            .ok_or(DurationError::OverLimit)?;
    }
    Ok(Duration::from_millis(total_millis))
}

/// Reads a duration that must be a whole number of seconds, as the library's own settings are
/// ([`KeyRing::issue`](crate::KeyRing::issue)'s time-to-live, [`Rotation`](crate::Rotation)'s
/// times).
///
/// # Errors
/// A [`DurationError`], as for [`parse`], and [`DurationError::FractionOfASecond`].
pub fn parse_secs(text: &str) -> Result<u64, DurationError> {
    let duration = parse(text)?;
    if duration.subsec_nanos() != 0 {
        return Err(DurationError::FractionOfASecond);
    }
    Ok(duration.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn accepts_each_unit_and_sums_in_order() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_secs("90s"), Ok(90));
        assert_eq!(parse_secs("15m"), Ok(900));
        assert_eq!(parse_secs("1h"), Ok(3600));
        assert_eq!(parse_secs("7d"), Ok(7 * DAY));
        assert_eq!(parse_secs("0s"), Ok(0));
        assert_eq!(parse_secs("0d"), Ok(0));
        assert_eq!(parse_secs("010m"), Ok(600), "a leading zero is harmless");
        assert_eq!(parse("1d12h30s"), Ok(Duration::from_secs(DAY + 12 * 3600 + 30)));
        assert_eq!(parse("1h2m3s400ms"), Ok(Duration::from_millis(3_723_400)));
        assert_eq!(parse("1d1ms"), Ok(Duration::from_millis(DAY * 1000 + 1)));
        assert_eq!(parse_secs("2000ms"), Ok(2));
    }

    #[test]
    fn accepts_exactly_the_limit() {
        let days = DURATION_SECS_MAX / DAY;
        assert_eq!(DURATION_SECS_MAX % DAY, 0);
        assert_eq!(parse_secs(&format!("{DURATION_SECS_MAX}s")), Ok(DURATION_SECS_MAX));
        assert_eq!(parse_secs(&format!("{days}d")), Ok(DURATION_SECS_MAX));
        assert_eq!(parse_secs(&format!("{}s", DURATION_SECS_MAX + 1)), Err(DurationError::OverLimit));
        assert_eq!(parse(&format!("{DURATION_MILLIS_MAX}ms")), Ok(Duration::from_secs(DURATION_SECS_MAX)));
        assert_eq!(parse(&format!("{}d1ms", days)), Err(DurationError::OverLimit));
        assert_eq!(parse(&format!("{}d", days + 1)), Err(DurationError::OverLimit));
        // The longest text of the longest duration fits the text limit.
        let longest = format!("{}d23h59m59s999ms", days - 1);
        assert!(longest.len() <= DURATION_TEXT_LEN_MAX);
        assert_eq!(parse(&longest), Ok(Duration::from_millis(DURATION_MILLIS_MAX - 1)));
    }

    #[test]
    fn refuses_overflow_and_long_text() {
        assert_eq!(parse("18446744073709551615s"), Err(DurationError::OverLimit));
        assert_eq!(parse("18446744073709551616s"), Err(DurationError::OverLimit));
        assert_eq!(parse("99999999999999999999d"), Err(DurationError::OverLimit));
        assert_eq!(parse("213503982334601d"), Err(DurationError::OverLimit));
        assert_eq!(parse(&format!("{}s", "9".repeat(DURATION_TEXT_LEN_MAX))), Err(DurationError::TooLong));
        assert_eq!(parse(&format!("{}1s", "0".repeat(DURATION_TEXT_LEN_MAX - 2))), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn refuses_what_is_not_the_grammar() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        for text in ["1", "90", "1h30", "0"] {
            assert_eq!(parse(text), Err(DurationError::MissingUnit), "{text:?}");
        }
        for text in ["1x", "3w", "1H", "1S", "1 h", "1hh", "1h ", "1é", "1\u{0}", "1sec", "1m s", "1_000s", "1.5h"] {
            assert_eq!(parse(text), Err(DurationError::UnknownUnit), "{text:?}");
        }
        for text in ["h", "d", "-5m", "+5m", " 5m", "x1s", "٣s", "h5", "ms"] {
            assert_eq!(parse(text), Err(DurationError::NotANumber), "{text:?}");
        }
        for text in ["30m1h", "1s1s", "1ms1s", "1m1d", "5s5s"] {
            assert_eq!(parse(text), Err(DurationError::UnitOrder), "{text:?}");
        }
        assert_eq!(parse("0x10s"), Err(DurationError::UnknownUnit));
        assert_eq!(parse("1e3s"), Err(DurationError::UnknownUnit));
        assert_eq!(parse_secs("1500ms"), Err(DurationError::FractionOfASecond));
        assert_eq!(parse_secs("1s1ms"), Err(DurationError::FractionOfASecond));
    }

    #[test]
    fn messages_are_lowercase_and_do_not_repeat_the_input() {
        for input in ["", "secret-s", "12secret", "1h1h", "1secret", "99999999999999999999s", &"7".repeat(40), "1500ms"]
        {
            let error = parse_secs(input).unwrap_err();
            let message = error.to_string();
            assert!(message.starts_with("duration "), "{message}");
            assert!(!message.contains("secret") && !message.contains("9999") && !message.contains("777"), "{message}");
        }
    }
}
