//! Business hours: a schedule's opening ranges per weekday, its timezone and holidays,
//! parsed at load and asked "open, closed or holiday?" for a given instant.

use super::format::Schedule;
use super::located::Pos;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

/// The state of a schedule at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenState {
    Open,
    Closed,
    Holiday,
}

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    pub timezone: Tz,
    /// Opening ranges (start inclusive, end exclusive), Monday first.
    pub days: [Vec<(NaiveTime, NaiveTime)>; 7],
    pub holidays: Vec<NaiveDate>,
}

/// A schedule problem at a position in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleError {
    pub pos: Pos,
    pub message: String,
    pub hint: String,
}

/// Parses `"08:00-17:30"`, `"08:00-12:00, 13:00-17:00"` or `"closed"`.
pub fn parse_ranges(text: &str) -> Result<Vec<(NaiveTime, NaiveTime)>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    let mut ranges = Vec::new();
    for part in text.split(',') {
        let Some((from, to)) = part.split_once('-') else {
            return Err(format!("`{}` is not a time range", part.trim()));
        };
        let parse = |t: &str| {
            let t = t.trim();
            if t == "24:00" {
                return NaiveTime::from_hms_opt(23, 59, 59).ok_or_else(|| t.to_string());
            }
            NaiveTime::parse_from_str(t, "%H:%M")
                .map_err(|_| format!("`{t}` is not a time (HH:MM)"))
        };
        let (from, to) = (parse(from)?, parse(to)?);
        if from >= to {
            return Err(format!("range `{}` ends before it starts", part.trim()));
        }
        ranges.push((from, to));
    }
    Ok(ranges)
}

/// Parses a timezone name such as `America/New_York`.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown timezone `{name}`"))
}

impl BusinessHours {
    /// Builds the schedule; `default_tz` is the dialplan's timezone.
    pub fn from_decl(decl: &Schedule, default_tz: Tz) -> Result<Self, Vec<ScheduleError>> {
        let mut errors = Vec::new();
        let timezone = match &decl.timezone {
            Some(name) => parse_timezone(name).unwrap_or_else(|message| {
                errors.push(ScheduleError {
                    pos: name.pos,
                    message,
                    hint: "use an IANA name like `America/New_York` or `Europe/Paris`".into(),
                });
                default_tz
            }),
            None => default_tz,
        };
        let mut days: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        let mut apply = |field: &Option<super::format::Name>, which: &[usize]| {
            if let Some(text) = field {
                match parse_ranges(text) {
                    Ok(ranges) => {
                        for &d in which {
                            days[d] = ranges.clone();
                        }
                    }
                    Err(message) => errors.push(ScheduleError {
                        pos: text.pos,
                        message,
                        hint: "write hours like \"08:00-17:30\" or \"09:00-12:00, 13:00-17:00\", or `closed`".into(),
                    }),
                }
            }
        };
        // General fields first so that specific days override them.
        apply(&decl.weekdays, &[0, 1, 2, 3, 4]);
        apply(&decl.weekend, &[5, 6]);
        for (i, field) in [
            &decl.mon, &decl.tue, &decl.wed, &decl.thu, &decl.fri, &decl.sat, &decl.sun,
        ]
        .into_iter()
        .enumerate()
        {
            apply(field, &[i]);
        }
        let mut holidays = Vec::new();
        for date in &decl.holidays {
            match NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") {
                Ok(d) => holidays.push(d),
                Err(_) => errors.push(ScheduleError {
                    pos: date.pos,
                    message: format!("`{}` is not a date", date.value),
                    hint: "write holidays as YYYY-MM-DD, e.g. 2026-12-25".into(),
                }),
            }
        }
        if errors.is_empty() {
            Ok(BusinessHours {
                timezone,
                days,
                holidays,
            })
        } else {
            Err(errors)
        }
    }

    /// Open, closed or holiday at `now`, in the schedule's timezone.
    pub fn state_at(&self, now: DateTime<Utc>) -> OpenState {
        let local = now.with_timezone(&self.timezone);
        if self.holidays.contains(&local.date_naive()) {
            return OpenState::Holiday;
        }
        let day = match local.weekday() {
            Weekday::Mon => 0,
            Weekday::Tue => 1,
            Weekday::Wed => 2,
            Weekday::Thu => 3,
            Weekday::Fri => 4,
            Weekday::Sat => 5,
            Weekday::Sun => 6,
        };
        let time = local.time();
        if self.days[day]
            .iter()
            .any(|(from, to)| *from <= time && time < *to)
        {
            OpenState::Open
        } else {
            OpenState::Closed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::located::Located;
    use super::*;

    fn hours() -> BusinessHours {
        let decl = Schedule {
            weekdays: Some(Located::unplaced("08:00-20:00".into())),
            sat: Some(Located::unplaced("09:00-13:00".into())),
            holidays: vec![Located::unplaced("2026-12-25".into())],
            ..Schedule::default()
        };
        BusinessHours::from_decl(&decl, chrono_tz::America::New_York).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn open_closed_and_holiday_in_the_schedule_timezone() {
        let h = hours();
        // Monday 2026-11-23 10:00 New York is 15:00 UTC.
        assert_eq!(h.state_at(at("2026-11-23T15:00:00Z")), OpenState::Open);
        // Monday 21:00 New York (02:00 UTC Tuesday) is closed.
        assert_eq!(h.state_at(at("2026-11-24T02:00:00Z")), OpenState::Closed);
        // Saturday 12:59 open, 13:00 closed (end is exclusive).
        assert_eq!(h.state_at(at("2026-11-28T17:59:00Z")), OpenState::Open);
        assert_eq!(h.state_at(at("2026-11-28T18:00:00Z")), OpenState::Closed);
        // Sunday closed; Christmas (a Friday) is a holiday even in opening hours.
        assert_eq!(h.state_at(at("2026-11-29T15:00:00Z")), OpenState::Closed);
        assert_eq!(h.state_at(at("2026-12-25T15:00:00Z")), OpenState::Holiday);
    }

    #[test]
    fn bad_ranges_dates_and_zones_are_reported() {
        assert!(parse_ranges("9-5").is_err());
        assert!(parse_ranges("17:00-09:00").is_err());
        assert_eq!(parse_ranges("closed").unwrap(), vec![]);
        assert_eq!(parse_ranges("09:00-12:00, 13:00-17:00").unwrap().len(), 2);
        let decl = Schedule {
            timezone: Some(Located::unplaced("Mars/Olympus".into())),
            holidays: vec![Located::unplaced("12/25".into())],
            ..Schedule::default()
        };
        assert_eq!(
            BusinessHours::from_decl(&decl, chrono_tz::UTC)
                .unwrap_err()
                .len(),
            2
        );
    }
}
