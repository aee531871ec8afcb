//! Test support: numbers spelled the way callers say them, for property tests that
//! speak a value and parse it back.

pub const DIGIT_WORDS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// Spells a number below a billion the way callers say it.
pub fn spell(n: u64, with_and: bool) -> String {
    fn below_thousand(n: u64, with_and: bool, out: &mut Vec<String>) {
        let tens = [
            "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
        ];
        let teens = [
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
        if n >= 100 {
            out.push(DIGIT_WORDS[(n / 100) as usize].to_string());
            out.push("hundred".to_string());
            if with_and && !n.is_multiple_of(100) {
                out.push("and".to_string());
            }
        }
        let r = n % 100;
        if r >= 20 {
            out.push(tens[(r / 10) as usize].to_string());
            if !r.is_multiple_of(10) {
                out.push(DIGIT_WORDS[(r % 10) as usize].to_string());
            }
        } else if r >= 10 {
            out.push(teens[(r - 10) as usize].to_string());
        } else if r > 0 {
            out.push(DIGIT_WORDS[r as usize].to_string());
        }
    }
    if n == 0 {
        return "zero".to_string();
    }
    let mut out = Vec::new();
    let millions = n / 1_000_000;
    let thousands = (n / 1000) % 1000;
    let rest = n % 1000;
    if millions > 0 {
        below_thousand(millions, with_and, &mut out);
        out.push("million".to_string());
    }
    if thousands > 0 {
        below_thousand(thousands, with_and, &mut out);
        out.push("thousand".to_string());
    }
    if rest > 0 {
        if with_and && rest < 100 && n >= 1000 {
            out.push("and".to_string());
        }
        below_thousand(rest, with_and, &mut out);
    }
    out.join(" ")
}
