//! Seconds since the Unix epoch as UTC dates (`2023-11-14T22:13:20Z`), without a date library.
//!
//! The conversion counts days in whole 400-year cycles of the proleptic Gregorian calendar, each
//! exactly 146,097 days long, with the year starting on 1 March so that the leap day falls at the
//! end of it. Inside a cycle the year and the day of the year then follow from integer division
//! alone, and the month from the fact that the months March to January alternate in a fixed
//! 31/30 pattern that a linear formula reproduces.

/// Earliest time shown as a date: 0000-01-01T00:00:00Z.
pub(crate) const SHOWN_SECS_MIN: i64 = -62_167_219_200;
/// Latest time shown as a date: 9999-12-31T23:59:59Z. Later values are not plausible token
/// times and would not fit the four-digit year.
pub(crate) const SHOWN_SECS_MAX: i64 = 253_402_300_799;

const SECS_PER_DAY: i64 = 86_400;
/// Days in 400 Gregorian years: 400 * 365 + 100 leap days - 3 skipped ones.
const DAYS_PER_ERA: i64 = 146_097;
/// Days from 0000-03-01 (the start of the era that contains 1970) to 1970-01-01.
const EPOCH_DAYS_AFTER_ERA_START: i64 = 719_468;

/// A calendar date in the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Date {
    pub(crate) year: i64,
    pub(crate) month: u8,
    pub(crate) day: u8,
}

/// The date `days` days after 1970-01-01 (before it, when negative).
pub(crate) fn date_from_days(days: i64) -> Date {
    let shifted = days + EPOCH_DAYS_AFTER_ERA_START;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    // Day of the era, 0..=146_096.
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA);
    // Year of the era, 0..=399. Every 4th year adds a day, every 100th takes one back, and the
    // 400th adds it again; subtracting those corrections makes the division by 365 exact.
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    // Day of the March-based year, 0..=365.
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Month counted from March = 0; (153 * month + 2) / 5 is the first day of that month.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    // January and February belong to the next calendar year.
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    // Both fit: month is 1..=12 and day 1..=31 by construction.
    Date { year, month: month as u8, day: day as u8 }
}

/// `secs` as `YYYY-MM-DDTHH:MM:SSZ`, or `None` outside [`SHOWN_SECS_MIN`]..=[`SHOWN_SECS_MAX`].
pub(crate) fn format(secs: i64) -> Option<String> {
    if !(SHOWN_SECS_MIN..=SHOWN_SECS_MAX).contains(&secs) {
        return None;
    }
    let date = date_from_days(secs.div_euclid(SECS_PER_DAY));
    let second_of_day = secs.rem_euclid(SECS_PER_DAY);
    let (hour, minute, second) = (second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
    Some(format!("{:04}-{:02}-{:02}T{hour:02}:{minute:02}:{second:02}Z", date.year, date.month, date.day))
}

/// [`format()`] for an unsigned time, as key files store it; `-` when it cannot be shown.
pub(crate) fn format_unsigned(secs: u64) -> String {
    i64::try_from(secs).ok().and_then(format).unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(format(1_700_000_000).as_deref(), Some("2023-11-14T22:13:20Z"));
        // RFC 7519 section 3.1's exp.
        assert_eq!(format(1_300_819_380).as_deref(), Some("2011-03-22T18:43:00Z"));
        assert_eq!(format(951_782_400).as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(format(4_107_542_400).as_deref(), Some("2100-03-01T00:00:00Z"));
        assert_eq!(format(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(format(SHOWN_SECS_MIN).as_deref(), Some("0000-01-01T00:00:00Z"));
        assert_eq!(format(SHOWN_SECS_MAX).as_deref(), Some("9999-12-31T23:59:59Z"));
        assert_eq!(format(SHOWN_SECS_MAX + 1), None);
        assert_eq!(format(SHOWN_SECS_MIN - 1), None);
        assert_eq!(format_unsigned(u64::MAX), "-");
    }

    /// Walks every day from 0000-01-01 to 9999-12-31 and checks each date follows the previous
    /// one under the calendar's own rules, which pins down the whole conversion.
    #[test]
    fn consecutive_days_follow_the_calendar() {
        let is_leap = |year: i64| year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = |year: i64, month: u8| match month {
            2 if is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let first = SHOWN_SECS_MIN / SECS_PER_DAY;
        let last = SHOWN_SECS_MAX / SECS_PER_DAY;
        let mut previous = date_from_days(first);
        assert_eq!(previous, Date { year: 0, month: 1, day: 1 });
        for days in first + 1..=last {
            let date = date_from_days(days);
            let expected = if previous.day < days_in_month(previous.year, previous.month) {
                Date { day: previous.day + 1, ..previous }
            } else if previous.month < 12 {
                Date { month: previous.month + 1, day: 1, ..previous }
            } else {
                Date { year: previous.year + 1, month: 1, day: 1 }
            };
            assert_eq!(date, expected, "day {days}");
            previous = date;
        }
        assert_eq!(previous, Date { year: 9999, month: 12, day: 31 });
        assert_eq!(date_from_days(0), Date { year: 1970, month: 1, day: 1 });
    }
}
