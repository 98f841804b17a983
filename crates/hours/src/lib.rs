//! Opening hours: when a hotline, a chat desk or a support group is open, in its own time zone.
//!
//! A [`Schedule`] is either open around the clock, or a set of weekly periods in the schedule's
//! IANA time zone, with holidays (closed all day) and special dates (their own periods instead
//! of the week's). [`Schedule::status_at`] answers, for an instant, whether it is open and until
//! when, or when it opens next. The clock is always passed in; nothing here reads the time.
//!
//! The rules, precisely:
//! - A period belongs to the civil date it starts on. `22:00–06:00` starts on its date and ends
//!   at 06:00 the next day; `end == start` means 24 hours from `start`.
//! - A holiday closes the periods that start on that date. An overnight period that started the
//!   evening before still runs until its end (the night shift finishes its night).
//! - A special date replaces that date's weekly periods with its own (none: closed that day).
//! - Wall-clock times are read in the schedule's zone. A time that does not exist (the hour the
//!   clocks spring forward) is taken as the same number of minutes after the jump — 02:30 on a
//!   spring-forward night opens at 03:30; a time that happens twice (the hour the clocks fall
//!   back) is its first occurrence.
//! - Periods that touch or overlap are one opening: "closes at" is the end of the whole run.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// One weekly opening: on `weekday`, from `start` to `end` (see the module's rules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub weekday: Weekday,
    pub start: Time,
    pub end: Time,
}

/// A date with its own openings instead of the week's (an empty list closes the date).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecialDate {
    pub date: Date,
    pub openings: Vec<(Time, Time)>,
}

/// When something is open.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub time_zone: TimeZone,
    /// Open at every instant; the other fields are ignored.
    pub always_open: bool,
    pub weekly: Vec<Period>,
    pub holidays: Vec<Date>,
    pub special: Vec<SpecialDate>,
}

/// Open or closed at an instant, and what changes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Open; `closes_at` is `None` when it never closes (24/7).
    Open { closes_at: Option<Timestamp> },
    /// Closed; `opens_at` is `None` when nothing opens within [`LOOK_AHEAD_DAYS`].
    Closed { opens_at: Option<Timestamp> },
}

impl Status {
    pub fn is_open(&self) -> bool {
        matches!(self, Status::Open { .. })
    }

    /// The next instant the answer changes, if any.
    pub fn next_change(&self) -> Option<Timestamp> {
        match self {
            Status::Open { closes_at } => *closes_at,
            Status::Closed { opens_at } => *opens_at,
        }
    }
}

/// How far ahead an opening is looked for.
pub const LOOK_AHEAD_DAYS: i64 = 400;

/// Why a schedule could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleError {
    UnknownTimeZone(String),
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScheduleError::UnknownTimeZone(name) => write!(f, "unknown IANA time zone {name:?}"),
        }
    }
}

impl std::error::Error for ScheduleError {}

impl Schedule {
    /// An empty (never open) schedule in the named IANA zone.
    pub fn in_zone(name: &str) -> Result<Schedule, ScheduleError> {
        let time_zone =
            TimeZone::get(name).map_err(|_| ScheduleError::UnknownTimeZone(name.to_owned()))?;
        Ok(Schedule {
            time_zone,
            always_open: false,
            weekly: Vec::new(),
            holidays: Vec::new(),
            special: Vec::new(),
        })
    }

    /// Open around the clock.
    pub fn around_the_clock(name: &str) -> Result<Schedule, ScheduleError> {
        let mut schedule = Schedule::in_zone(name)?;
        schedule.always_open = true;
        Ok(schedule)
    }

    /// Adds `start–end` on each of `weekdays`.
    pub fn open(mut self, weekdays: &[Weekday], start: Time, end: Time) -> Schedule {
        for weekday in weekdays {
            self.weekly.push(Period {
                weekday: *weekday,
                start,
                end,
            });
        }
        self
    }

    /// The openings that start on `date`, as civil start and end.
    fn openings_on(&self, date: Date) -> Vec<(DateTime, DateTime)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let times: Vec<(Time, Time)> = match self.special.iter().find(|s| s.date == date) {
            Some(special) => special.openings.clone(),
            None => self
                .weekly
                .iter()
                .filter(|p| p.weekday == date.weekday())
                .map(|p| (p.start, p.end))
                .collect(),
        };
        times
            .into_iter()
            .map(|(start, end)| {
                let from = date.to_datetime(start);
                let end_date = if end <= start {
                    date.tomorrow().unwrap_or(date)
                } else {
                    date
                };
                (from, end_date.to_datetime(end))
            })
            .collect()
    }

    /// The instants of the openings starting on `date`, in order.
    fn intervals_on(&self, date: Date) -> Vec<(Timestamp, Timestamp)> {
        let mut out: Vec<(Timestamp, Timestamp)> = self
            .openings_on(date)
            .into_iter()
            .filter_map(|(from, to)| {
                let from = self.instant(from)?;
                let to = self.instant(to)?;
                (from < to).then_some((from, to))
            })
            .collect();
        out.sort();
        out
    }

    /// A wall-clock time in the schedule's zone as an instant (gap: after the jump; fold: the
    /// first occurrence — jiff's "compatible" rule).
    fn instant(&self, civil: DateTime) -> Option<Timestamp> {
        self.time_zone
            .to_ambiguous_zoned(civil)
            .compatible()
            .ok()
            .map(|z| z.timestamp())
    }

    /// Open or closed at `now`, and until when.
    pub fn status_at(&self, now: Timestamp) -> Status {
        if self.always_open {
            return Status::Open { closes_at: None };
        }
        let today = now.to_zoned(self.time_zone.clone()).date();
        // Openings from yesterday may still run (overnight); walk forward from there, merging
        // touching and overlapping openings into runs, until the run around or after `now` is
        // complete.
        let mut run: Option<(Timestamp, Timestamp)> = None;
        let mut date = today.yesterday().unwrap_or(today);
        let last = today
            .checked_add(Span::new().days(LOOK_AHEAD_DAYS))
            .unwrap_or(today);
        // Openings are walked in order: every opening of a date starts before any opening of
        // the next date.
        while date <= last {
            for (from, to) in self.intervals_on(date) {
                match &mut run {
                    Some((_, end)) if from <= *end => {
                        if to > *end {
                            *end = to;
                        }
                    }
                    Some((start, end)) => {
                        if *start <= now && now < *end {
                            return Status::Open {
                                closes_at: Some(*end),
                            };
                        }
                        if now < *start {
                            return Status::Closed {
                                opens_at: Some(*start),
                            };
                        }
                        run = Some((from, to));
                    }
                    None => run = Some((from, to)),
                }
            }
            date = match date.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        match run {
            Some((start, end)) if start <= now && now < end => Status::Open {
                closes_at: Some(end),
            },
            Some((start, _)) if now < start => Status::Closed {
                opens_at: Some(start),
            },
            _ => Status::Closed { opens_at: None },
        }
    }
}

#[cfg(test)]
mod tests;
