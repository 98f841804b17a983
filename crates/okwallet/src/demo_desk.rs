//! The demo's help desk: two support groups (account security around the clock; general
//! support in Beijing office hours with the Spring Festival off), the demo agent and supervisor
//! as agents, SLA targets, macros in both languages, and a fortnight of tickets from fictional
//! customers — answered, solved, rated, a few late, one complaint — so that the queues and the
//! supervisors' dashboard show real figures from the first start. The demo user gets one open
//! ticket and one solved, waiting for a rating.
//!
//! Added only to a database that has no support groups (or no tickets) yet. The history is
//! made by a seeded generator, so every fresh demo looks the same.

use store::desk::{DeskOutcome, DeskWrite};
use store::helpdesk::{AgentRow, MacroRow, Rating, SlaTargetRow, SupportGroup};
use store::tickets::{Ticket, TicketMessage, NO_DUE_MS};
use web::desk;

const HOLIDAYS: &str = "2027-01-01 元旦 / New Year's Day\n\
     2027-02-06 春节 / Spring Festival\n2027-02-07 春节 / Spring Festival\n\
     2027-02-08 春节 / Spring Festival\n2027-02-09 春节 / Spring Festival";

/// (id, name, body zh, body en, actions)
const MACROS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "ask-tx-hash",
        "请提供交易哈希 / Ask for the transaction hash",
        "您好，为了尽快核实工单 {{ticket.number}} 中的到账问题，请在此回复这笔转账的交易哈希（以 0x 开头的一串字符），以及转出平台的名称。\n\n温馨提示：客服绝不会向您索要密码、验证码或助记词。\n\n—— {{agent.name}}",
        "Hello, to check the deposit in ticket {{ticket.number}} quickly, please reply with the transaction hash of the transfer (the text starting with 0x) and the name of the platform you sent it from.\n\nWe will never ask for your password, codes or seed phrase.\n\n— {{agent.name}}",
        "status: pending\nadd_tag: waiting-tx-hash",
    ),
    (
        "deposit-credited",
        "已到账 / Deposit credited",
        "您好，您的充值已在达到所需区块确认数后到账，可在“交易记录”中查看（参考编号 {{reference}}）。到账时间取决于链上确认，网络拥堵时会更久。如仍有疑问，直接回复本工单即可。\n\n—— {{agent.name}}",
        "Hello, your deposit was credited once it reached the required confirmations; you can see it in your activity (reference {{reference}}). How long this takes depends on the chain and is longer when it is busy. Reply here if anything is still unclear.\n\n— {{agent.name}}",
        "status: solved\nadd_tag: deposit",
    ),
    (
        "freeze-first",
        "疑似被盗：先冻结 / Possible takeover: freeze first",
        "您好，如果您怀疑账户被他人登录，请立即在“安全中心”点击“冻结账户”：所有登录会被退出，资金无法转出。冻结后请修改密码并开启两步验证，然后回复本工单，我们会和您一起核对最近的登录和交易。\n\n请注意：任何自称客服、要求您提供验证码或把资金转到“安全账户”的人都是骗子。\n\n—— {{agent.name}}",
        "Hello, if you think someone else signed in to your account, freeze it now from the security centre: every session is signed out and no money can leave. Then change your password, turn on two-step verification and reply here; we will go through the recent sign-ins and movements with you.\n\nAnyone who claims to be support and asks for codes, or asks you to move money to a \"safe account\", is a scammer.\n\n— {{agent.name}}",
        "priority: high\nadd_tag: security",
    ),
    (
        "confirmations-explained",
        "确认数说明 / Confirmations explained",
        "您好，链上转账需要等待一定数量的区块确认后才会入账（ETH 一般需要数分钟）。您可以在“充值”页面看到当前确认数和预计到账时间。如果超过页面显示的预计时间仍未到账，请回复本工单并附上交易哈希。\n\n—— {{agent.name}}",
        "Hello, a transfer on chain is credited after a number of block confirmations (usually a few minutes for ETH). The deposit page shows the confirmations so far and an estimate. If it is later than the estimate shown, reply here with the transaction hash.\n\n— {{agent.name}}",
        "status: pending",
    ),
    (
        "payment-request-expired",
        "付款请求已过期 / Payment request expired",
        "您好，这笔支付失败的原因是商户的付款请求已过期，资金没有被扣除。请让商户重新生成付款码或付款链接后再付款。\n\n—— {{agent.name}}",
        "Hello, the payment failed because the merchant's payment request had expired; no money was taken. Ask the merchant for a new payment code or link and pay that one.\n\n— {{agent.name}}",
        "status: solved\nadd_tag: payment-expired",
    ),
];

/// Subjects of the fictional history, by category.
const SUBJECTS: &[(&str, &[&str])] = &[
    (
        "funds_delayed",
        &[
            "ETH 充值还没到账",
            "USDT deposit not showing",
            "提现一直在处理中",
            "Withdrawal still pending after an hour",
        ],
    ),
    (
        "login_failed",
        &[
            "登录提示账户已锁定",
            "Cannot log in after changing phone",
            "收不到验证码",
        ],
    ),
    (
        "cannot_trade",
        &[
            "闪兑提示报价已过期",
            "Transfer refused: limit exceeded",
            "转账提示余额不足",
        ],
    ),
    (
        "account_security",
        &[
            "收到陌生登录提醒",
            "Someone called claiming to be support",
            "想重新设置两步验证",
        ],
    ),
    (
        "payment_failed",
        &["扫码付款失败", "Payment to a shop failed twice"],
    ),
    ("other", &["想咨询手续费", "Question about the CSV export"]),
];

/// A small deterministic generator (xorshift), so every fresh demo has the same history.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The help desk's demo set-up and history (see the module's notes).
pub async fn seed(
    state: &web::AppState,
    agent_email: &str,
    supervisor_email: &str,
    user_email: &str,
) -> anyhow::Result<()> {
    let db = &state.db;
    let now = store::now_ms();
    if db.support_groups().await?.is_empty() {
        let security =
            helpcenter::directory::ScheduleSpec::from_text("Asia/Shanghai", true, "", "", "")
                .map_err(|e| anyhow::anyhow!("demo group hours: {e}"))?;
        let general = helpcenter::directory::ScheduleSpec::from_text(
            "Asia/Shanghai",
            false,
            "mon-fri 09:00-18:00\nsat 10:00-16:00",
            HOLIDAYS,
            "",
        )
        .map_err(|e| anyhow::anyhow!("demo group hours: {e}"))?;
        for (id, zh, en, spec, categories, position) in [
            (
                "security",
                "账户安全组",
                "Account security",
                &security,
                "account_security,login_failed",
                0,
            ),
            ("general", "综合服务组", "General support", &general, "", 10),
        ] {
            db.put_support_group(&SupportGroup {
                id: id.into(),
                name_zh: zh.into(),
                name_en: en.into(),
                schedule: spec.to_json(),
                languages: "zh-CN,en".into(),
                categories: categories.into(),
                position,
                created_at_ms: now,
            })
            .await?;
        }
        let hour = 3600;
        db.replace_sla_targets(&[
            target("urgent", "", 30 * 60, 4 * hour),
            target("high", "", hour, 8 * hour),
            target("normal", "", 4 * hour, 24 * hour),
            target("low", "", 8 * hour, 40 * hour),
            target("normal", "account_security", hour, 8 * hour),
        ])
        .await?;
        for (email, name, group, capacity) in [
            (agent_email, "小欧 Ou", "general", 25),
            (supervisor_email, "林主管 Lin", "security", 5),
        ] {
            let email = identity::Email::parse(email).expect("demo emails are valid");
            if let Some(user) = db.user_by_email(&email).await? {
                db.put_agent(&AgentRow {
                    user_id: user.id.clone(),
                    display_name: name.into(),
                    group_id: group.into(),
                    presence: "online".into(),
                    capacity,
                    languages: "zh-CN,en".into(),
                    categories: String::new(),
                    last_assigned_at_ms: None,
                    presence_at_ms: now,
                })
                .await?;
            }
        }
        for (id, name, zh, en, actions) in MACROS {
            db.put_macro(&MacroRow {
                id: (*id).into(),
                name: (*name).into(),
                body_zh: (*zh).into(),
                body_en: (*en).into(),
                actions: (*actions).into(),
                created_by: None,
                updated_at_ms: now,
            })
            .await?;
        }
    }
    let any_ticket = db
        .tickets(&store::tickets::TicketFilter::default(), 1)
        .await?;
    if any_ticket.is_empty() {
        history(state, agent_email, now).await?;
        mine(state, user_email).await?;
    }
    Ok(())
}

fn target(
    priority: &str,
    category: &str,
    first_response_s: i64,
    resolution_s: i64,
) -> SlaTargetRow {
    SlaTargetRow {
        priority: priority.into(),
        category: category.into(),
        first_response_s: Some(first_response_s),
        resolution_s: Some(resolution_s),
    }
}

/// A fortnight of tickets from fictional customers, answered by the demo agent.
async fn history(state: &web::AppState, agent_email: &str, now: i64) -> anyhow::Result<()> {
    let db = &state.db;
    let agent = db
        .user_by_email(&identity::Email::parse(agent_email).expect("valid"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo agent exists"))?;
    let mut customers = Vec::new();
    for n in 1..=8 {
        let email =
            identity::Email::parse(&format!("customer{n}@demo.okwallet.local")).expect("valid");
        let user = match db.user_by_email(&email).await? {
            Some(u) => u,
            None => {
                // Nobody signs in as these: their password is random and never shown.
                let password = identity::token::Token::generate();
                let hash = identity::hash_password(password.as_str())?;
                let locale = if n % 3 == 0 { "en" } else { "zh-CN" };
                match db
                    .create_user(&email, &hash, identity::Role::User, locale)
                    .await
                {
                    Ok(u) => u,
                    Err(store::users::CreateUserError::EmailTaken) => continue,
                    Err(store::users::CreateUserError::Storage(e)) => return Err(e),
                }
            }
        };
        customers.push(user);
    }
    let mut dice = Dice(0x005e_ed0f_0c0a_11e7);
    let hour = 3_600_000;
    let day = 24 * hour;
    let channels = [
        "web",
        "web",
        "web",
        "chat",
        "chat",
        "phone",
        "email",
        "in_app_call",
    ];
    for days_ago in (1..=14).rev() {
        let per_day = 3 + dice.below(4);
        for _ in 0..per_day {
            let customer = &customers[dice.below(customers.len() as u64) as usize];
            let (category, subjects) = SUBJECTS[dice.below(SUBJECTS.len() as u64) as usize];
            let subject = subjects[dice.below(subjects.len() as u64) as usize];
            let created = now - days_ago * day + (dice.below(10) as i64 + 1) * hour
                - dice.below(60) as i64 * 60_000;
            let first_reply = created + (10 + dice.below(300) as i64) * 60_000;
            let solved = first_reply + (1 + dice.below(30) as i64) * hour;
            let is_solved = dice.below(100) < 88 && solved < now;
            let rated = is_solved && dice.below(100) < 65;
            let score = [5, 5, 5, 4, 4, 4, 3, 2, 1][dice.below(9) as usize];
            let channel = channels[dice.below(channels.len() as u64) as usize];
            let priority = if dice.below(10) == 0 {
                "high"
            } else {
                "normal"
            };
            one_past_ticket(
                state,
                PastTicket {
                    requester: &customer.id,
                    language: if customer.locale == "en" {
                        "en"
                    } else {
                        "zh-CN"
                    },
                    agent: &agent.id,
                    subject,
                    category,
                    channel,
                    priority,
                    created,
                    first_reply: Some(first_reply).filter(|t| *t < now),
                    solved: is_solved.then_some(solved),
                    rating: rated.then_some(score),
                },
                now,
            )
            .await?;
        }
    }
    // One complaint waiting for a supervisor.
    if let Some(t) = db
        .tickets(
            &store::tickets::TicketFilter {
                statuses: vec!["solved".into()],
                ..Default::default()
            },
            1,
        )
        .await?
        .first()
    {
        let due = web::api::tickets::complaint_due(state, now)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let complaint = DeskWrite::Append {
            messages: Vec::new(),
            events: vec![desk::new_event(
                &t.id,
                now,
                Some(&t.requester_id),
                "escalated",
                serde_json::json!({"by_agent": false}),
            )],
            also: Some(store::helpdesk::Also::InsertComplaint(
                store::helpdesk::Complaint {
                    id: store::new_id(),
                    ticket_id: t.id.clone(),
                    raised_by: t.requester_id.clone(),
                    by_agent: false,
                    reason: "问题虽然解决了，但等了很久才有人回复，希望高峰时段能加派人手。".into(),
                    status: "open".into(),
                    supervisor_id: None,
                    outcome: None,
                    due_at_ms: due,
                    created_at_ms: now,
                    resolved_at_ms: None,
                },
            )),
            mails: Vec::new(),
        };
        write_all(db, &[complaint], now).await?;
    }
    Ok(())
}

struct PastTicket<'a> {
    requester: &'a str,
    language: &'a str,
    agent: &'a str,
    subject: &'a str,
    category: &'a str,
    channel: &'a str,
    priority: &'a str,
    created: i64,
    first_reply: Option<i64>,
    solved: Option<i64>,
    rating: Option<i64>,
}

/// A ticket as if it had happened at those times, with its clocks computed from its history.
async fn one_past_ticket(state: &web::AppState, p: PastTicket<'_>, now: i64) -> anyhow::Result<()> {
    let db = &state.db;
    let id = store::new_id();
    let group = if matches!(p.category, "account_security" | "login_failed") {
        "security"
    } else {
        "general"
    };
    let mut events = vec![
        desk::new_event(
            &id,
            p.created,
            Some(p.requester),
            "created",
            serde_json::json!({"priority": p.priority, "category": p.category, "channel": p.channel, "group": group}),
        ),
        desk::new_event(
            &id,
            p.created,
            None,
            "assigned",
            serde_json::json!({"to": p.agent, "by": "routing"}),
        ),
    ];
    let mut messages = Vec::new();
    let words = |zh: &str, en: &str| {
        if p.language == "en" {
            en.to_owned()
        } else {
            zh.to_owned()
        }
    };
    let mut status = "new";
    if let Some(at) = p.first_reply {
        events.push(desk::new_event(
            &id,
            at,
            Some(p.agent),
            "public_reply",
            serde_json::json!({"by_agent": true}),
        ));
        events.push(desk::new_event(
            &id,
            at,
            Some(p.agent),
            "status_changed",
            serde_json::json!({"from": "new", "to": "open"}),
        ));
        messages.push(TicketMessage {
            id: store::new_id(),
            ticket_id: id.clone(),
            author_id: Some(p.agent.into()),
            internal: false,
            body: words(
                "您好，我们已收到您的问题，正在核实，请稍候。",
                "Hello, we have your request and are looking into it.",
            ),
            channel: p.channel.into(),
            created_at_ms: at,
        });
        status = "open";
    }
    if let Some(at) = p.solved {
        events.push(desk::new_event(
            &id,
            at,
            Some(p.agent),
            "public_reply",
            serde_json::json!({"by_agent": true}),
        ));
        events.push(desk::new_event(
            &id,
            at,
            Some(p.agent),
            "status_changed",
            serde_json::json!({"from": "open", "to": "solved"}),
        ));
        messages.push(TicketMessage {
            id: store::new_id(),
            ticket_id: id.clone(),
            author_id: Some(p.agent.into()),
            internal: false,
            body: words(
                "问题已处理完毕，如仍有疑问请直接回复。",
                "This is sorted now; reply if anything is still unclear.",
            ),
            channel: p.channel.into(),
            created_at_ms: at,
        });
        status = "solved";
    }
    let mut t = Ticket {
        id: id.clone(),
        number: 0,
        requester_id: p.requester.into(),
        subject: p.subject.into(),
        category: p.category.into(),
        priority: p.priority.into(),
        status: status.into(),
        channel: p.channel.into(),
        language: p.language.into(),
        group_id: Some(group.into()),
        assignee_id: Some(p.agent.into()),
        tags: String::new(),
        reference: None,
        merged_into: None,
        first_response_due_ms: None,
        resolution_due_ms: None,
        next_due_ms: NO_DUE_MS,
        first_responded_at_ms: p.first_reply,
        solved_at_ms: p.solved,
        first_response_business_s: None,
        resolution_business_s: None,
        first_response_breached: false,
        resolution_breached: false,
        reopened_count: 0,
        sla_next_check_ms: None,
        created_at_ms: p.created,
        updated_at_ms: p.solved.or(p.first_reply).unwrap_or(p.created),
    };
    desk::recompute_sla(state, &mut t, &events, now)
        .await
        .map_err(|e| anyhow::anyhow!("demo ticket clocks: {e:?}"))?;
    let first = TicketMessage {
        id: store::new_id(),
        ticket_id: id.clone(),
        author_id: Some(p.requester.into()),
        internal: false,
        body: words(
            "请帮我看一下这个问题，谢谢。",
            "Could you please look into this? Thanks.",
        ),
        channel: p.channel.into(),
        created_at_ms: p.created,
    };
    let rating = p.rating.map(|score| {
        store::helpdesk::Also::UpsertRating(Rating {
            ticket_id: id.clone(),
            score,
            comment: String::new(),
            rated_by: p.requester.into(),
            created_at_ms: p.solved.unwrap_or(now),
        })
    });
    let mut all = vec![first];
    all.extend(messages);
    write_all(
        db,
        &[
            DeskWrite::Open {
                ticket: Box::new(t),
                messages: all,
                events,
            },
            DeskWrite::Append {
                messages: Vec::new(),
                events: Vec::new(),
                also: rating,
                mails: Vec::new(),
            },
        ],
        now,
    )
    .await
}

/// Writes the demo's history as it happened: nothing routed again (the history says who
/// answered), every write required.
async fn write_all(db: &store::Db, writes: &[DeskWrite], now: i64) -> anyhow::Result<()> {
    for outcome in db.apply_desk_batch(writes, now, |_| Vec::new()).await? {
        match outcome {
            DeskOutcome::Opened { .. } | DeskOutcome::Written(true) => {}
            other => anyhow::bail!("a demo ticket was not written: {other:?}"),
        }
    }
    Ok(())
}

/// The demo user's own tickets: one waiting for an answer, one solved and not yet rated.
async fn mine(state: &web::AppState, user_email: &str) -> anyhow::Result<()> {
    let Some(user) = state
        .db
        .user_by_email(&identity::Email::parse(user_email).expect("valid"))
        .await?
    else {
        return Ok(());
    };
    let open = |subject: &str, body: &str, category| desk::NewTicket {
        requester_id: user.id.clone(),
        subject: subject.into(),
        body: body.into(),
        category,
        priority: helpdesk::ticket::Priority::Normal,
        channel: "web".into(),
        language: "zh-CN".into(),
        reference: None,
        tags: Default::default(),
        opened_by: user.id.clone(),
    };
    let err = |e: web::ApiError| anyhow::anyhow!("demo ticket: {e:?}");
    desk::open_ticket(
        state,
        open(
            "提现到交易所地址需要多久？",
            "我刚把地址加进地址簿，页面说要等 24 小时才能用，这是正常的吗？",
            helpdesk::ticket::Category::FundsDelayed,
        ),
    )
    .await
    .map_err(err)?;
    let solved = desk::open_ticket(
        state,
        open(
            "怎么设置防钓鱼码？",
            "听说设置防钓鱼码可以识别假邮件，在哪里设置？",
            helpdesk::ticket::Category::AccountSecurity,
        ),
    )
    .await
    .map_err(err)?;
    let agent = solved.ticket.assignee_id.clone();
    desk::change_ticket(
        state,
        &solved.ticket.id,
        &helpdesk::change::Actor::Agent(agent.clone().unwrap_or_default()),
        agent.as_deref(),
        &desk::Asked {
            request: helpdesk::change::Request {
                message: Some(helpdesk::change::Message::Public),
                status: Some(helpdesk::ticket::TicketStatus::Solved),
                ..Default::default()
            },
            body: Some(
                "您好，在“安全中心”的“防钓鱼码”一栏设置一段只有您知道的文字即可。设置后，我们发给您的每封邮件开头都会显示它；没有这段文字的邮件都不是我们发的。"
                    .into(),
            ),
            channel: "web".into(),
            ..Default::default()
        },
    )
    .await
    .map_err(err)?;
    Ok(())
}
