//! A table of cases with a fixed clock (weekdays, lunch breaks, nights across midnight,
//! holidays, special dates, 24/7, both DST transitions in New York and London, viewers
//! elsewhere), and properties over random schedules and instants.

use jiff::civil::{date, time, Weekday::*};
use jiff::Timestamp;
use proptest::prelude::*;

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 instant")
}

const WEEKDAYS: [Weekday; 5] = [Monday, Tuesday, Wednesday, Thursday, Friday];
const ALL_DAYS: [Weekday; 7] = [
    Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
];

/// Beijing hotline: Mon–Fri 09:00–18:00, closed on National Day 2026-10-01, a short day on
/// 2026-10-08 (09:00–12:00), open on Sunday 2026-10-11 (a make-up working day).
fn beijing() -> Schedule {
    let mut s = Schedule::in_zone("Asia/Shanghai").unwrap().open(
        &WEEKDAYS,
        time(9, 0, 0, 0),
        time(18, 0, 0, 0),
    );
    s.holidays.push(date(2026, 10, 1));
    s.special.push(SpecialDate {
        date: date(2026, 10, 8),
        openings: vec![(time(9, 0, 0, 0), time(12, 0, 0, 0))],
    });
    s.special.push(SpecialDate {
        date: date(2026, 10, 11),
        openings: vec![(time(9, 0, 0, 0), time(18, 0, 0, 0))],
    });
    s
}

/// Shanghai line with a lunch break: 09:00–12:00 and 13:00–18:00 every weekday.
fn shanghai_split() -> Schedule {
    Schedule::in_zone("Asia/Shanghai")
        .unwrap()
        .open(&WEEKDAYS, time(9, 0, 0, 0), time(12, 0, 0, 0))
        .open(&WEEKDAYS, time(13, 0, 0, 0), time(18, 0, 0, 0))
}

/// New York: Mon–Fri 08:00–20:00, plus a Sunday 02:30–04:00 slot that meets the
/// spring-forward gap; DST starts 2026-03-08, ends 2026-11-01.
fn new_york() -> Schedule {
    Schedule::in_zone("America/New_York")
        .unwrap()
        .open(&WEEKDAYS, time(8, 0, 0, 0), time(20, 0, 0, 0))
        .open(&[Sunday], time(2, 30, 0, 0), time(4, 0, 0, 0))
}

/// London night desk: every night 22:00–06:00; BST ends 2026-10-25, starts 2026-03-29; closed
/// on 2026-12-25 (the night that would start then), but the night of the 24th runs to 06:00.
fn london_nights() -> Schedule {
    let mut s = Schedule::in_zone("Europe/London").unwrap().open(
        &ALL_DAYS,
        time(22, 0, 0, 0),
        time(6, 0, 0, 0),
    );
    s.holidays.push(date(2026, 12, 25));
    s
}

/// Back-to-back: 00:00–12:00 and 12:00–00:00 on Mondays only (one run all Monday).
fn mondays() -> Schedule {
    Schedule::in_zone("UTC")
        .unwrap()
        .open(&[Monday], time(0, 0, 0, 0), time(12, 0, 0, 0))
        .open(&[Monday], time(12, 0, 0, 0), time(0, 0, 0, 0))
}

fn open_until(closes: &str) -> Status {
    Status::Open {
        closes_at: Some(at(closes)),
    }
}

fn closed_until(opens: &str) -> Status {
    Status::Closed {
        opens_at: Some(at(opens)),
    }
}

#[test]
fn a_table_of_cases() {
    let cases: Vec<(&str, Schedule, &str, Status)> = vec![
        // Beijing (UTC+8, no DST). 2026-09-30 is a Wednesday.
        (
            "weekday morning",
            beijing(),
            "2026-09-29T02:00:00Z",
            open_until("2026-09-29T10:00:00Z"),
        ),
        (
            "the first minute",
            beijing(),
            "2026-09-29T01:00:00Z",
            open_until("2026-09-29T10:00:00Z"),
        ),
        (
            "the closing minute is closed",
            beijing(),
            "2026-09-29T10:00:00Z",
            closed_until("2026-09-30T01:00:00Z"),
        ),
        (
            "one second before opening",
            beijing(),
            "2026-09-29T00:59:59Z",
            closed_until("2026-09-29T01:00:00Z"),
        ),
        (
            "evening before the holiday",
            beijing(),
            "2026-09-30T12:00:00Z",
            closed_until("2026-10-02T01:00:00Z"),
        ),
        (
            "on the holiday",
            beijing(),
            "2026-10-01T03:00:00Z",
            closed_until("2026-10-02T01:00:00Z"),
        ),
        (
            "Friday evening → Monday",
            beijing(),
            "2026-10-02T11:00:00Z",
            closed_until("2026-10-05T01:00:00Z"),
        ),
        (
            "Saturday",
            beijing(),
            "2026-10-03T04:00:00Z",
            closed_until("2026-10-05T01:00:00Z"),
        ),
        (
            "a short special day",
            beijing(),
            "2026-10-08T02:00:00Z",
            open_until("2026-10-08T04:00:00Z"),
        ),
        (
            "after the short day closes",
            beijing(),
            "2026-10-08T05:00:00Z",
            closed_until("2026-10-09T01:00:00Z"),
        ),
        (
            "Friday before a working Sunday",
            beijing(),
            "2026-10-09T11:00:00Z",
            closed_until("2026-10-11T01:00:00Z"),
        ),
        (
            "the working Sunday",
            beijing(),
            "2026-10-11T02:00:00Z",
            open_until("2026-10-11T10:00:00Z"),
        ),
        (
            "a viewer in New York at 21:00 local",
            beijing(),
            "2026-09-29T01:00:00Z",
            open_until("2026-09-29T10:00:00Z"),
        ),
        // Lunch break.
        (
            "before lunch",
            shanghai_split(),
            "2026-09-29T03:30:00Z",
            open_until("2026-09-29T04:00:00Z"),
        ),
        (
            "at lunch",
            shanghai_split(),
            "2026-09-29T04:30:00Z",
            closed_until("2026-09-29T05:00:00Z"),
        ),
        (
            "after lunch",
            shanghai_split(),
            "2026-09-29T05:00:00Z",
            open_until("2026-09-29T10:00:00Z"),
        ),
        // New York across DST.
        (
            "EST weekday",
            new_york(),
            "2026-03-06T14:00:00Z",
            open_until("2026-03-07T01:00:00Z"),
        ),
        (
            "Saturday before spring forward",
            new_york(),
            "2026-03-07T15:00:00Z",
            closed_until("2026-03-08T07:30:00Z"),
        ),
        (
            "the gap: 02:30 opens at 03:30 EDT",
            new_york(),
            "2026-03-08T07:00:00Z",
            closed_until("2026-03-08T07:30:00Z"),
        ),
        (
            "inside the shortened slot",
            new_york(),
            "2026-03-08T07:45:00Z",
            open_until("2026-03-08T08:00:00Z"),
        ),
        (
            "EDT Monday opens 08:00 local = 12:00Z",
            new_york(),
            "2026-03-09T11:00:00Z",
            closed_until("2026-03-09T12:00:00Z"),
        ),
        (
            "EDT weekday closes 20:00 local = 00:00Z",
            new_york(),
            "2026-03-09T23:00:00Z",
            open_until("2026-03-10T00:00:00Z"),
        ),
        (
            "the fall-back Sunday slot (EST after the change)",
            new_york(),
            "2026-11-01T07:00:00Z",
            closed_until("2026-11-01T07:30:00Z"),
        ),
        (
            "EST Monday after fall back opens 08:00 local = 13:00Z",
            new_york(),
            "2026-11-02T12:30:00Z",
            closed_until("2026-11-02T13:00:00Z"),
        ),
        (
            "and closes 20:00 local = 01:00Z",
            new_york(),
            "2026-11-02T13:00:00Z",
            open_until("2026-11-03T01:00:00Z"),
        ),
        // London nights.
        (
            "the night, before midnight",
            london_nights(),
            "2026-07-01T22:00:00Z",
            open_until("2026-07-02T05:00:00Z"),
        ),
        (
            "the night, after midnight (BST)",
            london_nights(),
            "2026-07-02T03:00:00Z",
            open_until("2026-07-02T05:00:00Z"),
        ),
        (
            "daytime",
            london_nights(),
            "2026-07-02T12:00:00Z",
            closed_until("2026-07-02T21:00:00Z"),
        ),
        (
            "the fall-back night is an hour longer",
            london_nights(),
            "2026-10-24T21:30:00Z",
            open_until("2026-10-25T06:00:00Z"),
        ),
        (
            "Christmas Eve night runs into Christmas morning",
            london_nights(),
            "2026-12-25T03:00:00Z",
            open_until("2026-12-25T06:00:00Z"),
        ),
        (
            "Christmas night is closed",
            london_nights(),
            "2026-12-25T23:00:00Z",
            closed_until("2026-12-26T22:00:00Z"),
        ),
        (
            "the spring-forward night is an hour shorter",
            london_nights(),
            "2026-03-28T23:00:00Z",
            open_until("2026-03-29T05:00:00Z"),
        ),
        // Touching periods are one opening.
        (
            "Monday morning runs to midnight",
            mondays(),
            "2026-09-28T06:00:00Z",
            open_until("2026-09-29T00:00:00Z"),
        ),
        (
            "Tuesday waits for next Monday",
            mondays(),
            "2026-09-29T06:00:00Z",
            closed_until("2026-10-05T00:00:00Z"),
        ),
        // Around the clock.
        (
            "24/7",
            Schedule::around_the_clock("Asia/Hong_Kong").unwrap(),
            "2026-10-01T03:00:00Z",
            Status::Open { closes_at: None },
        ),
        (
            "never open",
            Schedule::in_zone("Europe/Berlin").unwrap(),
            "2026-10-01T03:00:00Z",
            Status::Closed { opens_at: None },
        ),
    ];
    assert!(cases.len() >= 30);
    for (name, schedule, now, expected) in cases {
        assert_eq!(schedule.status_at(at(now)), expected, "{name} at {now}");
    }
}

#[test]
fn unknown_zones_are_refused() {
    assert_eq!(
        Schedule::in_zone("Mars/Olympus_Mons").unwrap_err(),
        ScheduleError::UnknownTimeZone("Mars/Olympus_Mons".into())
    );
}

fn arbitrary_schedule() -> impl Strategy<Value = Schedule> {
    let zones = prop::sample::select(vec![
        "UTC",
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
    ]);
    let period = (0usize..7, 0i8..24, 0i8..4, 0i8..24, 0i8..4);
    (
        zones,
        prop::collection::vec(period, 0..6),
        prop::collection::vec(0i16..400, 0..4),
    )
        .prop_map(|(zone, periods, holidays)| {
            let mut s = Schedule::in_zone(zone).unwrap();
            for (day, sh, sq, eh, eq) in periods {
                s.weekly.push(Period {
                    weekday: ALL_DAYS[day],
                    start: time(sh, sq * 15, 0, 0),
                    end: time(eh, eq * 15, 0, 0),
                });
            }
            for d in holidays {
                s.holidays.push(
                    date(2026, 1, 1)
                        .checked_add(Span::new().days(i64::from(d)))
                        .unwrap(),
                );
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The answer is consistent with itself: open until T means open just before T and not
    /// open at T; closed until T means closed just before T and open at T.
    #[test]
    fn the_next_change_is_where_the_answer_changes(
        s in arbitrary_schedule(),
        offset_min in 0i64..(366 * 24 * 60),
    ) {
        let now = at("2026-01-01T00:00:00Z")
            .checked_add(Span::new().minutes(offset_min))
            .unwrap();
        let status = s.status_at(now);
        if let Some(change) = status.next_change() {
            prop_assert!(change > now);
            let before = change.checked_sub(Span::new().seconds(1)).unwrap();
            prop_assert_eq!(s.status_at(before).is_open(), status.is_open());
            prop_assert_ne!(s.status_at(change).is_open(), status.is_open());
        }
        // Open exactly when some opening of yesterday or today (local) covers the instant.
        let today = now.to_zoned(s.time_zone.clone()).date();
        let covered = [today.yesterday().unwrap(), today]
            .into_iter()
            .flat_map(|d| s.intervals_on(d))
            .any(|(from, to)| from <= now && now < to);
        prop_assert_eq!(status.is_open(), covered);
        if s.weekly.is_empty() {
            prop_assert_eq!(status, Status::Closed { opens_at: None });
        }
    }

    /// Around the clock is open at every instant, in every zone.
    #[test]
    fn around_the_clock_never_closes(offset_min in 0i64..(366 * 24 * 60)) {
        let s = Schedule::around_the_clock("Australia/Lord_Howe").unwrap();
        let now = at("2026-01-01T00:00:00Z").checked_add(Span::new().minutes(offset_min)).unwrap();
        prop_assert_eq!(s.status_at(now), Status::Open { closes_at: None });
    }
}
