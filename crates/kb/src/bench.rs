//! A benchmark of the index on a synthetic knowledge base: `articles` articles (half Chinese,
//! half English) written from a vocabulary of wallet and support phrases, a few hundred
//! characters each with some Markdown, and `queries` questions (four Chinese to one English)
//! made the way people ask: a topic phrase or two, sometimes a colloquial phrasing that only a
//! synonym connects, sometimes filler words. It times building the index and every search
//! (snippets included) and reports percentiles.
//!
//! Seeded, so a run is reproducible; nothing is asserted here — the numbers are for people.
//! `okwallet bench help-center` prints the 10 000-article run (release build).

use std::fmt;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::article::{Article, CATEGORIES};
use crate::index::Index;

/// How many hits each benchmark search asks for, as a results page would.
pub const HITS_PER_PAGE: usize = 10;

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Report {
    pub seed: u64,
    pub articles_zh: usize,
    pub articles_en: usize,
    /// Mean length of an article body, in characters.
    pub body_chars_mean: usize,
    /// Building the index from the articles, analysis included.
    pub build: Duration,
    pub queries_zh: usize,
    pub queries_en: usize,
    /// Search latency percentiles over every query, in microseconds (nearest rank).
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub mean_us: u64,
    /// Mean number of hits returned per query (at most [`HITS_PER_PAGE`]).
    pub hits_per_query: f64,
    /// Queries that found nothing.
    pub queries_without_hits: usize,
}

impl Report {
    /// Articles indexed.
    pub fn articles(&self) -> usize {
        self.articles_zh + self.articles_en
    }

    /// Queries run.
    pub fn queries(&self) -> usize {
        self.queries_zh + self.queries_en
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let build_ms = self.build.as_secs_f64() * 1000.0;
        let per_article_us = self.build.as_secs_f64() * 1e6 / self.articles().max(1) as f64;
        writeln!(f, "kb search benchmark (seed {})", self.seed)?;
        writeln!(
            f,
            "  articles        {:>8}   ({} zh-CN, {} en; body {} chars on average)",
            self.articles(),
            self.articles_zh,
            self.articles_en,
            self.body_chars_mean
        )?;
        writeln!(
            f,
            "  build           {build_ms:>8.1} ms ({per_article_us:.0} µs per article)"
        )?;
        writeln!(
            f,
            "  queries         {:>8}   ({} zh-CN, {} en; {} hits asked each)",
            self.queries(),
            self.queries_zh,
            self.queries_en,
            HITS_PER_PAGE
        )?;
        writeln!(f, "  latency p50     {:>8} µs", self.p50_us)?;
        writeln!(f, "  latency p95     {:>8} µs", self.p95_us)?;
        writeln!(f, "  latency p99     {:>8} µs", self.p99_us)?;
        writeln!(f, "  latency max     {:>8} µs", self.max_us)?;
        writeln!(f, "  latency mean    {:>8} µs", self.mean_us)?;
        writeln!(f, "  hits per query  {:>8.2}", self.hits_per_query)?;
        write!(f, "  without hits    {:>8}", self.queries_without_hits)
    }
}

/// Builds an index of `articles` synthetic articles and runs `queries` searches on it.
///
/// # Panics
///
/// When the index fails, which on generated articles is a bug.
pub fn run(articles: usize, queries: usize, seed: u64) -> Report {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let generated: Vec<Article> = (0..articles)
        .map(|i| {
            if i % 2 == 0 {
                zh_article(&mut rng, i)
            } else {
                en_article(&mut rng, i)
            }
        })
        .collect();
    let articles_zh = generated.iter().filter(|a| a.lang == "zh-CN").count();
    let body_chars_mean = generated
        .iter()
        .map(|a| a.body_md.chars().count())
        .sum::<usize>()
        / articles.max(1);

    let started = Instant::now();
    let index = Index::build(generated).expect("indexing generated articles");
    let build = started.elapsed();

    let queries_en = queries / 5;
    let queries_zh = queries - queries_en;
    let mut asked: Vec<(String, &str)> = Vec::with_capacity(queries);
    for _ in 0..queries_zh {
        asked.push((zh_query(&mut rng), "zh-CN"));
    }
    for _ in 0..queries_en {
        asked.push((en_query(&mut rng), "en"));
    }
    asked.shuffle(&mut rng);

    let mut latencies_us = Vec::with_capacity(asked.len());
    let mut hits_total = 0;
    let mut queries_without_hits = 0;
    for (query, lang) in &asked {
        let started = Instant::now();
        let hits = index
            .search(query, lang, HITS_PER_PAGE)
            .expect("searching generated articles");
        latencies_us.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        hits_total += hits.len();
        if hits.is_empty() {
            queries_without_hits += 1;
        }
    }
    latencies_us.sort_unstable();
    let mean_us = latencies_us.iter().sum::<u64>() / latencies_us.len().max(1) as u64;

    Report {
        seed,
        articles_zh,
        articles_en: articles - articles_zh,
        body_chars_mean,
        build,
        queries_zh,
        queries_en,
        p50_us: percentile(&latencies_us, 50.0),
        p95_us: percentile(&latencies_us, 95.0),
        p99_us: percentile(&latencies_us, 99.0),
        max_us: latencies_us.last().copied().unwrap_or(0),
        mean_us,
        hits_per_query: hits_total as f64 / asked.len().max(1) as f64,
        queries_without_hits,
    }
}

/// The nearest-rank percentile of sorted values; 0 for none.
fn percentile(sorted: &[u64], percent: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

const ZH_TOPICS: &[&str] = &[
    "充值",
    "提现",
    "到账",
    "转账",
    "兑换",
    "付款",
    "退款",
    "手续费",
    "限额",
    "余额",
    "冻结",
    "解冻",
    "登录",
    "密码",
    "验证码",
    "两步验证",
    "恢复码",
    "通行密钥",
    "设备",
    "安全日志",
    "防钓鱼码",
    "客服热线",
    "工作时间",
    "节假日",
    "投诉",
    "工单",
    "参考编号",
    "区块确认",
    "提现地址",
    "地址簿",
    "网络",
    "币种",
    "报价",
    "流动性",
    "商户",
    "二维码",
    "邮件",
    "手机",
    "账户",
    "钱包",
    "审核",
    "交易哈希",
    "应用内通话",
    "话费",
    "骗子",
    "假客服",
    "助记词",
    "私钥",
];
const ZH_STATES: &[&str] = &[
    "没到账",
    "失败了",
    "被锁定",
    "一直在审核中",
    "显示已过期",
    "提示余额不足",
    "收不到",
    "不能用",
    "被退回",
    "超出限额",
    "很慢",
    "显示确认中",
    "被冻结",
    "找不到",
    "不对",
];
const ZH_CLAUSES: &[&str] = &[
    "请先在页面上查看当前状态",
    "通常几分钟内就会自动更新",
    "如果长时间没有变化，可以联系客服",
    "工作人员绝不会向您索要密码或验证码",
    "您可以在账户明细里找到参考编号",
    "网络繁忙时需要更多时间确认",
    "系统会自动退回金额和手续费",
    "修改安全设置后会有一段等待时间",
    "每个币种的最小金额不同",
    "请核对地址和网络是否一致",
    "大额操作需要再次验证身份",
    "节假日的服务时间可能调整",
    "应用内通话不收取任何费用",
    "遇到可疑情况请立即冻结账户",
];
const ZH_FILLERS: &[&str] = &[
    "我的",
    "怎么办",
    "为什么",
    "请问",
    "一直",
    "还是",
    "怎么",
    "吗",
];

const EN_TOPICS: &[&str] = &[
    "deposit",
    "withdrawal",
    "transfer",
    "conversion",
    "payment",
    "refund",
    "fee",
    "daily limit",
    "balance",
    "frozen account",
    "password",
    "verification code",
    "two-step verification",
    "recovery code",
    "passkey",
    "device",
    "security log",
    "anti-phishing code",
    "hotline",
    "opening hours",
    "holiday",
    "complaint",
    "ticket",
    "reference number",
    "confirmations",
    "withdrawal address",
    "address book",
    "network",
    "token",
    "quote",
    "liquidity",
    "merchant",
    "QR code",
    "email",
    "phone",
    "account",
    "wallet",
    "review",
    "transaction hash",
    "in-app call",
    "call charges",
    "scammer",
    "fake support",
    "seed phrase",
    "private key",
];
const EN_STATES: &[&str] = &[
    "has not arrived",
    "failed",
    "is locked",
    "is stuck in review",
    "has expired",
    "says insufficient funds",
    "never came",
    "does not work",
    "was refunded",
    "is over the limit",
    "is slow",
    "is still confirming",
    "is frozen",
    "is missing",
    "looks wrong",
];
const EN_CLAUSES: &[&str] = &[
    "check its status on the page first",
    "it usually updates by itself within minutes",
    "if nothing changes for a long time, contact support",
    "our staff will never ask for your password or codes",
    "the reference number is in your activity",
    "a busy network needs more time to confirm",
    "the amount and the fee are returned automatically",
    "there is a waiting time after a security change",
    "each token has its own minimum",
    "make sure the address and the network match",
    "large actions ask you to confirm it is you",
    "hours can change on public holidays",
    "in-app calls cost nothing",
    "if anything looks suspicious, freeze your account at once",
];
const EN_FILLERS: &[&str] = &[
    "my",
    "why",
    "how do I fix",
    "help",
    "still",
    "what if",
    "please",
];

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or_default()
}

fn category(i: usize) -> String {
    CATEGORIES[i % CATEGORIES.len()].to_owned()
}

fn zh_article(rng: &mut ChaCha8Rng, i: usize) -> Article {
    let topic = pick(rng, ZH_TOPICS);
    let state = pick(rng, ZH_STATES);
    let other = pick(rng, ZH_TOPICS);
    let mut body = String::new();
    let body_chars = rng.gen_range(250..600);
    while body.chars().count() < body_chars {
        match rng.gen_range(0..10) {
            0 => body.push_str(&format!(
                "\n\n## {}{}\n\n",
                pick(rng, ZH_TOPICS),
                pick(rng, ZH_STATES)
            )),
            1 => body.push_str(&format!(
                "\n\n- **{}**：{}。\n",
                pick(rng, ZH_TOPICS),
                pick(rng, ZH_CLAUSES)
            )),
            _ => body.push_str(&format!(
                "{}{}时，{}；{}。",
                pick(rng, ZH_TOPICS),
                pick(rng, ZH_STATES),
                pick(rng, ZH_CLAUSES),
                pick(rng, ZH_CLAUSES)
            )),
        }
    }
    Article {
        slug: format!("bench-{i:06}"),
        lang: "zh-CN".to_owned(),
        category: category(i),
        title: format!("{topic}{state}怎么办？和{other}有关吗"),
        tags: (0..4).map(|_| pick(rng, ZH_TOPICS).to_owned()).collect(),
        body_md: body,
    }
}

fn en_article(rng: &mut ChaCha8Rng, i: usize) -> Article {
    let topic = pick(rng, EN_TOPICS);
    let state = pick(rng, EN_STATES);
    let other = pick(rng, EN_TOPICS);
    let mut body = String::new();
    let body_chars = rng.gen_range(400..900);
    while body.chars().count() < body_chars {
        match rng.gen_range(0..10) {
            0 => body.push_str(&format!(
                "\n\n## When the {} {}\n\n",
                pick(rng, EN_TOPICS),
                pick(rng, EN_STATES)
            )),
            1 => body.push_str(&format!(
                "\n\n- **{}**: {}.\n",
                pick(rng, EN_TOPICS),
                pick(rng, EN_CLAUSES)
            )),
            _ => body.push_str(&format!(
                "If your {} {}, {}; {}. ",
                pick(rng, EN_TOPICS),
                pick(rng, EN_STATES),
                pick(rng, EN_CLAUSES),
                pick(rng, EN_CLAUSES)
            )),
        }
    }
    Article {
        slug: format!("bench-{i:06}"),
        lang: "en".to_owned(),
        category: category(i),
        title: format!("My {topic} {state} — is it the {other}?"),
        tags: (0..4).map(|_| pick(rng, EN_TOPICS).to_owned()).collect(),
        body_md: body,
    }
}

fn zh_query(rng: &mut ChaCha8Rng) -> String {
    match rng.gen_range(0..4) {
        0 => format!("{}{}", pick(rng, ZH_TOPICS), pick(rng, ZH_STATES)),
        1 => format!(
            "{}{}{}",
            pick(rng, ZH_FILLERS),
            pick(rng, ZH_TOPICS),
            pick(rng, ZH_STATES)
        ),
        2 => format!("{} {}", pick(rng, ZH_TOPICS), pick(rng, ZH_TOPICS)),
        // Colloquial phrasings that only synonyms connect to the articles' words.
        _ => pick(
            rng,
            &[
                "钱没到",
                "登不上",
                "提不了币",
                "被骗了",
                "打电话要钱吗",
                "客服几点上班",
            ],
        )
        .to_owned(),
    }
}

fn en_query(rng: &mut ChaCha8Rng) -> String {
    match rng.gen_range(0..4) {
        0 => format!("{} {}", pick(rng, EN_TOPICS), pick(rng, EN_STATES)),
        1 => format!(
            "{} {} {}",
            pick(rng, EN_FILLERS),
            pick(rng, EN_TOPICS),
            pick(rng, EN_STATES)
        ),
        2 => format!("{} {}", pick(rng, EN_TOPICS), pick(rng, EN_TOPICS)),
        _ => pick(
            rng,
            &[
                "can't log in",
                "withdrawl failed",
                "is the hotline free",
                "got scammed",
            ],
        )
        .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&[7], 50.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn generated_articles_are_valid_and_reproducible() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let zh = zh_article(&mut rng, 0);
        let en = en_article(&mut rng, 1);
        for article in [&zh, &en] {
            let text = format!(
                "---\nslug: {}\ncategory: {}\ntitle: {}\ntags: {}\n---\n{}",
                article.slug,
                article.category,
                article.title,
                article.tags.join(", "),
                article.body_md
            );
            crate::parse_article(&article.lang, &text).unwrap();
        }
        assert!(zh.body_md.chars().count() >= 250);
        let mut again = ChaCha8Rng::seed_from_u64(9);
        assert_eq!(zh_article(&mut again, 0), zh);
    }
}
