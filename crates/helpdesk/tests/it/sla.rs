//! The SLA table: every case is a ticket's events, an instant `now`, and what one clock must
//! say then. Local times are in the comments; instants are UTC.

use helpdesk::sla::{evaluate, ClockKind, ClockState, Event, EventKind, Policy, Targets};
use helpdesk::ticket::{Category, Priority, TicketStatus};
use hours::Schedule;
use jiff::civil::{date, time, Weekday, Weekday::*};
use jiff::SignedDuration;

use crate::at;

const WEEKDAYS: [Weekday; 5] = [Monday, Tuesday, Wednesday, Thursday, Friday];
const ALL_DAYS: [Weekday; 7] = [
    Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
];

/// Shanghai (UTC+8, no DST): Mon–Fri 09:00–18:00 (01:00–10:00 UTC); National Day, Thursday
/// 2026-10-01, is a holiday. 2026-09-28 is a Monday.
fn shanghai() -> Schedule {
    let mut s = Schedule::in_zone("Asia/Shanghai").unwrap().open(
        &WEEKDAYS,
        time(9, 0, 0, 0),
        time(18, 0, 0, 0),
    );
    s.holidays.push(date(2026, 10, 1));
    s
}

/// New York: Mon–Fri 09:00–17:00; DST starts Sunday 2026-03-08 and ends Sunday 2026-11-01.
fn new_york() -> Schedule {
    Schedule::in_zone("America/New_York").unwrap().open(
        &WEEKDAYS,
        time(9, 0, 0, 0),
        time(17, 0, 0, 0),
    )
}

/// London night desk, every night 22:00–06:00: the night of 2026-03-28 loses an hour (7 h),
/// the night of 2026-10-24 gains one (9 h).
fn london_nights() -> Schedule {
    Schedule::in_zone("Europe/London")
        .unwrap()
        .open(&ALL_DAYS, time(22, 0, 0, 0), time(6, 0, 0, 0))
}

fn around_the_clock() -> Schedule {
    Schedule::around_the_clock("UTC").unwrap()
}

fn h(hours: i64) -> Option<SignedDuration> {
    Some(SignedDuration::from_hours(hours))
}

fn targets(first: i64, resolution: i64) -> Targets {
    Targets {
        first_response: h(first),
        resolution: h(resolution),
    }
}

/// Urgent 1 h / 4 h, high 2 h / 8 h, normal 4 h / 18 h, low 8 h / 40 h; urgent delayed funds
/// get a first response in 30 minutes (resolution falls back on urgent's); warn at 80 %.
fn policy() -> Policy {
    Policy {
        by_priority: vec![
            (Priority::Urgent, targets(1, 4)),
            (Priority::High, targets(2, 8)),
            (Priority::Normal, targets(4, 18)),
            (Priority::Low, targets(8, 40)),
        ],
        by_category: vec![(
            Priority::Urgent,
            Category::FundsDelayed,
            Targets {
                first_response: Some(SignedDuration::from_mins(30)),
                resolution: None,
            },
        )],
        near_breach_permille: 800,
        on_hold_pauses: false,
    }
}

fn on_hold_pauses() -> Policy {
    Policy {
        on_hold_pauses: true,
        ..policy()
    }
}

fn ev(when: &str, kind: EventKind) -> Event {
    Event { at: at(when), kind }
}

fn created(when: &str, priority: Priority) -> Event {
    ev(
        when,
        EventKind::Created {
            priority,
            category: Category::Other,
        },
    )
}

fn agent_reply(when: &str) -> Event {
    ev(when, EventKind::PublicReply { by_agent: true })
}

fn customer_reply(when: &str) -> Event {
    ev(when, EventKind::PublicReply { by_agent: false })
}

fn status(when: &str, to: TicketStatus) -> Event {
    ev(when, EventKind::StatusChanged { to })
}

fn priority(when: &str, to: Priority) -> Event {
    ev(when, EventKind::PriorityChanged { to })
}

use ClockKind::{FirstResponse as FR, Resolution as RES};
use ClockState::*;
use Priority::{High, Low, Normal, Urgent};
use TicketStatus::{Closed as ClosedS, OnHold, Pending, Solved};

struct Case {
    name: &'static str,
    schedule: Schedule,
    policy: Policy,
    events: Vec<Event>,
    now: &'static str,
    clock: ClockKind,
    state: ClockState,
    used_secs: i64,
    due: Option<&'static str>,
    breached: Option<&'static str>,
}

const MIN: i64 = 60;

#[allow(clippy::too_many_arguments)]
fn case(
    name: &'static str,
    schedule: Schedule,
    events: Vec<Event>,
    now: &'static str,
    clock: ClockKind,
    state: ClockState,
    used_secs: i64,
    due: Option<&'static str>,
    breached: Option<&'static str>,
) -> Case {
    Case {
        name,
        schedule,
        policy: policy(),
        events,
        now,
        clock,
        state,
        used_secs,
        due,
        breached,
    }
}

fn cases() -> Vec<Case> {
    // Tuesday 2026-09-29, 09:00 and 10:00 in Shanghai.
    let tue9 = "2026-09-29T01:00:00Z";
    let tue10 = "2026-09-29T02:00:00Z";
    vec![
        case(
            "inside hours, running",
            shanghai(),
            vec![created(tue10, Normal)],
            "2026-09-29T03:00:00Z",
            FR,
            Running,
            60 * MIN,
            Some("2026-09-29T06:00:00Z"),
            None,
        ),
        case(
            "near breach exactly at 80 % (3 h 12 min of 4 h)",
            shanghai(),
            vec![created(tue10, Normal)],
            "2026-09-29T05:12:00Z",
            FR,
            NearBreach,
            192 * MIN,
            Some("2026-09-29T06:00:00Z"),
            None,
        ),
        case(
            "one second before 80 % is running",
            shanghai(),
            vec![created(tue10, Normal)],
            "2026-09-29T05:11:59Z",
            FR,
            Running,
            192 * MIN - 1,
            Some("2026-09-29T06:00:00Z"),
            None,
        ),
        case(
            "a reply exactly at due meets",
            shanghai(),
            vec![created(tue10, Normal), agent_reply("2026-09-29T06:00:00Z")],
            "2026-09-29T08:00:00Z",
            FR,
            Met,
            240 * MIN,
            Some("2026-09-29T06:00:00Z"),
            None,
        ),
        case(
            "a reply one second after due breaches",
            shanghai(),
            vec![created(tue10, Normal), agent_reply("2026-09-29T06:00:01Z")],
            "2026-09-29T08:00:00Z",
            FR,
            Breached,
            240 * MIN + 1,
            Some("2026-09-29T06:00:00Z"),
            Some("2026-09-29T06:00:00Z"),
        ),
        case(
            "unanswered at due is breached at due",
            shanghai(),
            vec![created(tue10, Normal)],
            "2026-09-29T06:00:00Z",
            FR,
            Breached,
            240 * MIN,
            Some("2026-09-29T06:00:00Z"),
            Some("2026-09-29T06:00:00Z"),
        ),
        // Created Tuesday 22:00, counted from Wednesday 09:00.
        case(
            "created at night: nothing used before the opening",
            shanghai(),
            vec![created("2026-09-29T14:00:00Z", Normal)],
            "2026-09-30T00:59:00Z",
            FR,
            Running,
            0,
            Some("2026-09-30T05:00:00Z"),
            None,
        ),
        case(
            "created at night: counted from the opening",
            shanghai(),
            vec![created("2026-09-29T14:00:00Z", Normal)],
            "2026-09-30T02:00:00Z",
            FR,
            Running,
            60 * MIN,
            Some("2026-09-30T05:00:00Z"),
            None,
        ),
        // Created Tuesday 14:00: due at 18:00, the closing, not Wednesday 09:00.
        case(
            "due at the closing instant",
            shanghai(),
            vec![created("2026-09-29T06:00:00Z", Normal)],
            "2026-09-29T09:00:00Z",
            FR,
            Running,
            180 * MIN,
            Some("2026-09-29T10:00:00Z"),
            None,
        ),
        case(
            "a reply after closing, past due, breached at the closing",
            shanghai(),
            vec![
                created("2026-09-29T06:00:00Z", Normal),
                agent_reply("2026-09-29T12:00:00Z"),
            ],
            "2026-09-30T02:00:00Z",
            FR,
            Breached,
            240 * MIN,
            Some("2026-09-29T10:00:00Z"),
            Some("2026-09-29T10:00:00Z"),
        ),
        // Friday 16:00: two hours on Friday, two on Monday.
        case(
            "spanning a weekend",
            shanghai(),
            vec![created("2026-09-25T08:00:00Z", Normal)],
            "2026-09-26T12:00:00Z",
            FR,
            Running,
            120 * MIN,
            Some("2026-09-28T03:00:00Z"),
            None,
        ),
        // Wednesday 16:00: two hours on Wednesday, Thursday is National Day, two on Friday.
        case(
            "a holiday in the middle",
            shanghai(),
            vec![created("2026-09-30T08:00:00Z", Normal)],
            "2026-10-01T06:00:00Z",
            FR,
            Running,
            120 * MIN,
            Some("2026-10-02T03:00:00Z"),
            None,
        ),
        case(
            "resolution across a holiday: 9 h Wednesday, 9 h Friday",
            shanghai(),
            vec![created("2026-09-30T01:00:00Z", Normal)],
            "2026-09-30T12:00:00Z",
            RES,
            Running,
            540 * MIN,
            Some("2026-10-02T10:00:00Z"),
            None,
        ),
        // Friday 16:00 EST; Monday 09:00 is EDT (13:00 UTC, not 14:00).
        case(
            "New York, spring forward over the weekend",
            new_york(),
            vec![created("2026-03-06T21:00:00Z", High)],
            "2026-03-07T12:00:00Z",
            FR,
            Running,
            60 * MIN,
            Some("2026-03-09T14:00:00Z"),
            None,
        ),
        // Friday 16:00 EDT; Monday 09:00 is EST (14:00 UTC).
        case(
            "New York, fall back over the weekend",
            new_york(),
            vec![created("2026-10-30T20:00:00Z", High)],
            "2026-10-31T12:00:00Z",
            FR,
            Running,
            60 * MIN,
            Some("2026-11-02T15:00:00Z"),
            None,
        ),
        case(
            "New York, met across the spring-forward weekend",
            new_york(),
            vec![
                created("2026-03-06T21:00:00Z", High),
                agent_reply("2026-03-09T13:59:00Z"),
            ],
            "2026-03-09T20:00:00Z",
            FR,
            Met,
            119 * MIN,
            Some("2026-03-09T14:00:00Z"),
            None,
        ),
        // 22:00 BST (21:00 UTC) to 06:00 GMT is nine hours: 8 h is due at 05:00 GMT.
        case(
            "London night that falls back holds 9 h",
            london_nights(),
            vec![created("2026-10-24T21:00:00Z", Low)],
            "2026-10-25T04:00:00Z",
            FR,
            NearBreach,
            420 * MIN,
            Some("2026-10-25T05:00:00Z"),
            None,
        ),
        case(
            "London night that falls back: breached at 05:00 GMT",
            london_nights(),
            vec![created("2026-10-24T21:00:00Z", Low)],
            "2026-10-25T05:30:00Z",
            FR,
            Breached,
            510 * MIN,
            Some("2026-10-25T05:00:00Z"),
            Some("2026-10-25T05:00:00Z"),
        ),
        // 22:00 GMT to 06:00 BST (05:00 UTC) is seven hours; the last hour is the next night.
        case(
            "London night that springs forward holds 7 h",
            london_nights(),
            vec![created("2026-03-28T22:00:00Z", Low)],
            "2026-03-29T12:00:00Z",
            FR,
            NearBreach,
            420 * MIN,
            Some("2026-03-29T22:00:00Z"),
            None,
        ),
        case(
            "24/7: plain arithmetic over a weekend night",
            around_the_clock(),
            vec![created("2026-09-26T23:00:00Z", Urgent)],
            "2026-09-27T01:00:00Z",
            RES,
            Running,
            120 * MIN,
            Some("2026-09-27T03:00:00Z"),
            None,
        ),
        case(
            "24/7: near breach at exactly 80 %",
            around_the_clock(),
            vec![created("2026-09-26T23:00:00Z", Urgent)],
            "2026-09-27T02:12:00Z",
            RES,
            NearBreach,
            192 * MIN,
            Some("2026-09-27T03:00:00Z"),
            None,
        ),
        case(
            "24/7: one second past due",
            around_the_clock(),
            vec![created("2026-09-26T23:00:00Z", Urgent)],
            "2026-09-27T03:00:01Z",
            RES,
            Breached,
            240 * MIN + 1,
            Some("2026-09-27T03:00:00Z"),
            Some("2026-09-27T03:00:00Z"),
        ),
        // Pending from Tuesday 11:00 to the customer's reply on Wednesday 10:00.
        case(
            "pending across the night pauses resolution",
            shanghai(),
            vec![
                created(tue9, High),
                agent_reply("2026-09-29T03:00:00Z"),
                status("2026-09-29T03:00:00Z", Pending),
                customer_reply("2026-09-30T02:00:00Z"),
            ],
            "2026-09-30T04:00:00Z",
            RES,
            Running,
            240 * MIN,
            Some("2026-09-30T08:00:00Z"),
            None,
        ),
        case(
            "while paused, due is projected from now",
            shanghai(),
            vec![
                created(tue9, High),
                agent_reply("2026-09-29T03:00:00Z"),
                status("2026-09-29T03:00:00Z", Pending),
            ],
            "2026-09-29T07:00:00Z",
            RES,
            Paused,
            120 * MIN,
            Some("2026-09-30T04:00:00Z"),
            None,
        ),
        case(
            "a reply while pending is the first response",
            shanghai(),
            vec![
                created(tue9, Normal),
                status("2026-09-29T01:30:00Z", Pending),
                agent_reply(tue10),
            ],
            "2026-09-29T03:00:00Z",
            FR,
            Met,
            60 * MIN,
            Some("2026-09-29T05:00:00Z"),
            None,
        ),
        case(
            "pending without a reply does not pause the first response",
            shanghai(),
            vec![
                created(tue9, Normal),
                status("2026-09-29T01:30:00Z", Pending),
            ],
            "2026-09-29T06:00:00Z",
            FR,
            Breached,
            300 * MIN,
            Some("2026-09-29T05:00:00Z"),
            Some("2026-09-29T05:00:00Z"),
        ),
        case(
            "an internal note is not a response",
            shanghai(),
            vec![
                created(tue9, Normal),
                ev("2026-09-29T01:30:00Z", EventKind::InternalNote),
            ],
            "2026-09-29T06:00:00Z",
            FR,
            Breached,
            300 * MIN,
            Some("2026-09-29T05:00:00Z"),
            Some("2026-09-29T05:00:00Z"),
        ),
        case(
            "an automatic acknowledgement is not a response",
            shanghai(),
            vec![
                created(tue9, Normal),
                ev("2026-09-29T01:00:05Z", EventKind::AutoReply),
            ],
            "2026-09-29T06:00:00Z",
            FR,
            Breached,
            300 * MIN,
            Some("2026-09-29T05:00:00Z"),
            Some("2026-09-29T05:00:00Z"),
        ),
        case(
            "solved stops resolution: met",
            shanghai(),
            vec![
                created(tue9, High),
                agent_reply(tue10),
                status("2026-09-29T03:00:00Z", Solved),
            ],
            "2026-09-30T03:00:00Z",
            RES,
            Met,
            120 * MIN,
            Some("2026-09-29T09:00:00Z"),
            None,
        ),
        case(
            "reopened by the customer resumes; used time stays used",
            shanghai(),
            vec![
                created(tue9, High),
                agent_reply(tue10),
                status("2026-09-29T03:00:00Z", Solved),
                customer_reply("2026-09-30T02:00:00Z"),
            ],
            "2026-09-30T03:00:00Z",
            RES,
            Running,
            180 * MIN,
            Some("2026-09-30T08:00:00Z"),
            None,
        ),
        case(
            "reopened, then breached on the reopened time",
            shanghai(),
            vec![
                created(tue9, High),
                status("2026-09-29T06:00:00Z", Solved),
                ev("2026-09-30T01:00:00Z", EventKind::Reopened),
            ],
            "2026-09-30T05:00:00Z",
            RES,
            Breached,
            540 * MIN,
            Some("2026-09-30T04:00:00Z"),
            Some("2026-09-30T04:00:00Z"),
        ),
        case(
            "solved without a reply: first response cancelled, no new target on reopening",
            shanghai(),
            vec![
                created(tue9, Normal),
                status(tue10, Solved),
                customer_reply("2026-09-29T03:00:00Z"),
                agent_reply("2026-09-29T04:00:00Z"),
            ],
            "2026-09-29T09:00:00Z",
            FR,
            Cancelled,
            60 * MIN,
            Some("2026-09-29T05:00:00Z"),
            None,
        ),
        case(
            "priority raised past the used time breaches at the change",
            shanghai(),
            vec![
                created(tue9, Normal),
                priority("2026-09-29T03:30:00Z", Urgent),
            ],
            "2026-09-29T04:00:00Z",
            FR,
            Breached,
            180 * MIN,
            Some("2026-09-29T03:30:00Z"),
            Some("2026-09-29T03:30:00Z"),
        ),
        case(
            "priority raised re-targets from creation",
            shanghai(),
            vec![
                created(tue9, Normal),
                priority("2026-09-29T01:30:00Z", High),
            ],
            tue10,
            FR,
            Running,
            60 * MIN,
            Some("2026-09-29T03:00:00Z"),
            None,
        ),
        case(
            "priority lowered after a breach: the breach stays",
            shanghai(),
            vec![created(tue9, Urgent), priority("2026-09-29T03:00:00Z", Low)],
            "2026-09-29T04:00:00Z",
            FR,
            Breached,
            180 * MIN,
            Some("2026-09-29T02:00:00Z"),
            Some("2026-09-29T02:00:00Z"),
        ),
        case(
            "breached, then met late: still breached",
            shanghai(),
            vec![created(tue9, Urgent), agent_reply("2026-09-29T02:30:00Z")],
            "2026-09-29T04:00:00Z",
            FR,
            Breached,
            90 * MIN,
            Some("2026-09-29T02:00:00Z"),
            Some("2026-09-29T02:00:00Z"),
        ),
        case(
            "a category row overrides the first response",
            shanghai(),
            vec![ev(
                tue9,
                EventKind::Created {
                    priority: Urgent,
                    category: Category::FundsDelayed,
                },
            )],
            "2026-09-29T01:20:00Z",
            FR,
            Running,
            20 * MIN,
            Some("2026-09-29T01:30:00Z"),
            None,
        ),
        case(
            "a category row falls back on the priority's resolution",
            shanghai(),
            vec![ev(
                tue9,
                EventKind::Created {
                    priority: Urgent,
                    category: Category::FundsDelayed,
                },
            )],
            "2026-09-29T01:20:00Z",
            RES,
            Running,
            20 * MIN,
            Some("2026-09-29T05:00:00Z"),
            None,
        ),
        case(
            "on hold does not pause resolution",
            shanghai(),
            vec![created(tue9, High), status(tue10, OnHold)],
            "2026-09-29T05:00:00Z",
            RES,
            Running,
            240 * MIN,
            Some("2026-09-29T09:00:00Z"),
            None,
        ),
        Case {
            policy: on_hold_pauses(),
            ..case(
                "on hold pauses resolution when the policy says so",
                shanghai(),
                vec![created(tue9, High), status(tue10, OnHold)],
                "2026-09-29T05:00:00Z",
                RES,
                Paused,
                60 * MIN,
                Some("2026-09-30T03:00:00Z"),
                None,
            )
        },
        case(
            "closed is final: a later customer reply reopens nothing",
            shanghai(),
            vec![
                created(tue9, Normal),
                status(tue10, ClosedS),
                customer_reply("2026-09-29T03:00:00Z"),
            ],
            "2026-09-29T09:00:00Z",
            RES,
            Met,
            60 * MIN,
            Some("2026-09-30T10:00:00Z"),
            None,
        ),
        case(
            "merged: clocks cancelled",
            shanghai(),
            vec![created(tue9, Normal), ev(tue10, EventKind::Merged)],
            "2026-09-29T09:00:00Z",
            RES,
            Cancelled,
            60 * MIN,
            Some("2026-09-30T10:00:00Z"),
            None,
        ),
        case(
            "events after now are not read",
            shanghai(),
            vec![created(tue9, Normal), agent_reply("2026-09-29T05:00:00Z")],
            "2026-09-29T03:00:00Z",
            FR,
            Running,
            120 * MIN,
            Some("2026-09-29T05:00:00Z"),
            None,
        ),
    ]
}

#[test]
fn the_sla_table() {
    let cases = cases();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for c in &cases {
        let sla = evaluate(&c.policy, &c.schedule, &c.events, at(c.now))
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let clock = sla.clock(c.clock);
        let got = (clock.state, clock.used, clock.due_at, clock.breached_at);
        let want = (
            c.state,
            SignedDuration::from_secs(c.used_secs),
            c.due.map(at),
            c.breached.map(at),
        );
        if got != want {
            failures.push(format!("{}:\n   got {got:?}\n  want {want:?}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn remaining_is_target_minus_used_and_goes_negative() {
    let events = [created("2026-09-29T01:00:00Z", Urgent)];
    let sla = evaluate(&policy(), &shanghai(), &events, at("2026-09-29T02:30:00Z")).unwrap();
    assert_eq!(
        sla.first_response.remaining,
        Some(SignedDuration::from_mins(-30))
    );
    assert_eq!(
        sla.resolution.remaining,
        Some(SignedDuration::from_mins(150))
    );
    assert_eq!(sla.status, TicketStatus::New);
}

#[test]
fn alerts_fire_once_in_the_window_they_happen() {
    let events = [created("2026-09-29T01:00:00Z", Urgent)];
    let now = at("2026-09-29T02:30:00Z");
    let sla = evaluate(&policy(), &shanghai(), &events, now).unwrap();
    let all = sla.alerts(at("2026-09-29T01:00:00Z"), now);
    let got: Vec<_> = all.iter().map(|a| (a.clock, a.breached, a.at)).collect();
    assert_eq!(
        got,
        [
            (FR, false, at("2026-09-29T01:48:00Z")),
            (FR, true, at("2026-09-29T02:00:00Z")),
        ]
    );
    // The next run of the notifier sees nothing new; projections are never alerts.
    assert!(sla.alerts(now, at("2026-09-30T00:00:00Z")).is_empty());
}

#[test]
fn bad_event_lists_are_named() {
    use helpdesk::sla::SlaError;
    let p = policy();
    let s = shanghai();
    let now = at("2026-09-30T00:00:00Z");
    assert_eq!(
        evaluate(&p, &s, &[agent_reply("2026-09-29T01:00:00Z")], now),
        Err(SlaError::NotCreatedFirst)
    );
    assert_eq!(evaluate(&p, &s, &[], now), Err(SlaError::NotCreatedFirst));
    let twice = [
        created("2026-09-29T01:00:00Z", Low),
        created("2026-09-29T02:00:00Z", Low),
    ];
    assert_eq!(evaluate(&p, &s, &twice, now), Err(SlaError::CreatedTwice));
    let later = [created("2026-10-29T01:00:00Z", Low)];
    assert_eq!(
        evaluate(&p, &s, &later, now),
        Err(SlaError::CreatedAfterNow)
    );
}

#[test]
fn a_schedule_that_never_opens_never_breaches() {
    let never = Schedule::in_zone("UTC").unwrap();
    let events = [created("2026-09-29T01:00:00Z", Urgent)];
    let sla = evaluate(&policy(), &never, &events, at("2026-12-29T01:00:00Z")).unwrap();
    assert_eq!(sla.first_response.state, Running);
    assert_eq!(sla.first_response.used, SignedDuration::ZERO);
    assert_eq!(sla.first_response.due_at, None);
}
