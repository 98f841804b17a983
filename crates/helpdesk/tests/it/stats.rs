//! The dashboard's figures: a hand-built desk of thirteen tickets whose every figure is worked
//! out in the comments, an empty desk, London's DST days, CSV escaping and the nearest-rank
//! percentiles on small sets. Instants are UTC.

use helpdesk::stats::{
    nearest_rank, report, Compliance, Day, Durations, Reopens, Satisfaction, TicketFacts, Volume,
    Window,
};
use helpdesk::ticket::{Category, Priority};
use jiff::civil::{date, Date};
use jiff::tz::TimeZone;

use crate::at;

/// A ticket created at `created`, with nothing else happened to it yet.
fn ticket(created: &str, category: Category, channel: &str) -> TicketFacts {
    TicketFacts {
        created_at: at(created),
        category,
        channel: channel.to_owned(),
        priority: Priority::Normal,
        first_response_at: None,
        solved_at: None,
        first_response_business_s: None,
        resolution_business_s: None,
        first_response_breached: false,
        resolution_breached: false,
        rating: None,
        reopened: false,
    }
}

fn responded(mut t: TicketFacts, at_: &str, business_s: i64, breached: bool) -> TicketFacts {
    t.first_response_at = Some(at(at_));
    t.first_response_business_s = Some(business_s);
    t.first_response_breached = breached;
    t
}

fn solved(mut t: TicketFacts, at_: &str, business_s: i64, breached: bool) -> TicketFacts {
    t.solved_at = Some(at(at_));
    t.resolution_business_s = Some(business_s);
    t.resolution_breached = breached;
    t
}

fn rated(mut t: TicketFacts, rating: u8) -> TicketFacts {
    t.rating = Some(rating);
    t
}

fn reopened(mut t: TicketFacts) -> TicketFacts {
    t.reopened = true;
    t
}

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

/// Monday 2026-03-02 to Thursday 2026-03-05 (exclusive), three UTC days.
fn three_days() -> Window {
    Window::days(date(2026, 3, 2), date(2026, 3, 5), TimeZone::UTC).unwrap()
}

/// The desk. `T1`…`T13` in the comments below.
fn desk() -> Vec<TicketFacts> {
    use Category::*;
    vec![
        // T1: created before the window, answered before it, still open: backlog only.
        responded(
            ticket("2026-03-01T10:00:00Z", LoginFailed, "email"),
            "2026-03-01T11:00:00Z",
            3600,
            false,
        ),
        // T2: created before the window, answered late in it, solved in it.
        rated(
            solved(
                responded(
                    ticket("2026-03-01T12:00:00Z", FundsDelayed, "chat"),
                    "2026-03-02T09:00:00Z",
                    1800,
                    true,
                ),
                "2026-03-03T10:00:00Z",
                20_000,
                false,
            ),
            5,
        ),
        // T3: all on day one.
        rated(
            solved(
                responded(
                    ticket("2026-03-02T08:00:00Z", LoginFailed, "email"),
                    "2026-03-02T08:30:00Z",
                    1800,
                    false,
                ),
                "2026-03-02T12:00:00Z",
                14_400,
                false,
            ),
            4,
        ),
        // T4: solved late on day three, reopened once.
        reopened(rated(
            solved(
                responded(
                    ticket("2026-03-02T09:00:00Z", LoginFailed, "chat"),
                    "2026-03-02T10:00:00Z",
                    3600,
                    false,
                ),
                "2026-03-04T09:00:00Z",
                50_000,
                true,
            ),
            2,
        )),
        // T5: answered, never solved, resolution breached (counted: created in the window).
        {
            let mut t = responded(
                ticket("2026-03-02T15:00:00Z", CannotTrade, "web"),
                "2026-03-02T15:10:00Z",
                600,
                false,
            );
            t.resolution_breached = true;
            t
        },
        // T6: never answered, first response breached (counted: created in the window).
        {
            let mut t = ticket("2026-03-03T09:00:00Z", PaymentFailed, "email");
            t.first_response_breached = true;
            t
        },
        // T7: all on day two, reopened.
        reopened(rated(
            solved(
                responded(
                    ticket("2026-03-03T11:00:00Z", LoginFailed, "email"),
                    "2026-03-03T11:05:00Z",
                    300,
                    false,
                ),
                "2026-03-03T16:00:00Z",
                18_000,
                false,
            ),
            5,
        )),
        // T8: solved exactly at the window's end: not solved in it, open at day three's end.
        solved(
            responded(
                ticket("2026-03-03T13:00:00Z", FundsDelayed, "phone"),
                "2026-03-03T14:00:00Z",
                3600,
                false,
            ),
            "2026-03-05T00:00:00Z",
            40_000,
            false,
        ),
        // T13: solved without an answer (first response cancelled: in no SLA population).
        rated(
            solved(
                ticket("2026-03-03T20:00:00Z", FundsDelayed, "chat"),
                "2026-03-04T08:00:00Z",
                5000,
                false,
            ),
            4,
        ),
        // T9: answered late, solved the same day.
        rated(
            solved(
                responded(
                    ticket("2026-03-04T10:00:00Z", Other, "chat"),
                    "2026-03-04T12:00:00Z",
                    7200,
                    true,
                ),
                "2026-03-04T18:00:00Z",
                28_800,
                false,
            ),
            3,
        ),
        // T10: the last hour of the window, nothing yet, nothing breached.
        ticket("2026-03-04T23:00:00Z", AccountSecurity, "email"),
        // T11: after the window: counts nowhere.
        responded(
            ticket("2026-03-05T01:00:00Z", LoginFailed, "email"),
            "2026-03-05T02:00:00Z",
            3600,
            true,
        ),
        // T12: created and solved before the window: counts nowhere, not even in the backlog.
        rated(
            solved(
                ticket("2026-02-20T10:00:00Z", Other, "email"),
                "2026-02-25T10:00:00Z",
                1000,
                true,
            ),
            1,
        ),
    ]
}

fn volume(name: &str, tickets: usize) -> Volume {
    Volume {
        name: name.to_owned(),
        tickets,
    }
}

fn day(date: Date, created: usize, solved: usize, open_at_end: usize) -> Day {
    Day {
        date,
        created,
        solved,
        open_at_end,
    }
}

#[test]
fn the_desk_volumes_count_tickets_created_in_the_window_most_first_then_by_name() {
    let r = report(&desk(), &three_days());
    // T3–T10 and T13.
    assert_eq!(r.created, 9);
    assert_eq!(
        r.by_category,
        vec![
            volume("login_failed", 3),  // T3 T4 T7
            volume("funds_delayed", 2), // T8 T13
            volume("account_security", 1),
            volume("cannot_trade", 1),
            volume("other", 1),
            volume("payment_failed", 1),
        ]
    );
    assert_eq!(
        r.by_channel,
        vec![
            volume("email", 4), // T3 T6 T7 T10
            volume("chat", 3),  // T4 T9 T13
            volume("phone", 1),
            volume("web", 1),
        ]
    );
}

#[test]
fn the_desk_times_count_responses_and_solves_in_the_window() {
    let r = report(&desk(), &three_days());
    // First responses in the window: T2 T3 T4 T5 T7 T8 T9, sorted
    // [300, 600, 1800, 1800, 3600, 3600, 7200]: median rank ceil(3.5) = 4, p90 rank
    // ceil(6.3) = 7, mean 18900 / 7.
    assert_eq!(
        r.first_response,
        Durations {
            count: 7,
            median_s: Some(1800),
            p90_s: Some(7200),
            mean_s: Some(2700),
        }
    );
    // Solves in the window: T2 T3 T4 T7 T9 T13 (not T8, solved at `to`), sorted
    // [5000, 14400, 18000, 20000, 28800, 50000]: median rank 3, p90 rank ceil(5.4) = 6,
    // mean 136200 / 6.
    assert_eq!(
        r.resolution,
        Durations {
            count: 6,
            median_s: Some(18_000),
            p90_s: Some(50_000),
            mean_s: Some(22_700),
        }
    );
}

#[test]
fn the_desk_sla_counts_stops_in_the_window_and_outstanding_breaches_by_creation() {
    let r = report(&desk(), &three_days());
    // Answered in the window: T2 (breached) T3 T4 T5 T7 T8 T9 (breached); unanswered and
    // breached, created in the window: T6. T10 and T13 have no answer and no breach.
    assert_eq!(
        r.first_response_sla,
        Compliance {
            tickets: 8,
            met: 5,
            breached: 3,
            met_permille: Some(625),
        }
    );
    // Solved in the window: T2 T3 T4 (breached) T7 T9 T13; unsolved and breached, created in
    // the window: T5. 5 / 7 = 714.28…
    assert_eq!(
        r.resolution_sla,
        Compliance {
            tickets: 7,
            met: 5,
            breached: 2,
            met_permille: Some(714),
        }
    );
}

#[test]
fn the_desk_satisfaction_counts_ratings_of_tickets_solved_in_the_window() {
    let r = report(&desk(), &three_days());
    // T2 5, T3 4, T4 2, T7 5, T9 3, T13 4 (T12's 1 was solved before the window): 23 / 6 =
    // 3.83 → 38 tenths; four of six are 4 or 5 → 666.7 → 667.
    assert_eq!(
        r.satisfaction,
        Satisfaction {
            ratings: 6,
            average_tenths: Some(38),
            distribution: [0, 1, 1, 2, 2],
            csat_permille: Some(667),
        }
    );
}

#[test]
fn the_desk_backlog_counts_old_open_tickets_and_solves_at_the_end_as_open() {
    let r = report(&desk(), &three_days());
    assert_eq!(
        r.days,
        vec![
            // Created T3 T4 T5; solved T3; open T1 T2 T4 T5.
            day(date(2026, 3, 2), 3, 1, 4),
            // Created T6 T7 T8 T13; solved T2 T7; open T1 T4 T5 T6 T8 T13.
            day(date(2026, 3, 3), 4, 2, 6),
            // Created T9 T10; solved T4 T13 T9; open T1 T5 T6 T8 (solved at the end) T10.
            day(date(2026, 3, 4), 2, 3, 5),
        ]
    );
    // T4 and T7 of nine.
    assert_eq!(
        r.reopens,
        Reopens {
            tickets: 9,
            reopened: 2,
            reopened_permille: Some(222),
        }
    );
    assert!(!r.is_empty());
}

#[test]
fn the_desk_as_csv_has_every_figure() {
    let csv = report(&desk(), &three_days()).to_csv();
    let expected = "\
from,to,time_zone\r
2026-03-02T00:00:00Z,2026-03-05T00:00:00Z,UTC\r
\r
category,tickets\r
login_failed,3\r
funds_delayed,2\r
account_security,1\r
cannot_trade,1\r
other,1\r
payment_failed,1\r
\r
channel,tickets\r
email,4\r
chat,3\r
phone,1\r
web,1\r
\r
clock,count,median_s,p90_s,mean_s\r
first_response,7,1800,7200,2700\r
resolution,6,18000,50000,22700\r
\r
sla,tickets,met,breached,met_permille\r
first_response,8,5,3,625\r
resolution,7,5,2,714\r
\r
ratings,average_tenths,csat_permille,rated_1,rated_2,rated_3,rated_4,rated_5\r
6,38,667,0,1,1,2,2\r
\r
date,created,solved,open_at_end\r
2026-03-02,3,1,4\r
2026-03-03,4,2,6\r
2026-03-04,2,3,5\r
\r
created,reopened,reopened_permille\r
9,2,222\r
";
    assert_eq!(csv, expected);
}

#[test]
fn an_empty_desk_has_zero_counts_no_medians_and_a_row_per_day() {
    for tickets in [Vec::new(), desk().split_off(11)] {
        // The second set is T11 and T12 alone: both outside the window.
        let r = report(&tickets, &three_days());
        assert!(r.is_empty());
        assert_eq!(r.created, 0);
        assert!(r.by_category.is_empty() && r.by_channel.is_empty());
        assert_eq!(r.first_response, Durations::default());
        assert_eq!(r.resolution.median_s, None);
        assert_eq!(r.resolution.p90_s, None);
        assert_eq!(r.resolution.mean_s, None);
        assert_eq!(r.first_response_sla, Compliance::default());
        assert_eq!(r.resolution_sla.met_permille, None);
        assert_eq!(r.satisfaction, Satisfaction::default());
        assert_eq!(r.reopens, Reopens::default());
        assert_eq!(
            r.days,
            vec![
                day(date(2026, 3, 2), 0, 0, 0),
                day(date(2026, 3, 3), 0, 0, 0),
                day(date(2026, 3, 4), 0, 0, 0),
            ]
        );
        let csv = r.to_csv();
        assert!(csv.contains("\r\nfirst_response,0,,,\r\n"), "{csv}");
        assert!(csv.contains("\r\n0,,,0,0,0,0,0\r\n"), "{csv}");
        assert!(csv.ends_with("\r\n0,0,\r\n"), "{csv}");
    }
}

#[test]
fn an_empty_or_backwards_window_has_no_days() {
    let w = three_days();
    let backwards = Window {
        from: w.to,
        to: w.from,
        time_zone: w.time_zone.clone(),
    };
    let r = report(&desk(), &backwards);
    assert!(r.days.is_empty());
    assert_eq!(r.created, 0);
}

#[test]
fn a_window_of_one_day_has_one_row_and_a_backlog_of_older_tickets() {
    let w = Window::days(date(2026, 3, 3), date(2026, 3, 4), TimeZone::UTC).unwrap();
    let r = report(&desk(), &w);
    assert_eq!(r.days, vec![day(date(2026, 3, 3), 4, 2, 6)]);
    assert_eq!(r.created, 4);
}

#[test]
fn a_window_off_midnight_clips_its_first_and_last_days() {
    // 2026-03-02 12:00 to 2026-03-03 12:00 UTC: two partial days.
    let w = Window {
        from: at("2026-03-02T12:00:00Z"),
        to: at("2026-03-03T12:00:00Z"),
        time_zone: TimeZone::UTC,
    };
    let r = report(&desk(), &w);
    assert_eq!(
        r.days,
        vec![
            // Created T5 (T3 and T4 are before noon); T3 solved at noon exactly, in the window.
            day(date(2026, 3, 2), 1, 1, 4),
            // Created T6 T7 (T8 at 13:00 is after the window); solved T2; open at noon:
            // T1 T4 T5 T6 T7.
            day(date(2026, 3, 3), 2, 1, 5),
        ]
    );
}

#[test]
fn london_spring_forward_day_has_23_hours_and_is_one_day() {
    let w = Window::days(date(2026, 3, 28), date(2026, 3, 31), london()).unwrap();
    assert_eq!(w.from, at("2026-03-28T00:00:00Z"));
    // 2026-03-30 00:00 BST.
    assert_eq!(w.to, at("2026-03-30T23:00:00Z"));
    let one = Window::days(date(2026, 3, 29), date(2026, 3, 30), london()).unwrap();
    assert_eq!(one.to.duration_since(one.from).as_hours(), 23);

    let tickets = vec![
        // 23:30 GMT on the 28th.
        ticket("2026-03-28T23:30:00Z", Category::Other, "web"),
        // 00:30 GMT on the 29th, before the clocks go forward at 01:00.
        ticket("2026-03-29T00:30:00Z", Category::Other, "web"),
        // 23:30 BST on the 29th: still the 29th.
        ticket("2026-03-29T22:30:00Z", Category::Other, "web"),
        // 00:30 BST on the 30th.
        ticket("2026-03-29T23:30:00Z", Category::Other, "web"),
    ];
    let r = report(&tickets, &w);
    assert_eq!(
        r.days,
        vec![
            day(date(2026, 3, 28), 1, 0, 1),
            day(date(2026, 3, 29), 2, 0, 3),
            day(date(2026, 3, 30), 1, 0, 4),
        ]
    );
    let r = report(&tickets, &one);
    assert_eq!(r.days, vec![day(date(2026, 3, 29), 2, 0, 3)]);
}

#[test]
fn london_fall_back_day_has_25_hours_and_is_one_day() {
    let w = Window::days(date(2026, 10, 24), date(2026, 10, 27), london()).unwrap();
    // 2026-10-24 00:00 BST and 2026-10-27 00:00 GMT.
    assert_eq!(w.from, at("2026-10-23T23:00:00Z"));
    assert_eq!(w.to, at("2026-10-27T00:00:00Z"));
    let one = Window::days(date(2026, 10, 25), date(2026, 10, 26), london()).unwrap();
    assert_eq!(one.to.duration_since(one.from).as_hours(), 25);

    let solved_at = |mut t: TicketFacts, s: &str| {
        t.solved_at = Some(at(s));
        t
    };
    let tickets = vec![
        // 23:30 BST on the 24th.
        ticket("2026-10-24T22:30:00Z", Category::Other, "web"),
        // 00:30 BST on the 25th, solved at 01:30 GMT (the second 01:30) on the 25th.
        solved_at(
            ticket("2026-10-24T23:30:00Z", Category::Other, "web"),
            "2026-10-25T01:30:00Z",
        ),
        // 23:30 GMT on the 25th: still the 25th.
        ticket("2026-10-25T23:30:00Z", Category::Other, "web"),
        // 00:30 GMT on the 26th.
        ticket("2026-10-26T00:30:00Z", Category::Other, "web"),
    ];
    let r = report(&tickets, &w);
    assert_eq!(
        r.days,
        vec![
            day(date(2026, 10, 24), 1, 0, 1),
            day(date(2026, 10, 25), 2, 1, 2),
            day(date(2026, 10, 26), 1, 0, 3),
        ]
    );
    let r = report(&tickets, &one);
    assert_eq!(r.days, vec![day(date(2026, 10, 25), 2, 1, 2)]);
}

#[test]
fn csv_quotes_per_rfc_4180_and_defuses_formulas() {
    let channels = [
        "plain",
        "=SUM(A1)",
        "=1,2",
        "+1",
        "-2",
        "@x",
        "a,b",
        "say \"hi\"",
        "line\nbreak",
    ];
    let tickets: Vec<TicketFacts> = channels
        .iter()
        .map(|c| ticket("2026-03-02T10:00:00Z", Category::Other, c))
        .collect();
    let csv = report(&tickets, &three_days()).to_csv();
    let expected = "\r\n\
channel,tickets\r
'+1,1\r
'-2,1\r
\"'=1,2\",1\r
'=SUM(A1),1\r
'@x,1\r
\"a,b\",1\r
\"line\nbreak\",1\r
plain,1\r
\"say \"\"hi\"\"\",1\r
\r
";
    assert!(csv.contains(expected), "{csv}");
    // Sections are separated by exactly one blank line, and there are eight of them.
    assert_eq!(csv.matches("\r\n\r\n").count(), 7, "{csv:?}");
    assert!(!csv.contains("\r\n\r\n\r\n"));
    // Every line ends with CRLF: the only bare LF is inside the quoted cell.
    assert_eq!(csv.matches('\n').count(), csv.matches("\r\n").count() + 1);
}

#[test]
fn percentiles_of_one_value_are_that_value() {
    assert_eq!(nearest_rank(&[42], 50), Some(42));
    assert_eq!(nearest_rank(&[42], 90), Some(42));
    assert_eq!(
        Durations::of(&[42]),
        Durations {
            count: 1,
            median_s: Some(42),
            p90_s: Some(42),
            mean_s: Some(42),
        }
    );
}

#[test]
fn percentiles_of_two_values_take_the_lower_median_and_the_upper_p90() {
    // Rank ceil(0.5 × 2) = 1 and ceil(0.9 × 2) = 2; the mean 15 is no value of the set.
    assert_eq!(
        Durations::of(&[20, 10]),
        Durations {
            count: 2,
            median_s: Some(10),
            p90_s: Some(20),
            mean_s: Some(15),
        }
    );
    // Means round halves away from zero: 1.5 → 2.
    assert_eq!(Durations::of(&[1, 2]).mean_s, Some(2));
}

#[test]
fn percentiles_of_ten_values_are_the_fifth_and_the_ninth() {
    let values: Vec<i64> = (1..=10).rev().map(|v| v * 10).collect();
    assert_eq!(
        Durations::of(&values),
        Durations {
            count: 10,
            median_s: Some(50),
            p90_s: Some(90),
            mean_s: Some(55),
        }
    );
    let sorted: Vec<i64> = (1..=10).collect();
    assert_eq!(nearest_rank(&sorted, 100), Some(10));
    assert_eq!(nearest_rank(&sorted, 1), Some(1));
    assert_eq!(nearest_rank(&[], 50), None);
}

#[test]
fn ratings_outside_one_to_five_are_ignored() {
    let tickets: Vec<TicketFacts> = [0u8, 6, 5, 1]
        .into_iter()
        .map(|r| {
            rated(
                solved(
                    ticket("2026-03-02T10:00:00Z", Category::Other, "web"),
                    "2026-03-02T11:00:00Z",
                    3600,
                    false,
                ),
                r,
            )
        })
        .collect();
    let s = report(&tickets, &three_days()).satisfaction;
    // 5 and 1: average 3.0, one of two satisfied.
    assert_eq!(
        s,
        Satisfaction {
            ratings: 2,
            average_tenths: Some(30),
            distribution: [1, 0, 0, 0, 1],
            csat_permille: Some(500),
        }
    );
}
