//! The supervisors' dashboard in numbers: volumes, response and resolution times, SLA
//! compliance, satisfaction, the backlog day by day and the reopen rate, computed from plain
//! ticket summaries ([`TicketFacts`]) for a reporting [`Window`]. Also the report as CSV.
//!
//! Pure: it never reads the clock or storage. The window and its time zone are passed in, and
//! the same facts always give the same report.
//!
//! # Which tickets count where
//! The window is half-open, `[from, to)`: an instant equal to `to` is outside. Each figure
//! counts a ticket by the instant that figure is about:
//!
//! - **Volumes** and the **reopen rate**: tickets *created* in the window.
//! - **First-response time**: tickets whose first response happened in the window and that carry
//!   its business duration; **resolution time** the same with the solve.
//! - **SLA compliance**, per clock: tickets whose clock stopped in the window (first response,
//!   resolve), plus tickets whose clock has not stopped yet but has breached and that were
//!   *created* in the window. The facts carry no breach instant, so an outstanding breach is
//!   counted in the window the ticket was created in; once the clock stops it moves to the window
//!   of the stop. Either way it is counted in exactly one window. A clock met is one in the
//!   population that did not breach.
//! - **Satisfaction**: ratings of tickets *solved* in the window (ratings carry no instant and
//!   come after the solve). Ratings outside 1–5 are not ratings and are ignored.
//! - **Backlog**: see below; it counts tickets created *before* the window too.
//!
//! # Days
//! Days are local calendar days in the window's time zone, from the day containing `from` to
//! the day containing the last instant before `to`. A day runs from its local start (midnight,
//! or the first instant after a DST gap) to the next day's start, so a 23- or 25-hour day is
//! still one day. The first and last days are clipped to the window: a day's figures only
//! cover the part of it inside `[from, to)`, and its end is `min(next day's start, to)`.
//!
//! For each day: `created` and `solved` count tickets created and solved in it; `open_at_end`
//! counts tickets created before the day's end and not solved by it (no `solved_at`, or a
//! `solved_at` at or after the end), whenever they were created — a ticket created last month and
//! still open is in every day's backlog. `solved_at` is taken as the ticket's latest solve; the
//! facts do not carry the spells between a solve and a reopening.
//!
//! # Percentiles and rounding
//! Percentiles are *nearest-rank*: the p-th percentile of `n` sorted values is the value at
//! 1-based rank `ceil(p × n / 100)` (at least 1). So the median of `[10, 20]` is `10` (the lower
//! middle value, never an average of two), the p90 of one value is that value, of two values
//! the larger, and of ten values the ninth. Every figure is a value some ticket actually had.
//!
//! Means, tenths and per-mille shares are rounded to the nearest integer, halves away from zero.
//!
//! # Edge cases
//! - No tickets (or none touching the window): every count is zero, every median, p90, mean,
//!   average and share is `None` (no data, rather than a misleading 0), volumes are empty, and
//!   the backlog has one row per day with zeros. [`Report::is_empty`] says so.
//! - A window of one day gives one backlog row.
//! - A window with `from >= to` contains nothing and has no days.
//!
//! Never: read the clock, touch storage, or use floating point (shares are integers, so two
//! runs and two platforms agree to the digit).

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::ticket::{Category, Priority};

/// What the dashboard needs to know about one ticket, gathered by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketFacts {
    pub created_at: Timestamp,
    pub category: Category,
    /// Where the ticket came in (`email`, `chat`, `web`, …), as stored.
    pub channel: String,
    /// Carried for callers that filter by it; no figure here is split by priority.
    pub priority: Priority,
    pub first_response_at: Option<Timestamp>,
    /// The latest solve, if the ticket is solved.
    pub solved_at: Option<Timestamp>,
    /// Business seconds from creation to the first response.
    pub first_response_business_s: Option<i64>,
    /// Business seconds the resolution clock used up to the solve.
    pub resolution_business_s: Option<i64>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// The customer's rating, 1 (worst) to 5 (best).
    pub rating: Option<u8>,
    /// Whether it was ever reopened after a solve.
    pub reopened: bool,
}

/// The reporting window `[from, to)` and the time zone whose days the backlog is counted in.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
    pub time_zone: TimeZone,
}

impl Window {
    /// The local days `[first, end)` in `time_zone`: from the start of `first` to the start of
    /// `end`. Fails only for dates outside jiff's supported range.
    pub fn days(first: Date, end: Date, time_zone: TimeZone) -> Result<Window, jiff::Error> {
        let from = first.to_zoned(time_zone.clone())?.timestamp();
        let to = end.to_zoned(time_zone.clone())?.timestamp();
        Ok(Window {
            from,
            to,
            time_zone,
        })
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.to
    }
}

/// How many tickets came in under one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub tickets: usize,
}

/// A set of business durations, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    pub count: usize,
    /// Nearest-rank 50th percentile.
    pub median_s: Option<i64>,
    /// Nearest-rank 90th percentile.
    pub p90_s: Option<i64>,
    pub mean_s: Option<i64>,
}

impl Durations {
    pub fn of(values: &[i64]) -> Durations {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let sum: i128 = sorted.iter().map(|v| i128::from(*v)).sum();
        Durations {
            count: sorted.len(),
            median_s: nearest_rank(&sorted, 50),
            p90_s: nearest_rank(&sorted, 90),
            mean_s: rounded_div(sum, sorted.len() as i128).map(|m| m as i64),
        }
    }
}

/// The nearest-rank `percentile` (1–100) of ascending `sorted` values; `None` when empty.
pub fn nearest_rank(sorted: &[i64], percentile: u8) -> Option<i64> {
    debug_assert!((1..=100).contains(&percentile));
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (usize::from(percentile) * n).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// One SLA clock's compliance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compliance {
    /// Tickets counted (see the module's rules).
    pub tickets: usize,
    pub met: usize,
    pub breached: usize,
    /// `met / tickets` in thousandths; `None` without tickets.
    pub met_permille: Option<u16>,
}

/// The customers' ratings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Satisfaction {
    pub ratings: usize,
    /// The average rating in tenths (42 is 4.2).
    pub average_tenths: Option<u16>,
    /// How many ratings of 1, 2, 3, 4, 5 (index 0 is rating 1).
    pub distribution: [usize; 5],
    /// Share of ratings that are 4 or 5, in thousandths.
    pub csat_permille: Option<u16>,
}

/// One local day of the backlog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    pub created: usize,
    pub solved: usize,
    /// Tickets created before the day's end and not solved by it.
    pub open_at_end: usize,
}

/// How many tickets created in the window were ever reopened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reopens {
    pub tickets: usize,
    pub reopened: usize,
    pub reopened_permille: Option<u16>,
}

/// The dashboard's figures for one window.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub window: Window,
    /// Tickets created in the window.
    pub created: usize,
    /// By category, most tickets first, then by name.
    pub by_category: Vec<Volume>,
    /// By channel, most tickets first, then by name.
    pub by_channel: Vec<Volume>,
    pub first_response: Durations,
    pub resolution: Durations,
    pub first_response_sla: Compliance,
    pub resolution_sla: Compliance,
    pub satisfaction: Satisfaction,
    pub days: Vec<Day>,
    pub reopens: Reopens,
}

/// `part / whole` in thousandths, rounded; `None` when `whole` is zero.
fn permille(part: usize, whole: usize) -> Option<u16> {
    rounded_div(part as i128 * 1000, whole as i128).map(|p| p as u16)
}

/// `num / den` rounded to the nearest integer, halves away from zero; `None` when `den` is 0.
fn rounded_div(num: i128, den: i128) -> Option<i128> {
    if den == 0 {
        return None;
    }
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    let half_up = (num.abs() * 2 + den) / (den * 2);
    Some(if num < 0 { -half_up } else { half_up })
}

/// Counts per name, most first, then by name.
fn volumes<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Volume> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    let mut out: Vec<Volume> = counts
        .into_iter()
        .map(|(name, tickets)| Volume {
            name: name.to_owned(),
            tickets,
        })
        .collect();
    out.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.name.cmp(&b.name)));
    out
}

/// One clock's compliance: `stopped_at` and `breached` per ticket.
fn compliance<'a>(
    tickets: &'a [TicketFacts],
    window: &Window,
    clock: impl Fn(&'a TicketFacts) -> (Option<Timestamp>, bool),
) -> Compliance {
    let mut out = Compliance::default();
    for t in tickets {
        let (stopped_at, breached) = clock(t);
        let counted = match stopped_at {
            Some(at) => window.contains(at),
            None => breached && window.contains(t.created_at),
        };
        if counted {
            out.tickets += 1;
            if breached {
                out.breached += 1;
            } else {
                out.met += 1;
            }
        }
    }
    out.met_permille = permille(out.met, out.tickets);
    out
}

/// The local days of the window as `(date, start, end)`, clipped to the window.
fn local_days(window: &Window) -> Vec<(Date, Timestamp, Timestamp)> {
    let mut out = Vec::new();
    if window.from >= window.to {
        return out;
    }
    let mut date = window.from.to_zoned(window.time_zone.clone()).date();
    let mut start = window.from;
    while start < window.to {
        // The next day's start, in local time; `None` past jiff's range ends the last day at
        // the window's end.
        let next = date
            .tomorrow()
            .and_then(|d| d.to_zoned(window.time_zone.clone()))
            .map(|z| z.timestamp())
            .ok();
        let end = next.map_or(window.to, |n| n.min(window.to));
        out.push((date, start, end));
        match (next, date.tomorrow()) {
            (Some(_), Ok(tomorrow)) => {
                date = tomorrow;
                start = end;
            }
            _ => break,
        }
    }
    out
}

/// The dashboard's figures for `tickets` in `window`.
pub fn report(tickets: &[TicketFacts], window: &Window) -> Report {
    let created: Vec<&TicketFacts> = tickets
        .iter()
        .filter(|t| window.contains(t.created_at))
        .collect();
    let solved: Vec<&TicketFacts> = tickets
        .iter()
        .filter(|t| t.solved_at.is_some_and(|at| window.contains(at)))
        .collect();

    let first_response_s: Vec<i64> = tickets
        .iter()
        .filter(|t| t.first_response_at.is_some_and(|at| window.contains(at)))
        .filter_map(|t| t.first_response_business_s)
        .collect();
    let resolution_s: Vec<i64> = solved
        .iter()
        .filter_map(|t| t.resolution_business_s)
        .collect();

    let mut satisfaction = Satisfaction::default();
    let mut rating_sum = 0usize;
    for rating in solved.iter().filter_map(|t| t.rating) {
        if (1..=5).contains(&rating) {
            satisfaction.ratings += 1;
            satisfaction.distribution[usize::from(rating) - 1] += 1;
            rating_sum += usize::from(rating);
        }
    }
    satisfaction.average_tenths =
        rounded_div(rating_sum as i128 * 10, satisfaction.ratings as i128).map(|t| t as u16);
    satisfaction.csat_permille = permille(
        satisfaction.distribution[3] + satisfaction.distribution[4],
        satisfaction.ratings,
    );

    let days = local_days(window)
        .into_iter()
        .map(|(date, start, end)| {
            let in_day = |at: Timestamp| start <= at && at < end;
            Day {
                date,
                created: tickets.iter().filter(|t| in_day(t.created_at)).count(),
                solved: tickets
                    .iter()
                    .filter(|t| t.solved_at.is_some_and(in_day))
                    .count(),
                open_at_end: tickets
                    .iter()
                    .filter(|t| t.created_at < end && t.solved_at.is_none_or(|at| at >= end))
                    .count(),
            }
        })
        .collect();

    let reopened = created.iter().filter(|t| t.reopened).count();

    Report {
        window: window.clone(),
        created: created.len(),
        by_category: volumes(created.iter().map(|t| t.category.as_str())),
        by_channel: volumes(created.iter().map(|t| t.channel.as_str())),
        first_response: Durations::of(&first_response_s),
        resolution: Durations::of(&resolution_s),
        first_response_sla: compliance(tickets, window, |t| {
            (t.first_response_at, t.first_response_breached)
        }),
        resolution_sla: compliance(tickets, window, |t| (t.solved_at, t.resolution_breached)),
        satisfaction,
        days,
        reopens: Reopens {
            tickets: created.len(),
            reopened,
            reopened_permille: permille(reopened, created.len()),
        },
    }
}

impl Report {
    /// Whether no ticket touched the window: nothing created, responded to, solved, rated or
    /// open at any day's end.
    pub fn is_empty(&self) -> bool {
        self.created == 0
            && self.first_response.count == 0
            && self.resolution.count == 0
            && self.first_response_sla.tickets == 0
            && self.resolution_sla.tickets == 0
            && self.satisfaction.ratings == 0
            && self
                .days
                .iter()
                .all(|d| d.created == 0 && d.solved == 0 && d.open_at_end == 0)
    }

    /// The report as CSV (RFC 4180: CRLF line ends, quoted fields where needed): one table per
    /// section, each with its own header row, separated by a blank line. Empty cells mean "no
    /// data". Text that would start a spreadsheet formula gets a leading apostrophe.
    pub fn to_csv(&self) -> String {
        let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let opt16 = |v: Option<u16>| v.map(|v| v.to_string()).unwrap_or_default();

        tables.push(vec![
            row(["from", "to", "time_zone"]),
            vec![
                self.window.from.to_string(),
                self.window.to.to_string(),
                defused(self.window.time_zone.iana_name().unwrap_or("")),
            ],
        ]);
        for (header, volumes) in [
            ("category", &self.by_category),
            ("channel", &self.by_channel),
        ] {
            let mut table = vec![row([header, "tickets"])];
            table.extend(
                volumes
                    .iter()
                    .map(|v| vec![defused(&v.name), v.tickets.to_string()]),
            );
            tables.push(table);
        }
        let mut times = vec![row(["clock", "count", "median_s", "p90_s", "mean_s"])];
        for (name, d) in [
            ("first_response", &self.first_response),
            ("resolution", &self.resolution),
        ] {
            times.push(vec![
                name.to_owned(),
                d.count.to_string(),
                opt(d.median_s),
                opt(d.p90_s),
                opt(d.mean_s),
            ]);
        }
        tables.push(times);
        let mut sla = vec![row(["sla", "tickets", "met", "breached", "met_permille"])];
        for (name, c) in [
            ("first_response", &self.first_response_sla),
            ("resolution", &self.resolution_sla),
        ] {
            sla.push(vec![
                name.to_owned(),
                c.tickets.to_string(),
                c.met.to_string(),
                c.breached.to_string(),
                opt16(c.met_permille),
            ]);
        }
        tables.push(sla);
        let s = &self.satisfaction;
        tables.push(vec![
            row([
                "ratings",
                "average_tenths",
                "csat_permille",
                "rated_1",
                "rated_2",
                "rated_3",
                "rated_4",
                "rated_5",
            ]),
            [
                s.ratings.to_string(),
                opt16(s.average_tenths),
                opt16(s.csat_permille),
            ]
            .into_iter()
            .chain(s.distribution.iter().map(|n| n.to_string()))
            .collect(),
        ]);
        let mut days = vec![row(["date", "created", "solved", "open_at_end"])];
        days.extend(self.days.iter().map(|d| {
            vec![
                d.date.to_string(),
                d.created.to_string(),
                d.solved.to_string(),
                d.open_at_end.to_string(),
            ]
        }));
        tables.push(days);
        tables.push(vec![
            row(["created", "reopened", "reopened_permille"]),
            vec![
                self.reopens.tickets.to_string(),
                self.reopens.reopened.to_string(),
                opt16(self.reopens.reopened_permille),
            ],
        ]);

        let mut out = String::new();
        for (i, table) in tables.iter().enumerate() {
            if i > 0 {
                out.push_str("\r\n");
            }
            for cells in table {
                let line: Vec<String> = cells.iter().map(|c| quoted(c)).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
        }
        out
    }
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// A free-text cell, defused: a spreadsheet would run text starting with `=`, `+`, `-` or `@`
/// (and, in some, a tab or carriage return) as a formula, so it gets a leading apostrophe.
/// Numbers are written by us from integers and are not passed through here: a leading `-` on
/// them is a sign, and an apostrophe would turn them into text.
fn defused(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// RFC 4180 quoting: a field with a comma, a double quote, CR or LF is quoted, with its
/// double quotes doubled.
fn quoted(cell: &str) -> String {
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}
