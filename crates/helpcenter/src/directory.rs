//! The contact directory's rules: how a channel's hours are written down (as stored and as an
//! editor types them), what kind of channel it is and what reaching it costs, whether it is
//! open at an instant, and which channel is the best one to use right now.
//!
//! Hours are stored as a [`ScheduleSpec`] (JSON): an IANA zone, weekly periods, named holidays,
//! special dates, or open around the clock. Editors type the same thing as lines:
//! `mon-fri 09:00-18:00`, `sat 10:00-16:00`, `daily 22:00-06:00` for the week;
//! `2027-01-01 元旦 / New Year's Day` for a holiday; `2026-12-24 09:00-13:00` or
//! `2026-12-24 closed` for a special date.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The kinds of channel, in the order the directory lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    InAppCall,
    LiveChat,
    Hotline,
    Ticket,
    Email,
    Social,
    Website,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 7] = [
        ChannelKind::InAppCall,
        ChannelKind::LiveChat,
        ChannelKind::Hotline,
        ChannelKind::Ticket,
        ChannelKind::Email,
        ChannelKind::Social,
        ChannelKind::Website,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::InAppCall => "in_app_call",
            ChannelKind::LiveChat => "live_chat",
            ChannelKind::Hotline => "hotline",
            ChannelKind::Ticket => "ticket",
            ChannelKind::Email => "email",
            ChannelKind::Social => "social",
            ChannelKind::Website => "website",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether a person answers through it (the others are where we publish).
    pub fn is_conversation(self) -> bool {
        !matches!(self, ChannelKind::Social | ChannelKind::Website)
    }

    pub fn label(self, zh: bool) -> &'static str {
        match (self, zh) {
            (ChannelKind::InAppCall, true) => "应用内免费通话",
            (ChannelKind::InAppCall, false) => "Free in-app call",
            (ChannelKind::LiveChat, true) => "在线客服",
            (ChannelKind::LiveChat, false) => "Live chat",
            (ChannelKind::Hotline, true) => "客服热线",
            (ChannelKind::Hotline, false) => "Hotline",
            (ChannelKind::Ticket, true) => "提交工单",
            (ChannelKind::Ticket, false) => "Ticket",
            (ChannelKind::Email, true) => "电子邮件",
            (ChannelKind::Email, false) => "Email",
            (ChannelKind::Social, true) => "官方社交账号",
            (ChannelKind::Social, false) => "Official social account",
            (ChannelKind::Website, true) => "官方网站",
            (ChannelKind::Website, false) => "Official website",
        }
    }
}

/// What reaching a channel costs the person reaching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cost {
    /// Free from landlines and mobiles in its country.
    TollFree,
    /// Charged like a local call by the caller's operator; packages usually include it.
    LocalRate,
    /// A number abroad: international rates from most places.
    International,
    /// Free over Wi-Fi or mobile data (only the data is used).
    FreeInApp,
    /// Nothing to pay (chat, tickets, email).
    Free,
}

impl Cost {
    pub const ALL: [Cost; 5] = [
        Cost::TollFree,
        Cost::LocalRate,
        Cost::International,
        Cost::FreeInApp,
        Cost::Free,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cost::TollFree => "toll_free",
            Cost::LocalRate => "local_rate",
            Cost::International => "international",
            Cost::FreeInApp => "free_in_app",
            Cost::Free => "free",
        }
    }

    pub fn parse(s: &str) -> Option<Cost> {
        Cost::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Cost::TollFree, true) => "免费电话",
            (Cost::TollFree, false) => "Toll-free",
            (Cost::LocalRate, true) => "按本地市话计费",
            (Cost::LocalRate, false) => "Local rate",
            (Cost::International, true) => "国际长途计费",
            (Cost::International, false) => "International rates",
            (Cost::FreeInApp, true) => "免费（使用 Wi-Fi 或移动数据）",
            (Cost::FreeInApp, false) => "Free (over Wi-Fi or mobile data)",
            (Cost::Free, true) => "免费",
            (Cost::Free, false) => "Free",
        }
    }

    /// What it means in practice, one sentence.
    pub fn explanation(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Cost::TollFree, true) => "在本国用固定电话或手机拨打都不收通话费。",
            (Cost::TollFree, false) => {
                "No call charge from landlines or mobiles within the country."
            }
            (Cost::LocalRate, true) => {
                "由您的运营商按本地通话收费，套餐内通话分钟通常可以抵扣；从境外拨打按国际长途计费。"
            }
            (Cost::LocalRate, false) => {
                "Your operator charges it as a local call, usually included in your plan's \
                 minutes; from abroad international rates apply."
            }
            (Cost::International, true) => {
                "这是境外号码，从中国大陆拨打按国际长途计费；想省钱请改用应用内免费通话。"
            }
            (Cost::International, false) => {
                "A number abroad: international rates apply from most countries. The in-app \
                 call is free."
            }
            (Cost::FreeInApp, true) => {
                "通过 Wi-Fi 或移动数据通话，不产生话费，只消耗少量流量；客服能直接看到您登录的账户。"
            }
            (Cost::FreeInApp, false) => {
                "Runs over Wi-Fi or mobile data: no call charges, only a little data, and the \
                 agent already knows which account you are signed in to."
            }
            (Cost::Free, true) => "不收取任何费用。",
            (Cost::Free, false) => "Costs nothing.",
        }
    }
}

/// One weekly period as stored: the days it is on and its times (`end <= start` runs past
/// midnight; see the `hours` crate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklySpec {
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
}

/// A date the channel is closed, with its name in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaySpec {
    pub date: String,
    #[serde(default)]
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
}

/// A date with its own openings instead of the week's (none: closed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialSpec {
    pub date: String,
    #[serde(default)]
    pub openings: Vec<[String; 2]>,
}

/// A channel's hours as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    pub time_zone: String,
    #[serde(default)]
    pub always_open: bool,
    #[serde(default)]
    pub weekly: Vec<WeeklySpec>,
    #[serde(default)]
    pub holidays: Vec<HolidaySpec>,
    #[serde(default)]
    pub special: Vec<SpecialSpec>,
}

/// Why hours could not be read; the text names the offending part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

fn weekday(name: &str) -> Result<Weekday, SpecError> {
    let lower = name.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .find(|(n, _)| lower.starts_with(n) && lower.len() >= 3)
        .map(|(_, d)| *d)
        .ok_or_else(|| SpecError(format!("unknown day {name:?} (use mon, tue, … sun)")))
}

fn day_name(d: Weekday) -> &'static str {
    DAY_NAMES
        .iter()
        .find(|(_, w)| *w == d)
        .map_or("mon", |(n, _)| n)
}

fn time(text: &str) -> Result<Time, SpecError> {
    let t = text.trim();
    if t == "24:00" {
        return Ok(Time::midnight());
    }
    let (h, m) = t
        .split_once(':')
        .ok_or_else(|| SpecError(format!("time {t:?} is not HH:MM")))?;
    let h: i8 = h
        .parse()
        .map_err(|_| SpecError(format!("time {t:?} is not HH:MM")))?;
    let m: i8 = m
        .parse()
        .map_err(|_| SpecError(format!("time {t:?} is not HH:MM")))?;
    Time::new(h, m, 0, 0).map_err(|_| SpecError(format!("time {t:?} is not a time of day")))
}

fn date(text: &str) -> Result<Date, SpecError> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| SpecError(format!("date {:?} is not YYYY-MM-DD", text.trim())))
}

impl ScheduleSpec {
    /// Reads the stored JSON.
    pub fn from_json(text: &str) -> Result<ScheduleSpec, SpecError> {
        let spec: ScheduleSpec =
            serde_json::from_str(text).map_err(|e| SpecError(format!("hours: {e}")))?;
        spec.to_schedule()?;
        Ok(spec)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The schedule the `hours` crate computes with; every part is checked.
    pub fn to_schedule(&self) -> Result<hours::Schedule, SpecError> {
        let mut schedule =
            hours::Schedule::in_zone(&self.time_zone).map_err(|e| SpecError(e.to_string()))?;
        schedule.always_open = self.always_open;
        for w in &self.weekly {
            if w.days.is_empty() {
                return Err(SpecError("a weekly period has no days".into()));
            }
            let (start, end) = (time(&w.start)?, time(&w.end)?);
            for d in &w.days {
                schedule.weekly.push(hours::Period {
                    weekday: weekday(d)?,
                    start,
                    end,
                });
            }
        }
        for h in &self.holidays {
            schedule.holidays.push(date(&h.date)?);
        }
        for s in &self.special {
            let mut openings = Vec::new();
            for [start, end] in &s.openings {
                openings.push((time(start)?, time(end)?));
            }
            schedule.special.push(hours::SpecialDate {
                date: date(&s.date)?,
                openings,
            });
        }
        Ok(schedule)
    }

    /// The named holiday on the channel's local date at `now`, if it is one.
    pub fn holiday_at(&self, now: Timestamp) -> Option<&HolidaySpec> {
        let tz = TimeZone::get(&self.time_zone).ok()?;
        let today = now.to_zoned(tz).date().to_string();
        self.holidays.iter().find(|h| h.date == today)
    }

    /// The week as an editor types it, one period per line.
    pub fn weekly_text(&self) -> String {
        self.weekly
            .iter()
            .map(|w| format!("{} {}-{}", w.days.join(","), w.start, w.end))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn holidays_text(&self) -> String {
        self.holidays
            .iter()
            .map(|h| {
                let names = match (h.name_zh.is_empty(), h.name_en.is_empty()) {
                    (true, true) => String::new(),
                    _ => format!(" {} / {}", h.name_zh, h.name_en),
                };
                format!("{}{}", h.date, names)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn special_text(&self) -> String {
        self.special
            .iter()
            .map(|s| {
                if s.openings.is_empty() {
                    format!("{} closed", s.date)
                } else {
                    let times: Vec<String> =
                        s.openings.iter().map(|[a, b]| format!("{a}-{b}")).collect();
                    format!("{} {}", s.date, times.join(" "))
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads what an editor typed (see the module's notes); every line is checked.
    pub fn from_text(
        time_zone: &str,
        always_open: bool,
        weekly: &str,
        holidays: &str,
        special: &str,
    ) -> Result<ScheduleSpec, SpecError> {
        let mut spec = ScheduleSpec {
            time_zone: time_zone.trim().to_owned(),
            always_open,
            weekly: Vec::new(),
            holidays: Vec::new(),
            special: Vec::new(),
        };
        for line in lines(weekly) {
            let (days, times) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| SpecError(format!("{line:?}: write days, then HH:MM-HH:MM")))?;
            let (start, end) = times
                .trim()
                .split_once('-')
                .ok_or_else(|| SpecError(format!("{line:?}: times are HH:MM-HH:MM")))?;
            spec.weekly.push(WeeklySpec {
                days: expand_days(days)?,
                start: canonical_time(start)?,
                end: canonical_time(end)?,
            });
        }
        for line in lines(holidays) {
            let (d, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let (zh, en) = name.split_once('/').unwrap_or((name, name));
            spec.holidays.push(HolidaySpec {
                date: date(d)?.to_string(),
                name_zh: zh.trim().to_owned(),
                name_en: en.trim().to_owned(),
            });
        }
        for line in lines(special) {
            let mut words = line.split_whitespace();
            let d = date(words.next().unwrap_or_default())?.to_string();
            let mut openings = Vec::new();
            for w in words {
                if w.eq_ignore_ascii_case("closed") || w == "休息" {
                    continue;
                }
                let (a, b) = w
                    .split_once('-')
                    .ok_or_else(|| SpecError(format!("{line:?}: times are HH:MM-HH:MM")))?;
                openings.push([canonical_time(a)?, canonical_time(b)?]);
            }
            spec.special.push(SpecialSpec { date: d, openings });
        }
        spec.to_schedule()?;
        Ok(spec)
    }

    /// The week in words, one line per group of days with the same times
    /// (`周一至周五 09:00–18:00`), or "24 小时" when always open.
    pub fn summary(&self, zh: bool) -> Vec<String> {
        if self.always_open {
            return vec![if zh {
                "全年 7×24 小时".into()
            } else {
                "24 hours a day, every day".into()
            }];
        }
        let Ok(schedule) = self.to_schedule() else {
            return Vec::new();
        };
        // The times of each weekday, Monday first.
        let per_day: Vec<Vec<(Time, Time)>> = DAY_NAMES
            .iter()
            .map(|(_, d)| {
                let mut t: Vec<(Time, Time)> = schedule
                    .weekly
                    .iter()
                    .filter(|p| p.weekday == *d)
                    .map(|p| (p.start, p.end))
                    .collect();
                t.sort();
                t
            })
            .collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < 7 {
            let mut j = i;
            while j + 1 < 7 && per_day[j + 1] == per_day[i] {
                j += 1;
            }
            if !per_day[i].is_empty() {
                let days = if i == j {
                    day_label(i, zh).to_owned()
                } else if i == 0 && j == 6 {
                    (if zh { "每天" } else { "Every day" }).to_owned()
                } else {
                    format!(
                        "{}{}{}",
                        day_label(i, zh),
                        if zh { "至" } else { "–" },
                        day_label(j, zh)
                    )
                };
                let times: Vec<String> = per_day[i]
                    .iter()
                    .map(|(a, b)| {
                        let next_day = if b <= a {
                            if zh {
                                "（次日）"
                            } else {
                                " (next day)"
                            }
                        } else {
                            ""
                        };
                        format!("{}–{}{next_day}", hm(*a), hm(*b))
                    })
                    .collect();
                out.push(format!("{days} {}", times.join(", ")));
            }
            i = j + 1;
        }
        if out.is_empty() {
            out.push(if zh {
                "暂无固定服务时间".into()
            } else {
                "No regular hours".into()
            });
        }
        out
    }
}

fn day_label(i: usize, zh: bool) -> &'static str {
    const ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if zh {
        ZH[i]
    } else {
        EN[i]
    }
}

fn hm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn canonical_time(text: &str) -> Result<String, SpecError> {
    let t = text.trim();
    if t == "24:00" {
        return Ok("24:00".into());
    }
    Ok(hm(time(t)?))
}

/// `mon-fri`, `sat,sun`, `daily`, `weekdays`, `weekends` → day names.
fn expand_days(text: &str) -> Result<Vec<String>, SpecError> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let range: Vec<usize> = match part.to_ascii_lowercase().as_str() {
            "daily" | "every" | "all" => (0..7).collect(),
            "weekdays" => (0..5).collect(),
            "weekends" => (5..7).collect(),
            p => match p.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (index(weekday(a)?), index(weekday(b)?));
                    if a <= b {
                        (a..=b).collect()
                    } else {
                        (a..7).chain(0..=b).collect()
                    }
                }
                None => vec![index(weekday(p)?)],
            },
        };
        for i in range {
            let name = DAY_NAMES[i].0.to_owned();
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    if out.is_empty() {
        return Err(SpecError(format!("{text:?}: no days")));
    }
    Ok(out)
}

fn index(d: Weekday) -> usize {
    usize::try_from(d.to_monday_zero_offset()).unwrap_or(0)
}

/// A channel as far as choosing among them goes.
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    pub kind: ChannelKind,
    pub cost: Cost,
    pub open: bool,
}

/// Why the best channel is the best one now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BestReason {
    /// A free in-app call is answered now and the agent sees the account.
    FreeCallOpen,
    /// Live chat is answered now.
    ChatOpen,
    /// A hotline is answered now (the free and apps channels are not).
    HotlineOpen,
    /// Nothing answers live now: leave a ticket or a mail, answered when we open.
    OutsideHours,
}

impl BestReason {
    pub fn code(self) -> &'static str {
        match self {
            BestReason::FreeCallOpen => "free_call_open",
            BestReason::ChatOpen => "chat_open",
            BestReason::HotlineOpen => "hotline_open",
            BestReason::OutsideHours => "outside_hours",
        }
    }

    pub fn text(self, zh: bool) -> &'static str {
        match (self, zh) {
            (BestReason::FreeCallOpen, true) => {
                "应用内通话现在有人接听，免话费，客服能直接看到您的账户，不用再核对身份信息。"
            }
            (BestReason::FreeCallOpen, false) => {
                "The in-app call is answered now: no call charges, and the agent already sees \
                 your account."
            }
            (BestReason::ChatOpen, true) => "在线客服现在有人值守，文字沟通免费，记录可随时回看。",
            (BestReason::ChatOpen, false) => {
                "Live chat is staffed now: free, and you keep a written record."
            }
            (BestReason::HotlineOpen, true) => "客服热线现在有人接听。",
            (BestReason::HotlineOpen, false) => "A hotline is answered now.",
            (BestReason::OutsideHours, true) => {
                "现在是非工作时间，电话和在线客服暂时无人接听。请提交工单，我们上班后按顺序处理，进度会在“我的工单”里更新。"
            }
            (BestReason::OutsideHours, false) => {
                "Nobody answers calls or chat right now. Leave a ticket: it is answered in order \
                 when we open, and you follow it under My tickets."
            }
        }
    }
}

/// The channel to suggest now, by index into `candidates`: a free in-app call when it is
/// answered, then live chat, then an open hotline (toll-free before local rate before
/// international), and outside those hours a ticket (or else email).
pub fn best_channel(candidates: &[Candidate]) -> Option<(usize, BestReason)> {
    fn rank(c: &Candidate) -> Option<(u8, BestReason)> {
        match (c.kind, c.open) {
            (ChannelKind::InAppCall, true) => Some((0, BestReason::FreeCallOpen)),
            (ChannelKind::LiveChat, true) => Some((1, BestReason::ChatOpen)),
            (ChannelKind::Hotline, true) => Some((
                match c.cost {
                    Cost::TollFree | Cost::Free | Cost::FreeInApp => 2,
                    Cost::LocalRate => 3,
                    Cost::International => 4,
                },
                BestReason::HotlineOpen,
            )),
            (ChannelKind::Ticket, _) => Some((5, BestReason::OutsideHours)),
            (ChannelKind::Email, _) => Some((6, BestReason::OutsideHours)),
            _ => None,
        }
    }
    candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| rank(c).map(|(r, why)| (r, i, why)))
        .min_by_key(|(r, i, _)| (*r, *i))
        .map(|(_, i, why)| (i, why))
}

/// An instant as a wall-clock reading in a zone: `2026-11-25 18:00 CST`.
pub fn local_time(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// A day name, for building hour lines elsewhere.
pub fn weekday_name(d: Weekday) -> &'static str {
    day_name(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn text_form_round_trips_and_computes() {
        let spec = ScheduleSpec::from_text(
            "Asia/Shanghai",
            false,
            "mon-fri 09:00-18:00\nsat 10:00-16:00",
            "2027-01-01 元旦 / New Year's Day",
            "2026-12-24 09:00-13:00\n2026-12-31 closed",
        )
        .unwrap();
        assert_eq!(spec.weekly[0].days, ["mon", "tue", "wed", "thu", "fri"]);
        assert_eq!(spec.holidays[0].name_en, "New Year's Day");
        assert_eq!(
            spec.weekly_text(),
            "mon,tue,wed,thu,fri 09:00-18:00\nsat 10:00-16:00"
        );
        assert_eq!(
            spec.special_text(),
            "2026-12-24 09:00-13:00\n2026-12-31 closed"
        );
        let again = ScheduleSpec::from_json(&spec.to_json()).unwrap();
        assert_eq!(again, spec);
        let schedule = spec.to_schedule().unwrap();
        // Wednesday 2026-11-25 10:00 in Shanghai is 02:00 UTC: open until 18:00 (10:00 UTC).
        assert_eq!(
            schedule.status_at(ts("2026-11-25T02:00:00Z")),
            hours::Status::Open {
                closes_at: Some(ts("2026-11-25T10:00:00Z"))
            }
        );
        // New Year's Day (a Friday) is a holiday: closed, opens Saturday 10:00.
        assert_eq!(
            schedule.status_at(ts("2027-01-01T03:00:00Z")),
            hours::Status::Closed {
                opens_at: Some(ts("2027-01-02T02:00:00Z"))
            }
        );
        assert_eq!(
            spec.holiday_at(ts("2027-01-01T03:00:00Z")).unwrap().name_zh,
            "元旦"
        );
    }

    #[test]
    fn bad_text_is_named() {
        let e = ScheduleSpec::from_text("Mars/Olympus", false, "", "", "").unwrap_err();
        assert!(e.0.contains("Mars/Olympus"), "{e}");
        let e = ScheduleSpec::from_text("UTC", false, "funday 09:00-10:00", "", "").unwrap_err();
        assert!(e.0.contains("funday"), "{e}");
        let e = ScheduleSpec::from_text("UTC", false, "mon 9-10", "", "").unwrap_err();
        assert!(e.0.contains("HH:MM"), "{e}");
        let e = ScheduleSpec::from_text("UTC", false, "mon 25:00-26:00", "", "").unwrap_err();
        assert!(e.0.contains("25:00"), "{e}");
        let e = ScheduleSpec::from_text("UTC", false, "", "2026-02-30", "").unwrap_err();
        assert!(e.0.contains("2026-02-30"), "{e}");
        let e = ScheduleSpec::from_json(r#"{"time_zone":"UTC","weekly":[],"x":1}"#).unwrap_err();
        assert!(e.0.contains("unknown field"), "{e}");
    }

    #[test]
    fn day_ranges_expand_also_across_the_week_end() {
        assert_eq!(
            expand_days("fri-mon").unwrap(),
            ["fri", "sat", "sun", "mon"]
        );
        assert_eq!(expand_days("weekends").unwrap(), ["sat", "sun"]);
        assert_eq!(expand_days("daily").unwrap().len(), 7);
        assert_eq!(expand_days("mon,mon,tue").unwrap(), ["mon", "tue"]);
    }

    #[test]
    fn summaries_group_days_with_the_same_hours() {
        let spec = ScheduleSpec::from_text(
            "Asia/Shanghai",
            false,
            "mon-fri 09:00-18:00\nsat 10:00-16:00",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            spec.summary(true),
            ["周一至周五 09:00–18:00", "周六 10:00–16:00"]
        );
        assert_eq!(
            spec.summary(false),
            ["Mon–Fri 09:00–18:00", "Sat 10:00–16:00"]
        );
        let night = ScheduleSpec::from_text("UTC", false, "daily 22:00-06:00", "", "").unwrap();
        assert_eq!(night.summary(false), ["Every day 22:00–06:00 (next day)"]);
        let always = ScheduleSpec::from_text("UTC", true, "", "", "").unwrap();
        assert_eq!(always.summary(true), ["全年 7×24 小时"]);
    }

    #[test]
    fn best_channel_prefers_free_and_live_then_hotlines_then_tickets() {
        let c = |kind, cost, open| Candidate { kind, cost, open };
        let all_open = [
            c(ChannelKind::Hotline, Cost::International, true),
            c(ChannelKind::Hotline, Cost::LocalRate, true),
            c(ChannelKind::Ticket, Cost::Free, true),
            c(ChannelKind::LiveChat, Cost::Free, true),
            c(ChannelKind::InAppCall, Cost::FreeInApp, true),
        ];
        assert_eq!(best_channel(&all_open), Some((4, BestReason::FreeCallOpen)));
        let mut no_call = all_open;
        no_call[4].open = false;
        assert_eq!(best_channel(&no_call), Some((3, BestReason::ChatOpen)));
        no_call[3].open = false;
        assert_eq!(best_channel(&no_call), Some((1, BestReason::HotlineOpen)));
        no_call[1].open = false;
        assert_eq!(best_channel(&no_call), Some((0, BestReason::HotlineOpen)));
        no_call[0].open = false;
        assert_eq!(best_channel(&no_call), Some((2, BestReason::OutsideHours)));
        let only_social = [c(ChannelKind::Social, Cost::Free, true)];
        assert_eq!(best_channel(&only_social), None);
    }

    #[test]
    fn local_time_names_the_zone() {
        let tz = TimeZone::get("Europe/London").unwrap();
        assert_eq!(
            local_time(ts("2026-07-01T12:00:00Z"), &tz),
            "2026-07-01 13:00 BST"
        );
        assert_eq!(
            local_time(ts("2026-12-01T12:00:00Z"), &tz),
            "2026-12-01 12:00 GMT"
        );
    }
}
