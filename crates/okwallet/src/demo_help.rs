//! The demo's help center: hotlines in several cities and time zones (one around the clock,
//! one overnight desk, public holidays and a short day), the in-app call, chat, tickets, email,
//! official social accounts and the website; an ETH deposit incident, a planned maintenance and
//! a security notice about fake customer-service numbers.
//!
//! Every number here is fictional: the +86 400 numbers are not assigned to anyone we know of,
//! +852 3xxx and +44 20 7946 0xxx are ranges set aside for drama, and +1 800 555 01xx is
//! reserved for fiction. Added only to a database that has no channels (or announcements) yet.

use helpcenter::directory::ScheduleSpec;
use store::helpcenter::{Announcement, ContactChannel};
use store::Db;

struct Demo {
    id: &'static str,
    kind: &'static str,
    name: (&'static str, &'static str),
    region: (&'static str, &'static str),
    value: &'static str,
    display: &'static str,
    languages: &'static str,
    hours: (&'static str, bool, &'static str, &'static str, &'static str),
    cost: &'static str,
    cost_note: (&'static str, &'static str),
    note: (&'static str, &'static str),
}

const SPRING_FESTIVAL: &str = "2027-01-01 元旦 / New Year's Day\n\
     2027-02-06 春节 / Spring Festival\n2027-02-07 春节 / Spring Festival\n\
     2027-02-08 春节 / Spring Festival\n2027-02-09 春节 / Spring Festival";

const CHANNELS: &[Demo] = &[
    Demo {
        id: "in-app-call",
        kind: "in_app_call",
        name: ("应用内免费通话", "Free in-app call"),
        region: ("全球", "Worldwide"),
        value: "",
        display: "",
        languages: "zh-CN,en",
        hours: ("Asia/Shanghai", false, "daily 08:00-22:00", "", ""),
        cost: "free_in_app",
        cost_note: (
            "登录后在“我的工单 / 通话”里发起，语音走网络，不占用通话分钟。",
            "Start it from Support after logging in; the voice goes over the internet, not your minutes.",
        ),
        note: (
            "客服已能看到您登录的账户，无需再报手机号或证件号。",
            "The agent already sees the account you are logged in to; no need to read out IDs.",
        ),
    },
    Demo {
        id: "live-chat",
        kind: "live_chat",
        name: ("在线客服", "Live chat"),
        region: ("全球", "Worldwide"),
        value: "",
        display: "",
        languages: "zh-CN,en",
        hours: ("Asia/Shanghai", true, "", "", ""),
        cost: "free",
        cost_note: ("", ""),
        note: (
            "夜间由值班客服接待，复杂问题会转成工单，白天继续跟进。",
            "Night staff answer at night; complex questions become tickets followed up in the day.",
        ),
    },
    Demo {
        id: "cn-hotline",
        kind: "hotline",
        name: ("全国客服热线", "Mainland China hotline"),
        region: ("中国大陆 · 北京", "Mainland China · Beijing"),
        value: "+86 400 990 1234",
        display: "400-990-1234",
        languages: "zh-CN",
        hours: (
            "Asia/Shanghai",
            false,
            "mon-fri 09:00-18:00\nsat 10:00-16:00",
            SPRING_FESTIVAL,
            "2026-12-31 09:00-15:00",
        ),
        cost: "local_rate",
        cost_note: (
            "400 号码按本地市话计费，手机套餐内分钟通常可抵扣；从境外拨打按国际长途计费。",
            "400 numbers are charged as local calls; plans usually include them. From abroad, international rates apply.",
        ),
        note: (
            "按 1 查询充值提现，按 2 账户安全，按 0 人工。",
            "Press 1 for deposits and withdrawals, 2 for account security, 0 for an agent.",
        ),
    },
    Demo {
        id: "security-hotline",
        kind: "hotline",
        name: ("7×24 小时安全专线", "24/7 security line"),
        region: ("中国大陆", "Mainland China"),
        value: "+86 400 990 5678",
        display: "400-990-5678",
        languages: "zh-CN,en",
        hours: ("Asia/Shanghai", true, "", "", ""),
        cost: "local_rate",
        cost_note: (
            "按本地市话计费。账户被盗时请先在“账户安全”里一键冻结，再来电。",
            "Local rate. If your account is being taken over, freeze it first under Security, then call.",
        ),
        note: (
            "只处理账户被盗、可疑登录和冻结解冻，其他问题请拨全国客服热线。",
            "Only for stolen accounts, suspicious log-ins and freezing; other questions go to the main hotline.",
        ),
    },
    Demo {
        id: "shenzhen-night",
        kind: "hotline",
        name: ("深圳夜间值班热线", "Shenzhen night desk"),
        region: ("中国大陆 · 深圳", "Mainland China · Shenzhen"),
        value: "+86 755 2399 0000",
        display: "0755-2399-0000",
        languages: "zh-CN",
        hours: ("Asia/Shanghai", false, "daily 22:00-06:00", "", ""),
        cost: "local_rate",
        cost_note: (
            "深圳本地固话，外地拨打按国内长途或套餐计费。",
            "A Shenzhen landline: from other cities, your plan's domestic rate applies.",
        ),
        note: (
            "夜间处理充值提现延迟等紧急问题。",
            "At night, for urgent matters such as late deposits or withdrawals.",
        ),
    },
    Demo {
        id: "hk-hotline",
        kind: "hotline",
        name: ("香港客服热线", "Hong Kong hotline"),
        region: ("中国香港", "Hong Kong"),
        value: "+852 3001 2345",
        display: "+852 3001 2345",
        languages: "yue,zh-CN,en",
        hours: (
            "Asia/Hong_Kong",
            false,
            "mon-fri 09:00-18:00",
            "2026-12-25 圣诞节 / Christmas Day\n2026-12-26 圣诞节翌日 / Boxing Day",
            "",
        ),
        cost: "local_rate",
        cost_note: (
            "香港本地电话；从内地拨打按国际及港澳台长途计费。",
            "A Hong Kong number: local there, international from the mainland.",
        ),
        note: ("粤语、普通话、英语。", "Cantonese, Mandarin and English."),
    },
    Demo {
        id: "london-hotline",
        kind: "hotline",
        name: ("伦敦客服热线", "London hotline"),
        region: ("英国 · 伦敦", "United Kingdom · London"),
        value: "+44 20 7946 0123",
        display: "+44 20 7946 0123",
        languages: "en",
        hours: (
            "Europe/London",
            false,
            "mon-fri 09:00-17:30",
            "2026-12-25 圣诞节 / Christmas Day\n2026-12-28 节礼日补假 / Boxing Day (substitute)",
            "2026-12-24 09:00-13:00",
        ),
        cost: "international",
        cost_note: (
            "英国固定电话；从中国拨打按国际长途计费，建议改用应用内免费通话。",
            "A UK landline: standard UK rates, international from elsewhere.",
        ),
        note: ("", ""),
    },
    Demo {
        id: "us-tollfree",
        kind: "hotline",
        name: ("美国免费热线", "US toll-free line"),
        region: ("美国 · 纽约", "United States · New York"),
        value: "+1 800 555 0142",
        display: "+1 (800) 555-0142",
        languages: "en,zh-CN",
        hours: (
            "America/New_York",
            false,
            "mon-fri 08:00-20:00",
            "2026-11-26 感恩节 / Thanksgiving Day\n2026-12-25 圣诞节 / Christmas Day",
            "",
        ),
        cost: "toll_free",
        cost_note: (
            "在美国和加拿大拨打免费；从其他国家拨打可能无法接通或按国际长途计费。",
            "Free from the US and Canada; from other countries it may not connect or may cost international rates.",
        ),
        note: ("", ""),
    },
    Demo {
        id: "ticket",
        kind: "ticket",
        name: ("提交工单", "Ticket"),
        region: ("全球", "Worldwide"),
        value: "",
        display: "",
        languages: "zh-CN,en",
        hours: ("Asia/Shanghai", true, "", "", ""),
        cost: "free",
        cost_note: ("", ""),
        note: (
            "随时可以提交，工作时间内按顺序处理，可上传截图。",
            "Open any time; answered in order during working hours; screenshots welcome.",
        ),
    },
    Demo {
        id: "support-email",
        kind: "email",
        name: ("客服邮箱", "Support email"),
        region: ("全球", "Worldwide"),
        value: "support@okwallet.example",
        display: "support@okwallet.example",
        languages: "zh-CN,en",
        hours: ("Asia/Shanghai", true, "", "", ""),
        cost: "free",
        cost_note: ("", ""),
        note: (
            "一个工作日内回复。我们发出的邮件都带有您设置的防钓鱼码。",
            "Answered within one working day. Our mails always carry your anti-phishing code.",
        ),
    },
    Demo {
        id: "weibo",
        kind: "social",
        name: ("官方微博", "Weibo"),
        region: ("", ""),
        value: "weibo:@okwallet官方",
        display: "@okwallet官方",
        languages: "zh-CN",
        hours: ("Asia/Shanghai", true, "", "", ""),
        cost: "free",
        cost_note: ("", ""),
        note: (
            "只发布公告，不私信索要任何账户信息。",
            "Announcements only; it never asks for account details in private messages.",
        ),
    },
    Demo {
        id: "x",
        kind: "social",
        name: ("官方 X 账号", "X (Twitter)"),
        region: ("", ""),
        value: "x:@okwallet",
        display: "@okwallet",
        languages: "en",
        hours: ("UTC", true, "", "", ""),
        cost: "free",
        cost_note: ("", ""),
        note: ("", "Announcements only; we never DM first."),
    },
    Demo {
        id: "website",
        kind: "website",
        name: ("官方网站", "Official website"),
        region: ("", ""),
        value: "okwallet.example",
        display: "okwallet.example",
        languages: "zh-CN,en",
        hours: ("UTC", true, "", "", ""),
        cost: "free",
        cost_note: ("", ""),
        note: ("", ""),
    },
];

/// Adds the demo's channels and announcements where there are none.
pub async fn seed(db: &Db, default_country_code: &str) -> anyhow::Result<()> {
    if db.contact_channels(true).await?.is_empty() {
        for (i, d) in CHANNELS.iter().enumerate() {
            let (zone, always, weekly, holidays, special) = d.hours;
            let spec = ScheduleSpec::from_text(zone, always, weekly, holidays, special)
                .map_err(|e| anyhow::anyhow!("demo channel {}: {e}", d.id))?;
            let value = if d.kind == "hotline" {
                helpcenter::official::normalise_phone(d.value, default_country_code)
                    .ok_or_else(|| anyhow::anyhow!("demo channel {}: bad number", d.id))?
            } else {
                d.value.to_owned()
            };
            db.save_contact_channel(&ContactChannel {
                id: d.id.into(),
                kind: d.kind.into(),
                name_zh: d.name.0.into(),
                name_en: d.name.1.into(),
                region_zh: d.region.0.into(),
                region_en: d.region.1.into(),
                value,
                display: d.display.into(),
                languages: d.languages.into(),
                schedule: spec.to_json(),
                cost: d.cost.into(),
                cost_note_zh: d.cost_note.0.into(),
                cost_note_en: d.cost_note.1.into(),
                note_zh: d.note.0.into(),
                note_en: d.note.1.into(),
                position: i64::try_from(i).unwrap_or(0) * 10,
                enabled: true,
                updated_at_ms: store::now_ms(),
            })
            .await?;
        }
    }
    if db.announcements(true, 1).await?.is_empty() {
        let now = store::now_ms();
        let hour = 3_600_000;
        let base = |id: &str, kind: &str, state: &str| Announcement {
            id: id.into(),
            kind: kind.into(),
            state: state.into(),
            title_zh: String::new(),
            title_en: String::new(),
            body_zh: String::new(),
            body_en: String::new(),
            affected: String::new(),
            starts_at_ms: now - hour,
            ends_at_ms: None,
            published: true,
            created_by: None,
            created_at_ms: now - hour,
            updated_at_ms: now - hour,
        };
        db.insert_announcement(&Announcement {
            title_zh: "ETH 充值到账延迟".into(),
            title_en: "ETH deposits delayed".into(),
            body_zh: "以太坊网络拥堵，ETH 充值的区块确认比平时慢，到账可能延迟 30 分钟左右。资金安全，确认数够了会自动入账，无需重复充值，也无需联系客服。".into(),
            body_en: "The Ethereum network is congested: confirmations for ETH deposits are slower than usual and crediting may take about 30 minutes longer. Your funds are safe and will be credited automatically once confirmed — there is no need to deposit again or to contact us.".into(),
            affected: "deposit:ETH".into(),
            ..base("demo-eth-delay", "incident", "investigating")
        })
        .await?;
        db.add_announcement_update(
            &store::helpcenter::AnnouncementUpdate {
                id: store::new_id(),
                announcement_id: "demo-eth-delay".into(),
                state: "identified".into(),
                body_zh: "原因已找到：网络手续费上涨导致出块拥堵。我们在持续观察，确认数达到要求后自动入账。".into(),
                body_en: "Cause found: a rise in network fees is congesting blocks. We are watching; deposits are credited automatically once they have their confirmations.".into(),
                created_by: None,
                created_at_ms: now - hour / 2,
            },
            None,
        )
        .await?;
        db.insert_announcement(&Announcement {
            title_zh: "提现系统例行维护".into(),
            title_en: "Scheduled withdrawal maintenance".into(),
            body_zh: "维护期间提现申请可以正常提交，会在维护结束后依次处理。充值、转账和闪兑不受影响。".into(),
            body_en: "During the maintenance you can still ask for withdrawals; they are sent in order when it ends. Deposits, transfers and conversions are not affected.".into(),
            affected: "withdraw".into(),
            starts_at_ms: now + 48 * hour,
            ends_at_ms: Some(now + 50 * hour),
            ..base("demo-maintenance", "maintenance", "scheduled")
        })
        .await?;
        db.insert_announcement(&Announcement {
            title_zh: "警惕冒充客服的电话和短信".into(),
            title_en: "Beware of calls and texts pretending to be us".into(),
            body_zh: "近期有人冒充 okwallet 客服，以“账户异常”“退款”为由要求转账或索要验证码。我们的客服绝不会索要密码、验证码、恢复码或助记词，也不会要求您转账到“安全账户”。收到可疑号码或链接，请在帮助中心的“官方渠道验证”里查一查。".into(),
            body_en: "People are calling and texting as okwallet support, claiming an \"account problem\" or a \"refund\", and asking for transfers or codes. We never ask for your password, verification codes, recovery codes or seed phrase, and never ask you to move money to a \"safe account\". Check any number or link on the help center's \"Is this really us?\" page.".into(),
            affected: "login".into(),
            starts_at_ms: now - 72 * hour,
            ..base("demo-phishing-notice", "security", "active")
        })
        .await?;
    }
    Ok(())
}
