//! Routing: who qualifies, least load then round-robin, fairness over many assignments, and
//! what goes back to the queue.

use helpdesk::routing::{
    assign, check_reassign, choose, hand_back, must_requeue, Agent, AgentId, Assignment, Language,
    Need, Presence, ReassignRefusal, TicketId,
};
use helpdesk::ticket::{Category, TicketStatus};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use crate::at;

fn agent(i: usize, load: u32, last: Option<i64>) -> Agent {
    Agent {
        id: AgentId(format!("a{i:02}")),
        presence: Presence::Online,
        capacity: 3,
        open_load: load,
        languages: vec![Language::new("zh"), Language::new("en")],
        categories: Vec::new(),
        last_assigned_at: last.map(instant),
    }
}

fn instant(offset_secs: i64) -> Timestamp {
    at("2026-09-29T00:00:00Z")
        .checked_add(SignedDuration::from_secs(offset_secs))
        .unwrap()
}

fn need(language: &str, category: Category) -> Need {
    Need {
        language: Language::new(language),
        category,
    }
}

#[test]
fn least_loaded_then_least_recent_then_id() {
    let n = need("ZH", Category::LoginFailed);
    let agents = [
        agent(0, 2, Some(1)),
        agent(1, 1, Some(50)),
        agent(2, 1, Some(10)),
    ];
    assert_eq!(choose(&agents, &n), Some(&agents[2].id));
    let agents = [
        agent(0, 1, Some(10)),
        agent(1, 1, None),
        agent(2, 0, Some(99)),
    ];
    assert_eq!(choose(&agents, &n), Some(&agents[2].id));
    let agents = [agent(3, 1, None), agent(1, 1, None), agent(2, 1, Some(1))];
    assert_eq!(choose(&agents, &n), Some(&agents[1].id));
}

#[test]
fn away_offline_full_and_unskilled_agents_get_nothing() {
    let n = need("en", Category::FundsDelayed);
    let mut away = agent(0, 0, None);
    away.presence = Presence::Away;
    let mut offline = agent(1, 0, None);
    offline.presence = Presence::Offline;
    let full = agent(2, 3, None);
    let mut chinese_only = agent(3, 0, None);
    chinese_only.languages = vec![Language::new("zh")];
    let mut logins_only = agent(4, 0, None);
    logins_only.categories = vec![Category::LoginFailed];
    let mut agents = vec![away, offline, full, chinese_only, logins_only];
    assert_eq!(choose(&agents, &n), None);
    let mut funds = agent(5, 2, Some(5));
    funds.categories = vec![Category::FundsDelayed, Category::PaymentFailed];
    agents.push(funds);
    assert_eq!(choose(&agents, &n), Some(&AgentId("a05".into())));
}

#[test]
fn assign_records_load_and_time() {
    let mut agents = vec![agent(0, 0, None), agent(1, 0, None)];
    let n = need("zh", Category::Other);
    assert_eq!(
        assign(&mut agents, &n, instant(1)),
        Some(AgentId("a00".into()))
    );
    assert_eq!(agents[0].open_load, 1);
    assert_eq!(agents[0].last_assigned_at, Some(instant(1)));
    assert_eq!(
        assign(&mut agents, &n, instant(2)),
        Some(AgentId("a01".into()))
    );
}

#[test]
fn going_offline_hands_back_only_what_waits_on_us() {
    let me = AgentId("a01".into());
    let other = AgentId("a02".into());
    let row = |t: &str, agent: &AgentId, status| Assignment {
        ticket: TicketId(t.into()),
        agent: agent.clone(),
        status,
    };
    let assignments = [
        row("t1", &me, TicketStatus::Open),
        row("t2", &me, TicketStatus::Pending),
        row("t3", &me, TicketStatus::New),
        row("t4", &me, TicketStatus::OnHold),
        row("t5", &me, TicketStatus::Solved),
        row("t6", &other, TicketStatus::Open),
        row("t7", &me, TicketStatus::Closed),
    ];
    let back: Vec<&str> = hand_back(&assignments, &me)
        .iter()
        .map(|t| t.0.as_str())
        .collect();
    assert_eq!(back, ["t1", "t3"]);
    assert!(must_requeue(TicketStatus::Open, Presence::Offline));
    assert!(!must_requeue(TicketStatus::Open, Presence::Away));
    assert!(!must_requeue(TicketStatus::Pending, Presence::Offline));
}

#[test]
fn manual_reassignment_refuses_unknown_and_offline_agents() {
    let mut offline = agent(1, 0, None);
    offline.presence = Presence::Offline;
    let agents = [agent(0, 3, None), offline];
    assert_eq!(check_reassign(&agents, &AgentId("a00".into())), Ok(()));
    assert_eq!(
        check_reassign(&agents, &AgentId("a01".into())),
        Err(ReassignRefusal::Offline)
    );
    assert_eq!(
        check_reassign(&agents, &AgentId("zz".into())),
        Err(ReassignRefusal::UnknownAgent)
    );
}

fn arbitrary_agents() -> impl Strategy<Value = Vec<Agent>> {
    let presence = prop::sample::select(vec![Presence::Online, Presence::Away, Presence::Offline]);
    let one = (
        presence,
        0u32..4,
        0u32..5,
        prop::sample::subsequence(vec!["zh", "en", "ja"], 0..=3),
        prop::sample::subsequence(Category::ALL.to_vec(), 0..=3),
        prop::option::of(0i64..20),
    );
    prop::collection::vec(one, 0..10).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(
                |(i, (presence, capacity, open_load, langs, categories, last))| Agent {
                    id: AgentId(format!("a{i:02}")),
                    presence,
                    capacity,
                    open_load,
                    languages: langs.into_iter().map(Language::new).collect(),
                    categories,
                    last_assigned_at: last.map(instant),
                },
            )
            .collect()
    })
}

fn arbitrary_need() -> impl Strategy<Value = Need> {
    (
        prop::sample::select(vec!["zh", "en", "ja"]),
        prop::sample::select(Category::ALL.to_vec()),
    )
        .prop_map(|(l, c)| need(l, c))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The chosen agent is online, has room and the skills; someone is chosen whenever someone
    /// qualifies; the least loaded wins, then the least recently assigned; the order of the
    /// list does not matter.
    #[test]
    fn choice_is_qualified_and_least_loaded(agents in arbitrary_agents(), n in arbitrary_need()) {
        let qualified: Vec<&Agent> = agents.iter().filter(|a| a.qualifies(&n)).collect();
        let chosen = choose(&agents, &n);
        prop_assert_eq!(chosen.is_some(), !qualified.is_empty());
        if let Some(id) = chosen {
            let a = agents.iter().find(|a| &a.id == id).unwrap();
            prop_assert_eq!(a.presence, Presence::Online);
            prop_assert!(a.open_load < a.capacity);
            prop_assert!(a.languages.contains(&n.language));
            prop_assert!(a.categories.is_empty() || a.categories.contains(&n.category));
            for q in &qualified {
                prop_assert!(a.open_load <= q.open_load);
                if q.open_load == a.open_load {
                    prop_assert!(a.last_assigned_at <= q.last_assigned_at);
                }
            }
        }
        let mut reversed = agents.clone();
        reversed.reverse();
        prop_assert_eq!(choose(&reversed, &n), chosen);
    }

    /// Equal agents that finish tickets at equal rates take turns: over many tickets, the
    /// numbers they were given differ by at most one, even when they are all full at times.
    #[test]
    fn equal_agents_take_turns(
        agent_count in 2usize..9,
        capacity in 1u32..4,
        service_steps in 1usize..12,
        steps in 20usize..300,
    ) {
        let mut agents: Vec<Agent> = (0..agent_count)
            .map(|i| Agent { capacity, ..agent(i, 0, None) })
            .collect();
        let n = need("zh", Category::CannotTrade);
        let mut given = vec![0u32; agent_count];
        let mut finishing: Vec<(usize, usize)> = Vec::new(); // (step, agent index)
        let mut waiting = 0usize;
        let mut clock = 0i64;
        for step in 0..steps {
            for (_, i) in finishing.iter().filter(|(s, _)| *s == step) {
                agents[*i].open_load -= 1;
            }
            finishing.retain(|(s, _)| *s != step);
            waiting += 1;
            while waiting > 0 {
                clock += 1;
                let Some(id) = assign(&mut agents, &n, instant(clock)) else { break };
                let i = agents.iter().position(|a| a.id == id).unwrap();
                prop_assert!(agents[i].open_load <= capacity);
                given[i] += 1;
                finishing.push((step + service_steps, i));
                waiting -= 1;
            }
        }
        let (min, max) = (given.iter().min().unwrap(), given.iter().max().unwrap());
        prop_assert!(max - min <= 1, "{given:?}");
    }
}

#[test]
fn tickets_find_the_group_with_the_skill_and_the_language() {
    use helpdesk::routing::{choose_group, GroupSkills};
    let group = |id: &str, languages: &[&str], categories: &[Category]| GroupSkills {
        id: id.into(),
        languages: languages.iter().map(|l| Language::new(l)).collect(),
        categories: categories.to_vec(),
    };
    let groups = [
        group("security-zh", &["zh-CN"], &[Category::AccountSecurity]),
        group(
            "security-en",
            &["en"],
            &[Category::AccountSecurity, Category::LoginFailed],
        ),
        group("general", &["zh-CN", "en"], &[]),
    ];
    let pick = |language: &str, category| choose_group(&groups, &need(language, category));
    assert_eq!(
        pick("zh-CN", Category::AccountSecurity),
        Some("security-zh")
    );
    assert_eq!(pick("EN", Category::AccountSecurity), Some("security-en"));
    assert_eq!(
        pick("zh-CN", Category::LoginFailed),
        Some("general"),
        "language before order"
    );
    assert_eq!(pick("en", Category::Other), Some("general"));
    // Nobody speaks French: the category still decides, then the first group.
    assert_eq!(pick("fr", Category::AccountSecurity), Some("security-zh"));
    let only = [group(
        "security-zh",
        &["zh-CN"],
        &[Category::AccountSecurity],
    )];
    assert_eq!(
        choose_group(&only, &need("en", Category::Other)),
        Some("security-zh")
    );
    assert_eq!(choose_group(&[], &need("en", Category::Other)), None);
}
