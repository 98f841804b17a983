//! Business-time arithmetic: a few fixed cases, then properties over random schedules (zones
//! with and without DST, nights across midnight, holidays, 24/7).

use helpdesk::business::{add, elapsed};
use hours::{Period, Schedule};
use jiff::civil::{date, time, Weekday, Weekday::*};
use jiff::{SignedDuration, Span, Timestamp};
use proptest::prelude::*;

use crate::at;

const ALL_DAYS: [Weekday; 7] = [
    Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
];

fn shanghai_weekdays() -> Schedule {
    Schedule::in_zone("Asia/Shanghai").unwrap().open(
        &ALL_DAYS[..5],
        time(9, 0, 0, 0),
        time(18, 0, 0, 0),
    )
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

#[test]
fn fixed_cases() {
    let s = shanghai_weekdays();
    // Friday 2026-09-25 17:00 (09:00 UTC) + 2 h: one on Friday, one on Monday from 09:00.
    assert_eq!(
        add(&s, at("2026-09-25T09:00:00Z"), hours(2)),
        Some(at("2026-09-28T02:00:00Z"))
    );
    // Exactly to the closing: the closing instant.
    assert_eq!(
        add(&s, at("2026-09-25T09:00:00Z"), hours(1)),
        Some(at("2026-09-25T10:00:00Z"))
    );
    // Zero from a closed instant is that instant.
    assert_eq!(
        add(&s, at("2026-09-26T09:00:00Z"), SignedDuration::ZERO),
        Some(at("2026-09-26T09:00:00Z"))
    );
    // A whole week holds 45 business hours.
    assert_eq!(
        elapsed(&s, at("2026-09-27T00:00:00Z"), at("2026-10-04T00:00:00Z")),
        hours(45)
    );
    assert_eq!(
        elapsed(&s, at("2026-10-04T00:00:00Z"), at("2026-09-27T00:00:00Z")),
        SignedDuration::ZERO
    );
    let never = Schedule::in_zone("Europe/London").unwrap();
    assert_eq!(add(&never, at("2026-09-25T09:00:00Z"), hours(1)), None);
    let always = Schedule::around_the_clock("America/New_York").unwrap();
    assert_eq!(
        add(&always, at("2026-03-08T06:00:00Z"), hours(3)),
        Some(at("2026-03-08T09:00:00Z"))
    );
}

fn arbitrary_schedule() -> impl Strategy<Value = Schedule> {
    let zones = prop::sample::select(vec![
        "UTC",
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
    ]);
    let period = (0usize..7, 0i8..24, 0i8..4, 0i8..24, 0i8..4);
    (
        zones,
        prop::collection::vec(period, 1..6),
        prop::collection::vec(0i16..400, 0..4),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(zone, periods, holidays, always_open)| {
            let mut s = Schedule::in_zone(zone).unwrap();
            s.always_open = always_open;
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

fn instant(offset_secs: i64) -> Timestamp {
    at("2026-01-01T00:00:00Z")
        .checked_add(SignedDuration::from_secs(offset_secs))
        .unwrap()
}

const YEAR_SECS: i64 = 366 * 24 * 3600;
const MAX_BUSINESS_SECS: i64 = 120 * 3600;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Adding `d` and measuring back gives `d`, and the answer is open just before it.
    #[test]
    fn elapsed_undoes_add(
        s in arbitrary_schedule(),
        start in 0..YEAR_SECS,
        d in 0..MAX_BUSINESS_SECS,
    ) {
        let t = instant(start);
        let d = SignedDuration::from_secs(d);
        if let Some(end) = add(&s, t, d) {
            prop_assert!(end >= t);
            prop_assert_eq!(elapsed(&s, t, end), d);
            if d > SignedDuration::ZERO {
                let just_before = end.checked_sub(SignedDuration::from_nanos(1)).unwrap();
                prop_assert!(s.status_at(just_before).is_open());
            }
        }
    }

    /// More business time never ends earlier.
    #[test]
    fn add_is_monotonic(
        s in arbitrary_schedule(),
        start in 0..YEAR_SECS,
        d1 in 0..MAX_BUSINESS_SECS,
        d2 in 0..MAX_BUSINESS_SECS,
    ) {
        let t = instant(start);
        let (small, large) = (d1.min(d2), d1.max(d2));
        let a = add(&s, t, SignedDuration::from_secs(small));
        let b = add(&s, t, SignedDuration::from_secs(large));
        if let (Some(a), Some(b)) = (a, b) {
            prop_assert!(a <= b);
        }
        // A schedule that cannot give the small amount cannot give the large one either.
        if a.is_none() {
            prop_assert!(b.is_none());
        }
    }

    /// Open time over `[a, c)` is the sum over `[a, b)` and `[b, c)`.
    #[test]
    fn elapsed_is_additive(
        s in arbitrary_schedule(),
        a in 0..YEAR_SECS,
        gap1 in 0..(21 * 24 * 3600i64),
        gap2 in 0..(21 * 24 * 3600i64),
    ) {
        let (a, b, c) = (instant(a), instant(a + gap1), instant(a + gap1 + gap2));
        prop_assert_eq!(elapsed(&s, a, c), elapsed(&s, a, b) + elapsed(&s, b, c));
        prop_assert!(elapsed(&s, a, c) <= c.duration_since(a));
    }
}
