//! Macros: templates rendered and refused, and action lists parsed and refused, as tables.

use helpdesk::macros::{
    check, parse_actions, render, Action, ActionError, Assignee, MacroError, Placeholder, Values,
};
use helpdesk::ticket::{Priority, TicketStatus};

fn values() -> Values {
    Values {
        requester_name: "张三".to_owned(),
        requester_email_masked: "al***h@example.com".to_owned(),
        ticket_number: "10042".to_owned(),
        ticket_subject: "Withdrawal <b>stuck</b>".to_owned(),
        agent_name: "Alice".to_owned(),
        reference: Some("0xabc".to_owned()),
    }
}

#[test]
fn renders() {
    let cases: &[(&str, &str)] = &[
        ("", ""),
        ("no placeholders", "no placeholders"),
        ("您好 {{requester.name}}，", "您好 张三，"),
        ("#{{ ticket.number }}", "#10042"),
        ("{{\tagent.name\n}}", "Alice"),
        ("{{requester.email_masked}}", "al***h@example.com"),
        // Values are plain text: not escaped here, not read as templates.
        ("Re: {{ticket.subject}}", "Re: Withdrawal <b>stuck</b>"),
        ("ref {{reference}}", "ref 0xabc"),
        ("{{{{requester.name}}", "{{requester.name}}"),
        ("{{{{{{agent.name}}", "{{Alice"),
        ("a }} b", "a }} b"),
        ("{{agent.name}}{{agent.name}}", "AliceAlice"),
    ];
    for (template, expected) in cases {
        assert_eq!(
            render(template, &values()).as_deref(),
            Ok(*expected),
            "{template:?}"
        );
    }
}

#[test]
fn a_value_is_never_reread_as_a_template() {
    let mut v = values();
    v.requester_name = "{{agent.name}}".to_owned();
    assert_eq!(
        render("Hi {{requester.name}}", &v).unwrap(),
        "Hi {{agent.name}}"
    );
}

#[test]
fn refuses() {
    let cases: &[(&str, MacroError, &str)] = &[
        (
            "Hi {{requester.nmae}}",
            MacroError::UnknownPlaceholder {
                name: "requester.nmae".to_owned(),
            },
            "unknown_placeholder",
        ),
        (
            "{{ Agent.Name }}",
            MacroError::UnknownPlaceholder {
                name: "Agent.Name".to_owned(),
            },
            "unknown_placeholder",
        ),
        (
            "你好 {{requester.name",
            MacroError::UnclosedPlaceholder { at: 3 },
            "unclosed_placeholder",
        ),
        (
            "x {{ }} y",
            MacroError::EmptyPlaceholder,
            "empty_placeholder",
        ),
        // The first problem in the text wins.
        (
            "{{nope}} {{",
            MacroError::UnknownPlaceholder {
                name: "nope".to_owned(),
            },
            "unknown_placeholder",
        ),
    ];
    for (template, error, code) in cases {
        assert_eq!(check(template).as_ref(), Err(error), "{template:?}");
        assert_eq!(render(template, &values()).as_ref(), Err(error));
        assert_eq!(error.code(), *code);
    }
}

#[test]
fn unknown_placeholder_is_named_in_the_message() {
    let error = check("{{ticket.sla}}").unwrap_err();
    assert_eq!(error.to_string(), "unknown placeholder {{ticket.sla}}");
}

#[test]
fn check_lists_the_placeholders_used() {
    assert_eq!(
        check("{{agent.name}} {{reference}} {{agent.name}} {{{{reference}}"),
        Ok(vec![Placeholder::AgentName, Placeholder::Reference])
    );
    for p in Placeholder::ALL {
        assert_eq!(Placeholder::parse(p.as_str()), Some(p));
        assert_eq!(check(&format!("{{{{{}}}}}", p.as_str())), Ok(vec![p]));
    }
}

#[test]
fn a_missing_reference_is_refused_only_when_used() {
    let mut v = values();
    v.reference = None;
    assert_eq!(render("Hi", &v).unwrap(), "Hi");
    let error = render("ref {{ reference }}", &v).unwrap_err();
    assert_eq!(
        error,
        MacroError::MissingValue {
            placeholder: Placeholder::Reference
        }
    );
    assert_eq!(error.code(), "missing_value");
}

#[test]
fn parses_actions() {
    let text = "\
# KYC follow-up
status: pending
Priority:  HIGH

add_tag: kyc
add_tag: kyc
remove_tag: needs-triage_2
assign: me
";
    assert_eq!(
        parse_actions(text),
        Ok(vec![
            Action::SetStatus(TicketStatus::Pending),
            Action::SetPriority(Priority::High),
            Action::AddTag("kyc".to_owned()),
            Action::RemoveTag("needs-triage_2".to_owned()),
            Action::Assign(Assignee::Me),
        ])
    );
    assert_eq!(parse_actions(""), Ok(vec![]));
    assert_eq!(
        parse_actions("status: on_hold\nassign: none"),
        Ok(vec![
            Action::SetStatus(TicketStatus::OnHold),
            Action::Assign(Assignee::Nobody)
        ])
    );
}

#[test]
fn refuses_actions_naming_the_line() {
    let long = format!("add_tag: {}", "a".repeat(31));
    let cases: &[(&str, usize, &str)] = &[
        ("status pending", 1, "missing_colon"),
        ("\n\nclose: now", 3, "unknown_action"),
        ("status:", 1, "empty_value"),
        ("status: waiting", 1, "unknown_status"),
        ("status: new", 1, "status_not_settable"),
        ("status: closed", 1, "status_not_settable"),
        ("priority: p1", 1, "unknown_priority"),
        ("add_tag: KYC", 1, "invalid_tag"),
        ("add_tag: two words", 1, "invalid_tag"),
        ("remove_tag: 标签", 1, "invalid_tag"),
        (&long, 1, "invalid_tag"),
        ("assign: bob", 1, "unknown_assignee"),
        ("status: open\nstatus: solved", 2, "repeated"),
        ("priority: low\n# x\npriority: low", 3, "repeated"),
        ("assign: me\nassign: none", 2, "repeated"),
        ("add_tag: kyc\nremove_tag: kyc", 2, "contradictory_tag"),
        ("remove_tag: kyc\nadd_tag: kyc", 2, "contradictory_tag"),
    ];
    for (text, line, code) in cases {
        let error = parse_actions(text).unwrap_err();
        assert_eq!((error.line(), error.code()), (*line, *code), "{text:?}");
        assert!(
            error.to_string().starts_with(&format!("line {line}: ")),
            "{error}"
        );
    }
    assert_eq!(
        parse_actions("add_tag: ok\nstatus: waiting"),
        Err(ActionError::UnknownStatus {
            line: 2,
            value: "waiting".to_owned()
        })
    );
}

#[test]
fn tag_length_limits() {
    let thirty = format!("add_tag: {}", "a".repeat(30));
    assert_eq!(
        parse_actions(&thirty),
        Ok(vec![Action::AddTag("a".repeat(30))])
    );
}
