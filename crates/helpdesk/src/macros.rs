//! Macros (canned replies): a reply template with placeholders, and a list of actions applied
//! to the ticket with it.
//!
//! # Templates
//! - A placeholder is `{{name}}`, whitespace inside the braces allowed (`{{ ticket.number }}`).
//!   The names are the [`Placeholder`]s; any other name is refused with the name, by
//!   [`check`] when the macro is saved and by [`render`] again when it is used.
//! - `{{{{` writes a literal `{{`. A lone `}}` is plain text.
//! - An opened placeholder without its `}}` is refused, and so is an empty one (`{{ }}`).
//! - Values are inserted as plain text, unchanged: escaping for HTML is the display's job,
//!   done once, where the output format is known. A value is never re-read as a template.
//! - The reference is the only optional value; a template that uses it needs one.
//! - A macro in two languages is two templates; nothing here knows about languages.
//!
//! # Actions
//! One `name: value` per line; blank lines and lines starting with `#` are ignored. Names and
//! status/priority values are matched without regard to case; tags must already be lowercase
//! `[a-z0-9_-]{1,30}`. `status` accepts `open`, `pending`, `on_hold`, `solved` (a ticket never
//! goes back to `new`, and only the system closes). `status`, `priority` and `assign` may appear
//! once each; a tag may not be both added and removed. Every error names its 1-based line.
//!
//! This module never does I/O and never escapes HTML.

use crate::ticket::{Priority, TicketStatus};

/// A value a template can ask for. Adding one is adding a variant here and a field to
/// [`Values`]; the compiler finds the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder {
    RequesterName,
    /// The requester's email as agents see it (see [`crate::masking::email`]).
    RequesterEmailMasked,
    TicketNumber,
    TicketSubject,
    AgentName,
    /// A reference the agent supplies when using the macro (a transaction id, an order).
    Reference,
}

impl Placeholder {
    pub const ALL: [Placeholder; 6] = [
        Placeholder::RequesterName,
        Placeholder::RequesterEmailMasked,
        Placeholder::TicketNumber,
        Placeholder::TicketSubject,
        Placeholder::AgentName,
        Placeholder::Reference,
    ];

    /// The name written between the braces.
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::RequesterName => "requester.name",
            Placeholder::RequesterEmailMasked => "requester.email_masked",
            Placeholder::TicketNumber => "ticket.number",
            Placeholder::TicketSubject => "ticket.subject",
            Placeholder::AgentName => "agent.name",
            Placeholder::Reference => "reference",
        }
    }

    pub fn parse(s: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The values a template is rendered with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values {
    pub requester_name: String,
    pub requester_email_masked: String,
    pub ticket_number: String,
    pub ticket_subject: String,
    pub agent_name: String,
    pub reference: Option<String>,
}

impl Values {
    fn get(&self, placeholder: Placeholder) -> Option<&str> {
        match placeholder {
            Placeholder::RequesterName => Some(&self.requester_name),
            Placeholder::RequesterEmailMasked => Some(&self.requester_email_masked),
            Placeholder::TicketNumber => Some(&self.ticket_number),
            Placeholder::TicketSubject => Some(&self.ticket_subject),
            Placeholder::AgentName => Some(&self.agent_name),
            Placeholder::Reference => self.reference.as_deref(),
        }
    }
}

/// Why a template cannot be saved or rendered, in order of precedence (the first problem in
/// the text wins).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MacroError {
    /// `{{` without a closing `}}`; `at` counts characters from the start.
    #[error("the placeholder opened at character {at} is not closed with }}}}")]
    UnclosedPlaceholder { at: usize },
    #[error("an empty placeholder {{{{ }}}}")]
    EmptyPlaceholder,
    #[error("unknown placeholder {{{{{name}}}}}")]
    UnknownPlaceholder { name: String },
    /// Only when rendering: the template needs a value the caller did not give.
    #[error("the template uses {{{{{}}}}} but no value was given", placeholder.as_str())]
    MissingValue { placeholder: Placeholder },
}

impl MacroError {
    pub fn code(&self) -> &'static str {
        match self {
            MacroError::UnclosedPlaceholder { .. } => "unclosed_placeholder",
            MacroError::EmptyPlaceholder => "empty_placeholder",
            MacroError::UnknownPlaceholder { .. } => "unknown_placeholder",
            MacroError::MissingValue { .. } => "missing_value",
        }
    }
}

enum Piece<'a> {
    Text(&'a str),
    Slot(Placeholder),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, MacroError> {
    let mut out = Vec::new();
    let mut rest = template;
    let mut consumed = 0; // bytes of `template` before `rest`
    while let Some(open) = rest.find("{{") {
        out.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        if let Some(tail) = after.strip_prefix("{{") {
            out.push(Piece::Text("{{"));
            consumed += open + 4;
            rest = tail;
            continue;
        }
        let Some(close) = after.find("}}") else {
            let at = template[..consumed + open].chars().count();
            return Err(MacroError::UnclosedPlaceholder { at });
        };
        let name = after[..close].trim();
        if name.is_empty() {
            return Err(MacroError::EmptyPlaceholder);
        }
        let placeholder =
            Placeholder::parse(name).ok_or_else(|| MacroError::UnknownPlaceholder {
                name: name.to_owned(),
            })?;
        out.push(Piece::Slot(placeholder));
        consumed += open + 2 + close + 2;
        rest = &after[close + 2..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Checks a template when a macro is saved; returns the placeholders it uses, in order of
/// first use, without repeats.
pub fn check(template: &str) -> Result<Vec<Placeholder>, MacroError> {
    let mut used = Vec::new();
    for piece in pieces(template)? {
        if let Piece::Slot(p) = piece {
            if !used.contains(&p) {
                used.push(p);
            }
        }
    }
    Ok(used)
}

/// Renders a template with `values`, inserted as plain text.
pub fn render(template: &str, values: &Values) -> Result<String, MacroError> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot(p) => {
                let value = values
                    .get(p)
                    .ok_or(MacroError::MissingValue { placeholder: p })?;
                out.push_str(value);
            }
        }
    }
    Ok(out)
}

/// Whom `assign` gives the ticket to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Assignee {
    /// The agent using the macro.
    Me,
    /// Back to the group's queue (`assign: none`).
    Nobody,
}

/// One thing a macro does to the ticket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    SetStatus(TicketStatus),
    SetPriority(Priority),
    AddTag(String),
    RemoveTag(String),
    Assign(Assignee),
}

impl Action {
    /// The action as a line of a macro's action list (`status: solved`).
    pub fn line(&self) -> String {
        match self {
            Action::SetStatus(s) => format!("status: {}", s.as_str()),
            Action::SetPriority(p) => format!("priority: {}", p.as_str()),
            Action::AddTag(t) => format!("add_tag: {t}"),
            Action::RemoveTag(t) => format!("remove_tag: {t}"),
            Action::Assign(Assignee::Me) => "assign: me".to_owned(),
            Action::Assign(Assignee::Nobody) => "assign: none".to_owned(),
        }
    }
}

/// Why a macro's action list is refused; every variant names its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("line {line}: expected `name: value`")]
    MissingColon { line: usize },
    #[error("line {line}: unknown action {name:?}")]
    UnknownAction { line: usize, name: String },
    #[error("line {line}: {action} needs a value")]
    EmptyValue { line: usize, action: &'static str },
    #[error("line {line}: unknown status {value:?}")]
    UnknownStatus { line: usize, value: String },
    #[error("line {line}: a macro cannot set the status to {value}")]
    StatusNotSettable { line: usize, value: &'static str },
    #[error("line {line}: unknown priority {value:?}")]
    UnknownPriority { line: usize, value: String },
    #[error("line {line}: a tag is 1 to 30 of a-z, 0-9, _ and -, not {value:?}")]
    InvalidTag { line: usize, value: String },
    #[error("line {line}: assign takes `me` or `none`, not {value:?}")]
    UnknownAssignee { line: usize, value: String },
    #[error("line {line}: {action} was already given")]
    Repeated { line: usize, action: &'static str },
    #[error("line {line}: the tag {tag} is both added and removed")]
    ContradictoryTag { line: usize, tag: String },
}

impl ActionError {
    pub fn code(&self) -> &'static str {
        match self {
            ActionError::MissingColon { .. } => "missing_colon",
            ActionError::UnknownAction { .. } => "unknown_action",
            ActionError::EmptyValue { .. } => "empty_value",
            ActionError::UnknownStatus { .. } => "unknown_status",
            ActionError::StatusNotSettable { .. } => "status_not_settable",
            ActionError::UnknownPriority { .. } => "unknown_priority",
            ActionError::InvalidTag { .. } => "invalid_tag",
            ActionError::UnknownAssignee { .. } => "unknown_assignee",
            ActionError::Repeated { .. } => "repeated",
            ActionError::ContradictoryTag { .. } => "contradictory_tag",
        }
    }

    /// The 1-based line the error is about.
    pub fn line(&self) -> usize {
        match self {
            ActionError::MissingColon { line }
            | ActionError::UnknownAction { line, .. }
            | ActionError::EmptyValue { line, .. }
            | ActionError::UnknownStatus { line, .. }
            | ActionError::StatusNotSettable { line, .. }
            | ActionError::UnknownPriority { line, .. }
            | ActionError::InvalidTag { line, .. }
            | ActionError::UnknownAssignee { line, .. }
            | ActionError::Repeated { line, .. }
            | ActionError::ContradictoryTag { line, .. } => *line,
        }
    }
}

/// Whether `tag` is a valid tag: lowercase `[a-z0-9_-]{1,30}`.
pub fn is_valid_tag(tag: &str) -> bool {
    (1..=30).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Parses a macro's action list (see the module's rules).
pub fn parse_actions(text: &str) -> Result<Vec<Action>, ActionError> {
    let mut actions = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (name, value) = trimmed
            .split_once(':')
            .ok_or(ActionError::MissingColon { line })?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        let action: &'static str = match name.as_str() {
            "status" => "status",
            "priority" => "priority",
            "add_tag" => "add_tag",
            "remove_tag" => "remove_tag",
            "assign" => "assign",
            _ => return Err(ActionError::UnknownAction { line, name }),
        };
        if value.is_empty() {
            return Err(ActionError::EmptyValue { line, action });
        }
        let parsed = match action {
            "status" => {
                let status = TicketStatus::parse(&value.to_ascii_lowercase()).ok_or_else(|| {
                    ActionError::UnknownStatus {
                        line,
                        value: value.to_owned(),
                    }
                })?;
                if matches!(status, TicketStatus::New | TicketStatus::Closed) {
                    return Err(ActionError::StatusNotSettable {
                        line,
                        value: status.as_str(),
                    });
                }
                Action::SetStatus(status)
            }
            "priority" => {
                Action::SetPriority(Priority::parse(&value.to_ascii_lowercase()).ok_or_else(
                    || ActionError::UnknownPriority {
                        line,
                        value: value.to_owned(),
                    },
                )?)
            }
            "add_tag" | "remove_tag" => {
                if !is_valid_tag(value) {
                    return Err(ActionError::InvalidTag {
                        line,
                        value: value.to_owned(),
                    });
                }
                let tag = value.to_owned();
                let contradicts = actions.iter().any(|a| match a {
                    Action::AddTag(t) => action == "remove_tag" && *t == tag,
                    Action::RemoveTag(t) => action == "add_tag" && *t == tag,
                    _ => false,
                });
                if contradicts {
                    return Err(ActionError::ContradictoryTag { line, tag });
                }
                if action == "add_tag" {
                    Action::AddTag(tag)
                } else {
                    Action::RemoveTag(tag)
                }
            }
            _ => match value.to_ascii_lowercase().as_str() {
                "me" => Action::Assign(Assignee::Me),
                "none" => Action::Assign(Assignee::Nobody),
                _ => {
                    return Err(ActionError::UnknownAssignee {
                        line,
                        value: value.to_owned(),
                    })
                }
            },
        };
        let repeated = actions.iter().any(|a| {
            matches!(
                (a, &parsed),
                (Action::SetStatus(_), Action::SetStatus(_))
                    | (Action::SetPriority(_), Action::SetPriority(_))
                    | (Action::Assign(_), Action::Assign(_))
            )
        });
        if repeated {
            return Err(ActionError::Repeated { line, action });
        }
        // Repeating the same tag is harmless; keep the list free of duplicates.
        if !actions.contains(&parsed) {
            actions.push(parsed);
        }
    }
    Ok(actions)
}
