//! Readback: a value (a balance, an account number, a date, a time) turned into the en-US
//! prompt ids that speak it, e.g. `-12.50` as money is `minus twelve dollars and fifty
//! cents`. Pure: the call shell looks the ids up in the prompt catalog and joins their
//! samples with [`super::gapless`]. Every id produced is listed in [`READBACK_PROMPTS`]
//! (the words of `prompts/en-US/core.txt` and `readback.txt`), so `hotline check` can tell
//! whether a language folder can speak every readback.
//!
//! Errors never quote the value: a readback may be asked to speak a PIN.

use crate::dialplan::template::ReadAs;
use chrono::NaiveDate;

/// What a value is read back as. The dialplan's `{var:type}` readbacks map onto the first
/// five; ordinals and times are for callers of this module (and future template types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoken {
    /// Digit by digit, `*` and `#` included: "four one one".
    Digits,
    /// A whole number, or one with a decimal part: "one hundred twenty point five".
    Number,
    /// Dollars and cents, negative and zero included.
    Money,
    /// A calendar date `YYYY-MM-DD`: "March third, twenty twenty-six".
    Date,
    /// A position: "twenty-first".
    Ordinal,
    /// A clock time `HH:MM` (24-hour): "nine oh five P M".
    Time,
}

impl From<ReadAs> for Spoken {
    fn from(read_as: ReadAs) -> Self {
        match read_as {
            ReadAs::Digits => Spoken::Digits,
            ReadAs::Money => Spoken::Money,
            ReadAs::Date => Spoken::Date,
            // Plain text can only be spoken from recordings when it is a number.
            ReadAs::Number | ReadAs::Text => Spoken::Number,
        }
    }
}

/// Why a value cannot be read back. Deliberately without the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read back a {len}-character value as {kind:?}: {reason}")]
pub struct ReadbackError {
    pub kind: Spoken,
    pub len: usize,
    pub reason: &'static str,
}

/// The largest number spoken: just under a trillion.
pub const MAX_NUMBER: u64 = 999_999_999_999;

/// Every prompt id a readback can produce.
pub const READBACK_PROMPTS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "million",
    "billion",
    "star",
    "hash",
    "point",
    "minus",
    "and",
    "dollar",
    "dollars",
    "cent",
    "cents",
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
    "twenty-first",
    "twenty-second",
    "twenty-third",
    "twenty-fourth",
    "twenty-fifth",
    "twenty-sixth",
    "twenty-seventh",
    "twenty-eighth",
    "twenty-ninth",
    "thirtieth",
    "thirty-first",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
    "hundredth",
    "thousandth",
    "millionth",
    "billionth",
    "oh",
    "am",
    "pm",
    "noon",
    "midnight",
];

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const ORDINAL_ONES: [&str; 20] = [
    "zeroth",
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
];
const ORDINAL_TENS: [&str; 10] = [
    "",
    "",
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
];
const MONTHS: [&str; 12] = [
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

/// The prompt ids a dialplan readback type may need, for `hotline check`.
pub fn prompts_for(read_as: ReadAs) -> Vec<&'static str> {
    let number_words = || {
        let mut v: Vec<&'static str> = ONES.to_vec();
        v.extend(&TENS[2..]);
        v.extend(["hundred", "thousand", "million", "billion"]);
        v
    };
    let mut ids = match Spoken::from(read_as) {
        Spoken::Digits => {
            let mut v = ONES[..10].to_vec();
            v.extend(["star", "hash"]);
            v
        }
        Spoken::Number => {
            let mut v = number_words();
            v.extend(["minus", "point"]);
            v
        }
        Spoken::Money => {
            let mut v = number_words();
            v.extend(["minus", "and", "dollar", "dollars", "cent", "cents"]);
            v
        }
        Spoken::Date => {
            let mut v = number_words();
            v.extend(MONTHS);
            v.extend(&ORDINAL_ONES[1..]);
            v.extend(["twentieth", "thirtieth", "oh"]);
            v.extend((21..=29).chain([31]).map(compound_ordinal));
            v
        }
        Spoken::Ordinal | Spoken::Time => READBACK_PROMPTS.to_vec(),
    };
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Reads `value` back as the dialplan asked (`{var:money}` and friends).
pub fn readback(read_as: ReadAs, value: &str) -> Result<Vec<String>, ReadbackError> {
    speak(read_as.into(), value)
}

/// Reads `value` back as `kind`.
pub fn speak(kind: Spoken, value: &str) -> Result<Vec<String>, ReadbackError> {
    let fail = |reason| ReadbackError {
        kind,
        len: value.chars().count(),
        reason,
    };
    let value = value.trim();
    let words: Vec<&'static str> = match kind {
        Spoken::Digits => {
            digits(value).ok_or_else(|| fail("only digits, `*`, `#`, spaces and dashes"))?
        }
        Spoken::Number => decimal(value).ok_or_else(|| fail("not a number up to the billions"))?,
        Spoken::Money => {
            let cents = parse_cents(value).ok_or_else(|| fail("not an amount like -12.50"))?;
            money(cents).ok_or_else(|| fail("amount beyond the billions"))?
        }
        Spoken::Date => {
            let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map_err(|_| fail("not a YYYY-MM-DD date"))?;
            self::date(date).ok_or_else(|| fail("year out of range"))?
        }
        Spoken::Ordinal => {
            let n: u64 = value.parse().map_err(|_| fail("not a whole number"))?;
            ordinal(n).ok_or_else(|| fail("not between 1 and the billions"))?
        }
        Spoken::Time => {
            let (h, m) = value
                .split_once(':')
                .ok_or_else(|| fail("not an HH:MM time"))?;
            let (h, m) = h
                .parse()
                .ok()
                .zip(m.parse().ok())
                .ok_or_else(|| fail("not an HH:MM time"))?;
            time(h, m).ok_or_else(|| fail("hour or minute out of range"))?
        }
    };
    Ok(words.into_iter().map(str::to_string).collect())
}

/// Digit by digit; `None` on anything but digits, `*`, `#` and separators.
pub fn digits(value: &str) -> Option<Vec<&'static str>> {
    let mut out = Vec::new();
    for c in value.chars() {
        match c {
            '0'..='9' => out.push(ONES[c as usize - '0' as usize]),
            '*' => out.push("star"),
            '#' => out.push("hash"),
            ' ' | '-' | '.' => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A whole number up to [`MAX_NUMBER`]: "one hundred twenty three thousand four hundred five".
pub fn number(n: u64) -> Option<Vec<&'static str>> {
    if n > MAX_NUMBER {
        return None;
    }
    if n == 0 {
        return Some(vec!["zero"]);
    }
    let mut out = Vec::new();
    let mut rest = n;
    for (scale, word) in [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ] {
        let group = rest / scale;
        rest %= scale;
        if group > 0 {
            below_thousand(group, &mut out);
            out.push(word);
        }
    }
    if rest > 0 {
        below_thousand(rest, &mut out);
    }
    Some(out)
}

fn below_thousand(n: u64, out: &mut Vec<&'static str>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(ONES[hundreds as usize]);
        out.push("hundred");
    }
    if rest >= 20 {
        out.push(TENS[(rest / 10) as usize]);
        if rest % 10 > 0 {
            out.push(ONES[(rest % 10) as usize]);
        }
    } else if rest > 0 {
        out.push(ONES[rest as usize]);
    }
}

/// A number that may be negative or have a decimal part: "minus three point one four".
fn decimal(value: &str) -> Option<Vec<&'static str>> {
    let (negative, unsigned) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let whole: String = whole.chars().filter(|&c| c != ',').collect();
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut out = Vec::new();
    if negative {
        out.push("minus");
    }
    out.extend(number(whole.parse().ok()?)?);
    if let Some(fraction) = fraction {
        if fraction.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        out.push("point");
        out.extend(digits(fraction)?);
    }
    Some(out)
}

/// Parses `-1,234.5`, `$12`, `0.07` into cents; more than two decimals is refused.
pub fn parse_cents(value: &str) -> Option<i64> {
    let (negative, rest) = match value.trim().strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.trim()),
    };
    let rest = rest.strip_prefix('$').unwrap_or(rest);
    let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    let whole: String = whole.chars().filter(|&c| c != ',').collect();
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !all_digits(&whole)
        || !all_digits(fraction)
        || fraction.len() > 2
    {
        return None;
    }
    let units: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    let total = units.checked_mul(100)?.checked_add(cents)?;
    Some(if negative { -total } else { total })
}

/// Dollars and cents: "one dollar and five cents", "zero dollars", "minus fifty cents".
pub fn money(cents: i64) -> Option<Vec<&'static str>> {
    let abs = cents.unsigned_abs();
    let (dollars, cents_part) = (abs / 100, abs % 100);
    let mut out = Vec::new();
    if cents < 0 {
        out.push("minus");
    }
    if dollars > 0 || cents_part == 0 {
        out.extend(number(dollars)?);
        out.push(if dollars == 1 { "dollar" } else { "dollars" });
    }
    if cents_part > 0 {
        if dollars > 0 {
            out.push("and");
        }
        out.extend(number(cents_part)?);
        out.push(if cents_part == 1 { "cent" } else { "cents" });
    }
    Some(out)
}

/// A position: "first", "forty second", "one hundredth". `None` for zero.
pub fn ordinal(n: u64) -> Option<Vec<&'static str>> {
    if n == 0 {
        return None;
    }
    let mut out = number(n)?;
    let last_two = n % 100;
    // The recorded compound ordinals ("twenty-first") read better than two words.
    if (21..=29).contains(&last_two) || last_two == 31 {
        out.truncate(out.len() - 2);
        out.push(compound_ordinal(last_two));
        return Some(out);
    }
    let last = out.pop()?;
    out.push(match last {
        "hundred" => "hundredth",
        "thousand" => "thousandth",
        "million" => "millionth",
        "billion" => "billionth",
        word => {
            if let Some(i) = ONES.iter().position(|&w| w == word) {
                ORDINAL_ONES[i]
            } else {
                ORDINAL_TENS[TENS.iter().position(|&w| w == word)?]
            }
        }
    });
    Some(out)
}

fn compound_ordinal(n: u64) -> &'static str {
    match n {
        21 => "twenty-first",
        22 => "twenty-second",
        23 => "twenty-third",
        24 => "twenty-fourth",
        25 => "twenty-fifth",
        26 => "twenty-sixth",
        27 => "twenty-seventh",
        28 => "twenty-eighth",
        29 => "twenty-ninth",
        _ => "thirty-first",
    }
}

/// A year as people say it: "nineteen oh five", "two thousand", "twenty twenty-six".
pub fn year(y: i32) -> Option<Vec<&'static str>> {
    let y = u64::try_from(y).ok().filter(|&y| (1..=9999).contains(&y))?;
    let (century, rest) = (y / 100, y % 100);
    if y < 1000 || y % 1000 < 10 {
        return number(y);
    }
    let mut out = number(century)?;
    match rest {
        0 => out.push("hundred"),
        1..=9 => {
            out.push("oh");
            out.push(ONES[rest as usize]);
        }
        _ => out.extend(number(rest)?),
    }
    Some(out)
}

/// "march third twenty twenty-six".
pub fn date(d: NaiveDate) -> Option<Vec<&'static str>> {
    use chrono::Datelike;
    let mut out = vec![MONTHS[d.month0() as usize]];
    out.extend(ordinal(u64::from(d.day()))?);
    out.extend(year(d.year())?);
    Some(out)
}

/// A clock time: "nine oh five pm", "twelve noon" is "noon", midnight is "midnight".
pub fn time(hour: u32, minute: u32) -> Option<Vec<&'static str>> {
    if hour > 23 || minute > 59 {
        return None;
    }
    match (hour, minute) {
        (0, 0) => return Some(vec!["midnight"]),
        (12, 0) => return Some(vec!["noon"]),
        _ => {}
    }
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    let mut out = number(u64::from(hour12))?;
    match minute {
        0 => {}
        1..=9 => {
            out.push("oh");
            out.push(ONES[minute as usize]);
        }
        _ => out.extend(number(u64::from(minute))?),
    }
    out.push(if hour < 12 { "am" } else { "pm" });
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn said(kind: Spoken, value: &str) -> String {
        speak(kind, value).unwrap().join(" ")
    }

    /// The inverse of `number`, to check the words mean the number.
    fn value_of(words: &[&str]) -> u64 {
        let (mut total, mut group) = (0u64, 0u64);
        for w in words {
            if let Some(i) = ONES.iter().position(|x| x == w) {
                group += i as u64;
            } else if let Some(i) = TENS.iter().position(|x| x == w) {
                group += 10 * i as u64;
            } else {
                let scale = match *w {
                    "hundred" => {
                        group *= 100;
                        continue;
                    }
                    "thousand" => 1_000,
                    "million" => 1_000_000,
                    "billion" => 1_000_000_000,
                    other => panic!("unexpected word {other}"),
                };
                total += group * scale;
                group = 0;
            }
        }
        total + group
    }

    #[test]
    fn numbers_from_zero_to_billions() {
        assert_eq!(said(Spoken::Number, "0"), "zero");
        assert_eq!(said(Spoken::Number, "15"), "fifteen");
        assert_eq!(said(Spoken::Number, "40"), "forty");
        assert_eq!(said(Spoken::Number, "105"), "one hundred five");
        assert_eq!(said(Spoken::Number, "1,000,001"), "one million one");
        assert_eq!(
            said(Spoken::Number, "999999999999"),
            "nine hundred ninety nine billion nine hundred ninety nine million nine hundred ninety nine thousand nine hundred ninety nine"
        );
        assert_eq!(said(Spoken::Number, "-3.05"), "minus three point zero five");
        assert!(speak(Spoken::Number, "1000000000000").is_err());
        assert!(speak(Spoken::Number, "12a").is_err());
    }

    #[test]
    fn money_negative_zero_and_singular() {
        assert_eq!(said(Spoken::Money, "0"), "zero dollars");
        assert_eq!(said(Spoken::Money, "0.00"), "zero dollars");
        assert_eq!(said(Spoken::Money, "1.01"), "one dollar and one cent");
        assert_eq!(said(Spoken::Money, "0.50"), "fifty cents");
        assert_eq!(
            said(Spoken::Money, "-12.5"),
            "minus twelve dollars and fifty cents"
        );
        assert_eq!(
            said(Spoken::Money, "$2,500"),
            "two thousand five hundred dollars"
        );
        assert_eq!(
            said(Spoken::Money, "1234.56"),
            "one thousand two hundred thirty four dollars and fifty six cents"
        );
        assert!(speak(Spoken::Money, "1.234").is_err());
        assert!(speak(Spoken::Money, "12 dollars").is_err());
        assert!(speak(Spoken::Money, "-").is_err());
    }

    #[test]
    fn digits_dates_ordinals_times() {
        assert_eq!(said(Spoken::Digits, "40-1*#"), "four zero one star hash");
        assert_eq!(
            said(Spoken::Date, "2026-03-03"),
            "march third twenty twenty six"
        );
        assert_eq!(
            said(Spoken::Date, "2000-12-31"),
            "december thirty-first two thousand"
        );
        assert_eq!(
            said(Spoken::Date, "1905-07-22"),
            "july twenty-second nineteen oh five"
        );
        assert_eq!(
            said(Spoken::Date, "1900-01-01"),
            "january first nineteen hundred"
        );
        assert_eq!(said(Spoken::Ordinal, "42"), "forty second");
        assert_eq!(said(Spoken::Ordinal, "90"), "ninetieth");
        assert_eq!(said(Spoken::Ordinal, "100"), "one hundredth");
        assert_eq!(said(Spoken::Ordinal, "2000000"), "two millionth");
        assert_eq!(said(Spoken::Ordinal, "121"), "one hundred twenty-first");
        assert_eq!(said(Spoken::Time, "09:05"), "nine oh five am");
        assert_eq!(said(Spoken::Time, "13:45"), "one forty five pm");
        assert_eq!(said(Spoken::Time, "00:00"), "midnight");
        assert_eq!(said(Spoken::Time, "12:00"), "noon");
        assert_eq!(said(Spoken::Time, "00:30"), "twelve thirty am");
        assert!(speak(Spoken::Time, "24:00").is_err());
        assert!(speak(Spoken::Date, "2026-02-30").is_err());
        assert!(speak(Spoken::Ordinal, "0").is_err());
    }

    #[test]
    fn errors_never_quote_the_value() {
        let err = speak(Spoken::Digits, "12x4").unwrap_err();
        assert!(!err.to_string().contains("12x4"));
        assert_eq!(err.len, 4);
    }

    #[test]
    fn dialplan_types_map_to_spoken_kinds() {
        assert_eq!(readback(ReadAs::Money, "3").unwrap(), ["three", "dollars"]);
        assert_eq!(readback(ReadAs::Text, "3").unwrap(), ["three"]);
        assert!(readback(ReadAs::Text, "hello").is_err());
    }

    #[test]
    fn declared_needs_cover_what_readback_produces() {
        let cases = [
            (ReadAs::Money, "-1234567.89"),
            (ReadAs::Digits, "0123456789*#"),
            (ReadAs::Date, "1987-12-23"),
            (ReadAs::Number, "-45.6"),
        ];
        for (read_as, value) in cases {
            let needs = prompts_for(read_as);
            for id in readback(read_as, value).unwrap() {
                assert!(needs.contains(&id.as_str()), "{read_as}: {id} not declared");
            }
            assert!(needs.iter().all(|id| READBACK_PROMPTS.contains(id)));
        }
        assert!(!prompts_for(ReadAs::Digits).contains(&"dollars"));
    }

    #[test]
    fn every_readback_word_is_in_the_prompt_lists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/en-US");
        let mut listed = std::collections::BTreeSet::new();
        for list in ["core.txt", "readback.txt"] {
            let text = std::fs::read_to_string(root.join(list)).unwrap();
            listed.extend(
                text.lines()
                    .filter_map(|l| l.split_once('\t'))
                    .map(|(id, _)| id.to_string()),
            );
        }
        let missing: Vec<_> = READBACK_PROMPTS
            .iter()
            .filter(|id| !listed.contains(**id))
            .collect();
        assert!(
            missing.is_empty(),
            "not in core.txt or readback.txt: {missing:?}"
        );
    }

    proptest! {
        #[test]
        fn number_words_mean_the_number(n in 0u64..=MAX_NUMBER) {
            let words = number(n).unwrap();
            prop_assert!(words.iter().all(|w| READBACK_PROMPTS.contains(w)));
            prop_assert_eq!(value_of(&words), n);
        }

        #[test]
        fn money_words_mean_the_amount(cents in -99_999_999_999i64..=99_999_999_999) {
            let words = money(cents).unwrap();
            prop_assert!(words.iter().all(|w| READBACK_PROMPTS.contains(w)));
            prop_assert_eq!(words[0] == "minus", cents < 0);
            let text = words.join(" ");
            let shown = format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
            prop_assert_eq!(parse_cents(&shown), Some(cents));
            prop_assert_eq!(text.contains("dollar"), cents.unsigned_abs() >= 100 || cents == 0);
            prop_assert_eq!(text.contains("cent"), cents.unsigned_abs() % 100 != 0);
        }

        #[test]
        fn ordinals_and_dates_use_known_words(n in 1u64..=MAX_NUMBER, days in 0i64..100_000) {
            prop_assert!(ordinal(n).unwrap().iter().all(|w| READBACK_PROMPTS.contains(w)));
            let d = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap() + chrono::Duration::days(days);
            prop_assert!(date(d).unwrap().iter().all(|w| READBACK_PROMPTS.contains(w)));
        }

        #[test]
        fn times_use_known_words(h in 0u32..24, m in 0u32..60) {
            prop_assert!(time(h, m).unwrap().iter().all(|w| READBACK_PROMPTS.contains(w)));
        }
    }
}
