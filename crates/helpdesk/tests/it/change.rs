//! What a reply or an edit does to a ticket: a table of cases, each with the state before, who
//! asks, what they ask, and the status, assignee and events after (or the refusal).

use std::collections::BTreeSet;

use helpdesk::change::{plan, Actor, Emitted, Message, Refusal, Request, State};
use helpdesk::ticket::{Category, Priority, TicketStatus};

fn state(status: TicketStatus, assignee: Option<&str>) -> State {
    State {
        status,
        priority: Priority::Normal,
        category: Category::FundsDelayed,
        assignee: assignee.map(str::to_owned),
        group: Some("general".into()),
        tags: ["vip".to_owned()].into_iter().collect(),
    }
}

fn agent() -> Actor {
    Actor::Agent("ann".into())
}

fn reply() -> Request {
    Request {
        message: Some(Message::Public),
        ..Default::default()
    }
}

fn note() -> Request {
    Request {
        message: Some(Message::Internal),
        ..Default::default()
    }
}

fn with_status(mut r: Request, s: TicketStatus) -> Request {
    r.status = Some(s);
    r
}

use TicketStatus::*;

struct Case {
    name: &'static str,
    before: State,
    actor: Actor,
    request: Request,
    /// The status after, or the refusal.
    want: Result<TicketStatus, Refusal>,
    /// Event kinds in order (only checked when the change is accepted).
    events: &'static [&'static str],
}

fn kind(e: &Emitted) -> &'static str {
    match e {
        Emitted::PublicReply { by_agent: true } => "agent_reply",
        Emitted::PublicReply { by_agent: false } => "customer_reply",
        Emitted::InternalNote => "note",
        Emitted::Reopened => "reopened",
        Emitted::StatusChanged { .. } => "status",
        Emitted::PriorityChanged { .. } => "priority",
        Emitted::CategoryChanged { .. } => "category",
        Emitted::Assigned { .. } => "assigned",
        Emitted::GroupChanged { .. } => "group",
        Emitted::Tagged { .. } => "tagged",
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "agent reply opens a new ticket",
            before: state(New, Some("ann")),
            actor: agent(),
            request: reply(),
            want: Ok(Open),
            events: &["agent_reply", "status"],
        },
        Case {
            name: "agent reply keeps an open ticket open",
            before: state(Open, Some("ann")),
            actor: agent(),
            request: reply(),
            want: Ok(Open),
            events: &["agent_reply"],
        },
        Case {
            name: "agent reply with pending",
            before: state(New, Some("ann")),
            actor: agent(),
            request: with_status(reply(), Pending),
            want: Ok(Pending),
            events: &["agent_reply", "status"],
        },
        Case {
            name: "agent reply to pending stays pending",
            before: state(Pending, Some("ann")),
            actor: agent(),
            request: reply(),
            want: Ok(Pending),
            events: &["agent_reply"],
        },
        Case {
            name: "a note changes nothing else",
            before: state(New, None),
            actor: agent(),
            request: note(),
            want: Ok(New),
            events: &["note"],
        },
        Case {
            name: "a note with a status",
            before: state(Open, Some("ann")),
            actor: agent(),
            request: with_status(note(), OnHold),
            want: Ok(OnHold),
            events: &["note", "status"],
        },
        Case {
            name: "customer reply to pending opens",
            before: state(Pending, Some("ann")),
            actor: Actor::Requester,
            request: reply(),
            want: Ok(Open),
            events: &["customer_reply", "status"],
        },
        Case {
            name: "customer reply to solved reopens",
            before: state(Solved, Some("ann")),
            actor: Actor::Requester,
            request: reply(),
            want: Ok(Open),
            events: &["customer_reply", "reopened", "status"],
        },
        Case {
            name: "customer reply to new stays new",
            before: state(New, None),
            actor: Actor::Requester,
            request: reply(),
            want: Ok(New),
            events: &["customer_reply"],
        },
        Case {
            name: "customer reply to on hold stays on hold",
            before: state(OnHold, Some("ann")),
            actor: Actor::Requester,
            request: reply(),
            want: Ok(OnHold),
            events: &["customer_reply"],
        },
        Case {
            name: "customer note refused",
            before: state(Open, None),
            actor: Actor::Requester,
            request: note(),
            want: Err(Refusal::RequesterMayOnlyReply),
            events: &[],
        },
        Case {
            name: "customer status refused",
            before: state(Open, None),
            actor: Actor::Requester,
            request: with_status(reply(), Solved),
            want: Err(Refusal::RequesterMayOnlyReply),
            events: &[],
        },
        Case {
            name: "customer tags refused",
            before: state(Open, None),
            actor: Actor::Requester,
            request: Request {
                add_tags: vec!["x".into()],
                ..reply()
            },
            want: Err(Refusal::RequesterMayOnlyReply),
            events: &[],
        },
        Case {
            name: "solving an unheld ticket gives it to the solver",
            before: state(Open, None),
            actor: agent(),
            request: with_status(reply(), Solved),
            want: Ok(Solved),
            events: &["agent_reply", "status", "assigned"],
        },
        Case {
            name: "answering an unheld ticket gives it to the agent",
            before: state(Open, None),
            actor: agent(),
            request: reply(),
            want: Ok(Open),
            events: &["agent_reply", "assigned"],
        },
        Case {
            name: "a note on an unheld ticket does not take it",
            before: state(Open, None),
            actor: agent(),
            request: note(),
            want: Ok(Open),
            events: &["note"],
        },
        Case {
            name: "answering while sending it back to the queue leaves it unheld",
            before: state(Open, Some("ann")),
            actor: agent(),
            request: Request {
                assignee: Some(None),
                ..reply()
            },
            want: Ok(Open),
            events: &["agent_reply", "assigned"],
        },
        Case {
            name: "solving a held ticket keeps its agent",
            before: state(Open, Some("ben")),
            actor: agent(),
            request: with_status(Request::default(), Solved),
            want: Ok(Solved),
            events: &["status"],
        },
        Case {
            name: "agent reopens a solved ticket by status",
            before: state(Solved, Some("ann")),
            actor: agent(),
            request: with_status(Request::default(), Open),
            want: Ok(Open),
            events: &["reopened", "status"],
        },
        Case {
            name: "agent may not set new",
            before: state(Open, None),
            actor: agent(),
            request: with_status(Request::default(), New),
            want: Err(Refusal::StatusNotSettable("new")),
            events: &[],
        },
        Case {
            name: "agent may not close",
            before: state(Solved, None),
            actor: agent(),
            request: with_status(Request::default(), Closed),
            want: Err(Refusal::StatusNotSettable("closed")),
            events: &[],
        },
        Case {
            name: "system closes a solved ticket",
            before: state(Solved, Some("ann")),
            actor: Actor::System,
            request: with_status(Request::default(), Closed),
            want: Ok(Closed),
            events: &["status"],
        },
        Case {
            name: "system closes only solved tickets",
            before: state(Open, Some("ann")),
            actor: Actor::System,
            request: with_status(Request::default(), Closed),
            want: Err(Refusal::StatusNotSettable("closed")),
            events: &[],
        },
        Case {
            name: "closed refuses a reply",
            before: state(Closed, Some("ann")),
            actor: Actor::Requester,
            request: reply(),
            want: Err(Refusal::Closed),
            events: &[],
        },
        Case {
            name: "closed refuses an agent's edit",
            before: state(Closed, Some("ann")),
            actor: agent(),
            request: Request {
                priority: Some(Priority::High),
                ..Default::default()
            },
            want: Err(Refusal::Closed),
            events: &[],
        },
        Case {
            name: "nothing asked",
            before: state(Open, None),
            actor: agent(),
            request: Request::default(),
            want: Err(Refusal::Nothing),
            events: &[],
        },
        Case {
            name: "same values are nothing",
            before: state(Open, Some("ann")),
            actor: agent(),
            request: Request {
                status: Some(Open),
                priority: Some(Priority::Normal),
                category: Some(Category::FundsDelayed),
                assignee: Some(Some("ann".into())),
                group: Some("general".into()),
                add_tags: vec!["vip".into()],
                remove_tags: vec!["absent".into()],
                ..Default::default()
            },
            want: Err(Refusal::Nothing),
            events: &[],
        },
        Case {
            name: "fields at once, in a fixed order",
            before: state(Open, None),
            actor: agent(),
            request: Request {
                priority: Some(Priority::Urgent),
                category: Some(Category::AccountSecurity),
                assignee: Some(Some("ben".into())),
                group: Some("security".into()),
                add_tags: vec!["fraud".into()],
                remove_tags: vec!["vip".into()],
                ..Default::default()
            },
            want: Ok(Open),
            events: &["priority", "category", "group", "assigned", "tagged"],
        },
        Case {
            name: "give back to the queue",
            before: state(Open, Some("ann")),
            actor: agent(),
            request: Request {
                assignee: Some(None),
                ..Default::default()
            },
            want: Ok(Open),
            events: &["assigned"],
        },
        Case {
            name: "invalid tag",
            before: state(Open, None),
            actor: agent(),
            request: Request {
                add_tags: vec!["No Spaces".into()],
                ..Default::default()
            },
            want: Err(Refusal::InvalidTag("No Spaces".into())),
            events: &[],
        },
        Case {
            name: "refusals in precedence: closed before invalid tag",
            before: state(Closed, None),
            actor: agent(),
            request: Request {
                add_tags: vec!["BAD".into()],
                ..Default::default()
            },
            want: Err(Refusal::Closed),
            events: &[],
        },
    ]
}

#[test]
fn the_table_of_changes() {
    let cases = cases();
    assert!(cases.len() >= 25);
    for c in cases {
        let got = plan(&c.before, &c.actor, &c.request);
        match (&c.want, got) {
            (Ok(status), Ok((after, emitted))) => {
                assert_eq!(after.status, *status, "{}", c.name);
                let kinds: Vec<&str> = emitted.iter().map(kind).collect();
                assert_eq!(kinds, c.events, "{}", c.name);
            }
            (Err(want), Err(got)) => assert_eq!(&got, want, "{}", c.name),
            (want, got) => panic!("{}: wanted {want:?}, got {got:?}", c.name),
        }
    }
}

#[test]
fn tags_and_fields_land_in_the_state() {
    let before = state(Open, None);
    let (after, emitted) = plan(
        &before,
        &agent(),
        &Request {
            add_tags: vec!["fraud".into(), "fraud".into(), "vip".into()],
            remove_tags: vec!["vip".into()],
            priority: Some(Priority::High),
            ..Default::default()
        },
    )
    .unwrap();
    let want: BTreeSet<String> = ["fraud".to_owned()].into_iter().collect();
    assert_eq!(
        after.tags, want,
        "added once, and a tag both present and removed goes"
    );
    assert_eq!(after.priority, Priority::High);
    assert!(emitted.contains(&Emitted::Tagged {
        added: vec!["fraud".into()],
        removed: vec!["vip".into()],
    }));
    assert!(emitted.contains(&Emitted::PriorityChanged {
        from: Priority::Normal,
        to: Priority::High,
    }));
}
