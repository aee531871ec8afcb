//! Calendar dates in a transcript, resolved against a given today: "yesterday", "last
//! Tuesday", "three days ago", "March 3rd", "the third of March", "3/14/2024",
//! "June fifth nineteen eighty five".
//!
//! Without a year a date is the most recent one on or before today: callers of a bank talk
//! about charges and birthdays, which are in the past.

use super::entities::Miss;
use super::numbers::{NumberForm, Token};
use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

const WEEKDAYS: &[(&str, Weekday)] = &[
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("tuesdays", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("wensday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("thursdays", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
    ("mondays", Weekday::Mon),
    ("wednesdays", Weekday::Wed),
    ("fridays", Weekday::Fri),
    ("saturdays", Weekday::Sat),
    ("sundays", Weekday::Sun),
];

fn word(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

fn month_at(tokens: &[Token], i: usize) -> Option<u32> {
    let w = word(tokens, i)?;
    MONTHS.iter().find(|(m, _)| *m == w).map(|(_, n)| *n)
}

/// A day of the month at `i`: an ordinal or a number from 1 to 31.
fn day_at(tokens: &[Token], i: usize) -> Option<u32> {
    match tokens.get(i)? {
        Token::Ordinal(n) if (1..=31).contains(n) => Some(*n),
        Token::Number(n) if n.digits.len() <= 2 => {
            n.value().map(|v| v as u32).filter(|d| (1..=31).contains(d))
        }
        _ => None,
    }
}

/// A year at `i` ("2024", "twenty twenty four", "nineteen eighty five", "two thousand
/// five"), and how many tokens it used.
fn year_at(tokens: &[Token], i: usize) -> Option<(i32, usize)> {
    let i = if word(tokens, i) == Some("in") {
        i + 1
    } else {
        i
    };
    let skip = usize::from(i > 0 && word(tokens, i - 1) == Some("in"));
    let Some(Token::Number(first)) = tokens.get(i) else {
        return None;
    };
    if first.digits.len() == 4 {
        return first.digits.parse().ok().map(|y| (y, 1 + skip));
    }
    if first.digits.len() != 2
        || first.form == NumberForm::Written
        || !matches!(first.digits.as_str(), "19" | "20")
    {
        return None;
    }
    match (tokens.get(i + 1), tokens.get(i + 2)) {
        // "nineteen oh five"
        (Some(Token::Number(zero)), Some(Token::Number(unit)))
            if zero.digits == "0" && unit.digits.len() == 1 =>
        {
            let year: i32 = format!("{}0{}", first.digits, unit.digits).parse().ok()?;
            Some((year, 3 + skip))
        }
        // "nineteen eighty five", "twenty twenty four"
        (Some(Token::Number(second)), _) if second.digits.len() == 2 => {
            let year: i32 = format!("{}{}", first.digits, second.digits).parse().ok()?;
            Some((year, 2 + skip))
        }
        _ => None,
    }
}

/// Finds the date a caller said.
pub fn extract(tokens: &[Token], today: NaiveDate) -> Result<NaiveDate, Miss> {
    for i in 0..tokens.len() {
        if let Some(found) = date_at(tokens, i, today) {
            return found;
        }
    }
    Err(Miss::NotFound("date"))
}

fn date_at(tokens: &[Token], i: usize, today: NaiveDate) -> Option<Result<NaiveDate, Miss>> {
    if let Some(w) = word(tokens, i) {
        match w {
            "today" | "tonight" => return Some(Ok(today)),
            "yesterday" => {
                let before = word(tokens, i.wrapping_sub(1)) == Some("before")
                    && word(tokens, i.wrapping_sub(2)) == Some("day");
                let days = if before { 2 } else { 1 };
                return Some(days_before(today, days));
            }
            "tomorrow" => {
                return Some(
                    today
                        .checked_add_days(Days::new(1))
                        .ok_or(Miss::InvalidDate),
                );
            }
            _ => {}
        }
        if let Some(weekday) = WEEKDAYS.iter().find(|(d, _)| *d == w).map(|(_, d)| *d) {
            let modifier = word(tokens, i.wrapping_sub(1));
            return Some(weekday_date(today, weekday, modifier));
        }
        if let Some(month) = month_at(tokens, i) {
            // "March 3rd", "March the third", "March 3 2024".
            let mut j = i + 1;
            if word(tokens, j) == Some("the") {
                j += 1;
            }
            if let Some(day) = day_at(tokens, j) {
                let year = year_at(tokens, j + 1).map(|(y, _)| y);
                return Some(resolve(today, year, month, day));
            }
            // "March 2024" without a day is not a date.
        }
        if w == "ago" {
            return ago(tokens, i, today);
        }
    }
    if let Some(day) = day_at(tokens, i) {
        // "the third of March", "3rd March", "3 of March 2024".
        let mut j = i + 1;
        if word(tokens, j) == Some("of") {
            j += 1;
        }
        if let Some(month) = month_at(tokens, j) {
            let year = year_at(tokens, j + 1).map(|(y, _)| y);
            return Some(resolve(today, year, month, day));
        }
        // "3/14/2024", "3/14".
        if matches!(tokens.get(i + 1), Some(Token::Slash))
            && let Some(second) = day_at(tokens, i + 2)
        {
            let year = match (tokens.get(i + 3), tokens.get(i + 4)) {
                (Some(Token::Slash), Some(Token::Number(y))) => {
                    y.value().map(|y| full_year(y, today))
                }
                _ => None,
            };
            return Some(resolve(today, year, day, second));
        }
        // "on the fifth": a day of this month, or of last month if still to come.
        if matches!(tokens.get(i), Some(Token::Ordinal(_)))
            && word(tokens, i.wrapping_sub(1)) == Some("the")
        {
            return Some(day_of_recent_month(today, day));
        }
    }
    None
}

fn days_before(today: NaiveDate, days: u64) -> Result<NaiveDate, Miss> {
    today
        .checked_sub_days(Days::new(days))
        .ok_or(Miss::InvalidDate)
}

fn weekday_date(
    today: NaiveDate,
    weekday: Weekday,
    modifier: Option<&str>,
) -> Result<NaiveDate, Miss> {
    let back = (7 + today.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    match modifier {
        Some("next") | Some("coming") => {
            let ahead =
                (7 + weekday.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
            let ahead = if ahead == 0 { 7 } else { ahead };
            today
                .checked_add_days(Days::new(u64::from(ahead)))
                .ok_or(Miss::InvalidDate)
        }
        // "last Tuesday" said on a Tuesday is a week ago.
        Some("last") | Some("past") if back == 0 => days_before(today, 7),
        _ => days_before(today, u64::from(back)),
    }
}

/// "three days ago", "a week ago", "two weeks ago", "a couple of days ago".
fn ago(tokens: &[Token], i: usize, today: NaiveDate) -> Option<Result<NaiveDate, Miss>> {
    let unit = word(tokens, i.checked_sub(1)?)?;
    let per = match unit {
        "day" | "days" => 1,
        "week" | "weeks" => 7,
        "month" | "months" => {
            let n = count_before(tokens, i - 1)?;
            return Some(
                today
                    .checked_sub_months(Months::new(n as u32))
                    .ok_or(Miss::InvalidDate),
            );
        }
        _ => return None,
    };
    let n = count_before(tokens, i - 1)?;
    Some(
        n.checked_mul(per)
            .ok_or(Miss::InvalidDate)
            .and_then(|d| days_before(today, d)),
    )
}

fn count_before(tokens: &[Token], unit_at: usize) -> Option<u64> {
    let k = unit_at.checked_sub(1)?;
    match tokens.get(k)? {
        Token::Number(n) => n.value().filter(|v| *v < 10_000),
        Token::Word(w) if w == "a" || w == "one" => Some(1),
        Token::Word(w) if w == "of" && word(tokens, k.wrapping_sub(1)) == Some("couple") => Some(2),
        Token::Word(w) if w == "couple" => Some(2),
        _ => None,
    }
}

fn full_year(y: u64, today: NaiveDate) -> i32 {
    let y = y as i32;
    if y >= 100 {
        return y;
    }
    let century = today.year() / 100 * 100;
    if century + y <= today.year() {
        century + y
    } else {
        century - 100 + y
    }
}

fn resolve(today: NaiveDate, year: Option<i32>, month: u32, day: u32) -> Result<NaiveDate, Miss> {
    if let Some(year) = year {
        return NaiveDate::from_ymd_opt(year, month, day).ok_or(Miss::InvalidDate);
    }
    // The most recent such date on or before today.
    for year in [
        today.year(),
        today.year() - 1,
        today.year() - 2,
        today.year() - 3,
        today.year() - 4,
    ] {
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, day)
            && date <= today
        {
            return Ok(date);
        }
    }
    Err(Miss::InvalidDate)
}

fn day_of_recent_month(today: NaiveDate, day: u32) -> Result<NaiveDate, Miss> {
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), day);
    if let Some(date) = this_month
        && date <= today
    {
        return Ok(date);
    }
    let last_month = today
        .checked_sub_months(Months::new(1))
        .ok_or(Miss::InvalidDate)?;
    NaiveDate::from_ymd_opt(last_month.year(), last_month.month(), day).ok_or(Miss::InvalidDate)
}

#[cfg(test)]
mod tests {
    use super::super::normalise::lex;
    use super::super::numbers::parse;
    use super::super::spoken::spell;
    use super::*;
    use proptest::prelude::*;

    /// A Friday.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    fn date(text: &str) -> Result<String, Miss> {
        extract(&parse(&lex(text)), today()).map(|d| d.to_string())
    }

    #[test]
    fn relative_days() {
        assert_eq!(date("yesterday").unwrap(), "2026-11-19");
        assert_eq!(date("the day before yesterday").unwrap(), "2026-11-18");
        assert_eq!(date("it was today").unwrap(), "2026-11-20");
        assert_eq!(date("three days ago").unwrap(), "2026-11-17");
        assert_eq!(date("a week ago").unwrap(), "2026-11-13");
        assert_eq!(date("a couple of days ago").unwrap(), "2026-11-18");
    }

    #[test]
    fn weekdays() {
        assert_eq!(date("last Tuesday").unwrap(), "2026-11-17");
        assert_eq!(date("on tuesday").unwrap(), "2026-11-17");
        assert_eq!(date("last friday").unwrap(), "2026-11-13");
        assert_eq!(date("friday").unwrap(), "2026-11-20");
        assert_eq!(date("next monday").unwrap(), "2026-11-23");
    }

    #[test]
    fn month_and_day() {
        assert_eq!(date("March 3rd").unwrap(), "2026-03-03");
        assert_eq!(date("the third of March").unwrap(), "2026-03-03");
        assert_eq!(date("march the third").unwrap(), "2026-03-03");
        assert_eq!(date("December 25").unwrap(), "2025-12-25");
        assert_eq!(date("march twenty third").unwrap(), "2026-03-23");
        assert_eq!(date("3/14").unwrap(), "2026-03-14");
        assert_eq!(date("on the fifth").unwrap(), "2026-11-05");
        assert_eq!(date("on the twenty fifth").unwrap(), "2026-10-25");
    }

    #[test]
    fn with_years() {
        assert_eq!(
            date("June fifth nineteen eighty five").unwrap(),
            "1985-06-05"
        );
        assert_eq!(date("March 3rd, 2024").unwrap(), "2024-03-03");
        assert_eq!(
            date("the 3rd of march twenty twenty four").unwrap(),
            "2024-03-03"
        );
        assert_eq!(date("3/14/2024").unwrap(), "2024-03-14");
        assert_eq!(date("3/14/85").unwrap(), "1985-03-14");
        assert_eq!(
            date("january first two thousand five").unwrap(),
            "2005-01-01"
        );
    }

    #[test]
    fn impossible_or_missing_dates() {
        assert_eq!(date("February 30th"), Err(Miss::InvalidDate));
        assert_eq!(date("no idea"), Err(Miss::NotFound("date")));
        assert_eq!(date("99999 days ago"), Err(Miss::NotFound("date")));
        assert_eq!(date("9999 weeks ago").map(|_| ()), Ok(()));
    }

    const MONTH_NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    const DAY_ORDINALS: [&str; 31] = [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
        "twentieth",
        "twenty first",
        "twenty second",
        "twenty third",
        "twenty fourth",
        "twenty fifth",
        "twenty sixth",
        "twenty seventh",
        "twenty eighth",
        "twenty ninth",
        "thirtieth",
        "thirty first",
    ];

    /// A year the way callers say it: "nineteen eighty five", "two thousand five",
    /// "twenty twenty four".
    fn spoken_year(y: i32) -> String {
        let (century, rest) = (y / 100, y % 100);
        if century == 20 && rest < 10 {
            spell(y as u64, false)
        } else if rest == 0 {
            format!("{} hundred", spell(century as u64, false))
        } else if rest < 10 {
            format!(
                "{} oh {}",
                spell(century as u64, false),
                spell(rest as u64, false)
            )
        } else {
            format!(
                "{} {}",
                spell(century as u64, false),
                spell(rest as u64, false)
            )
        }
    }

    proptest! {
        #[test]
        fn spoken_dates_parse_back(days in 0i64..46_000, ordinal_first in any::<bool>()) {
            let date = NaiveDate::from_ymd_opt(1901, 1, 1).unwrap() + chrono::Duration::days(days);
            let month = MONTH_NAMES[date.month0() as usize];
            let day = DAY_ORDINALS[date.day0() as usize];
            let text = if ordinal_first {
                format!("the {day} of {month} {}", spoken_year(date.year()))
            } else {
                format!("{month} {day} {}", spoken_year(date.year()))
            };
            prop_assert_eq!(extract(&parse(&lex(&text)), today()), Ok(date), "{}", text);
        }

        #[test]
        fn days_ago_go_back_that_many_days(n in 0u64..3000) {
            let text = format!("{} days ago", spell(n, true));
            let expected = today() - chrono::Duration::days(n as i64);
            prop_assert_eq!(extract(&parse(&lex(&text)), today()), Ok(expected), "{}", text);
        }
    }
}
