//! The ticket (工单) vocabulary shared by SLA clocks and routing: status, priority, category.
//! Only names and their stored spellings live here; the rules live in [`crate::sla`] and
//! [`crate::routing`].

use serde::{Deserialize, Serialize};

/// Where a ticket stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Created, nobody has touched it yet.
    New,
    /// Someone on our side has to act.
    Open,
    /// Waiting on the customer.
    Pending,
    /// Waiting on a third party or another team on our side.
    OnHold,
    /// We consider it done; the customer can still reopen it by replying.
    Solved,
    /// Final: nothing changes it any more (a later message starts a follow-up ticket).
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 6] = [
        TicketStatus::New,
        TicketStatus::Open,
        TicketStatus::Pending,
        TicketStatus::OnHold,
        TicketStatus::Solved,
        TicketStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::OnHold => "on_hold",
            TicketStatus::Solved => "solved",
            TicketStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<TicketStatus> {
        TicketStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the next move is ours (the customer is waiting on us and nobody else).
    pub fn awaits_agent(self) -> bool {
        matches!(self, TicketStatus::New | TicketStatus::Open)
    }
}

/// How urgent a ticket is, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// What a ticket is about; also an agent's skill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    LoginFailed,
    FundsDelayed,
    CannotTrade,
    AccountSecurity,
    PaymentFailed,
    Other,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::LoginFailed,
        Category::FundsDelayed,
        Category::CannotTrade,
        Category::AccountSecurity,
        Category::PaymentFailed,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::LoginFailed => "login_failed",
            Category::FundsDelayed => "funds_delayed",
            Category::CannotTrade => "cannot_trade",
            Category::AccountSecurity => "account_security",
            Category::PaymentFailed => "payment_failed",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}
