//! The help center's shared state on this node: its settings, the knowledge-base search index
//! and the list of what is officially ours.
//!
//! Articles live in the database; every node keeps its own in-memory search index. At start the
//! index is built from the published articles; afterwards [`HelpCenter::sync`] compares the
//! revision of every article with the revision it indexed and re-indexes what changed, so an
//! edit on one node is searchable on every node after its next sync (the editing node syncs at
//! once; `okwallet serve` runs a sync every few seconds).

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Context;
use helpcenter::directory::{ChannelKind, ScheduleSpec};
use helpcenter::official::OfficialList;

/// What the operator configures for the help center.
#[derive(Clone, Debug)]
pub struct HelpSettings {
    /// The calling code for phone numbers written without one (`86`).
    pub default_country_code: String,
    /// Domains that are ours besides those of website channels and of the public URL.
    pub official_domains: Vec<String>,
    /// The zone times are shown in when the viewer's is unknown.
    pub time_zone: String,
}

impl Default for HelpSettings {
    fn default() -> HelpSettings {
        HelpSettings {
            default_country_code: "86".into(),
            official_domains: Vec::new(),
            time_zone: "Asia/Shanghai".into(),
        }
    }
}

/// An article's slug and language.
type ArticleKey = (String, String);

/// The help center on this node.
pub struct HelpCenter {
    pub settings: HelpSettings,
    index: kb::Index,
    /// The revision of every (slug, lang) in the index.
    indexed: Mutex<HashMap<ArticleKey, i64>>,
    /// One sync at a time; a second caller waits and then finds little to do.
    syncing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for HelpCenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelpCenter")
            .field("settings", &self.settings)
            .field("articles_indexed", &self.index.len())
            .finish()
    }
}

/// An article row as the search index takes it.
pub fn kb_article(row: &store::helpcenter::ArticleRow) -> kb::Article {
    kb::Article {
        slug: row.slug.clone(),
        lang: row.lang.clone(),
        category: row.category.clone(),
        title: row.title.clone(),
        tags: split_tags(&row.tags),
        body_md: row.body_md.clone(),
    }
}

/// Comma-separated tags (also the Chinese comma), trimmed, empty ones dropped.
pub fn split_tags(tags: &str) -> Vec<String> {
    tags.split([',', '，', '、'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

impl HelpCenter {
    /// Adds the articles shipped with okwallet that the database lacks, then indexes every
    /// published article.
    pub async fn start(db: &store::Db, settings: HelpSettings) -> anyhow::Result<HelpCenter> {
        let now = store::now_ms();
        let mut added = 0;
        for a in kb::builtin_articles() {
            let row = store::helpcenter::ArticleRow {
                slug: a.slug.clone(),
                lang: a.lang.clone(),
                category: a.category.clone(),
                title: a.title.clone(),
                tags: a.tags.join(", "),
                body_md: a.body_md.clone(),
                published: true,
                revision: 1,
                source: "builtin".into(),
                updated_by: None,
                updated_at_ms: now,
            };
            if db.add_builtin_article(&row).await? {
                added += 1;
            }
        }
        if added > 0 {
            tracing::info!(
                added,
                "added the knowledge-base articles shipped with okwallet"
            );
        }
        let rows = db.articles().await?;
        let mut indexed = HashMap::new();
        let mut published = Vec::new();
        for row in rows.iter().filter(|r| r.published) {
            indexed.insert((row.slug.clone(), row.lang.clone()), row.revision);
            published.push(kb_article(row));
        }
        let index = kb::Index::build(published).context("while building the search index")?;
        Ok(HelpCenter {
            settings,
            index,
            indexed: Mutex::new(indexed),
            syncing: tokio::sync::Mutex::new(()),
        })
    }

    pub fn index(&self) -> &kb::Index {
        &self.index
    }

    /// Brings the index up to the database's articles; answers how many changed.
    pub async fn sync(&self, db: &store::Db) -> anyhow::Result<usize> {
        let _one = self.syncing.lock().await;
        let revisions = db.article_revisions().await?;
        let mut wanted: HashMap<ArticleKey, i64> = HashMap::new();
        for (slug, lang, revision, published) in revisions {
            if published {
                wanted.insert((slug, lang), revision);
            }
        }
        let (stale, gone): (Vec<ArticleKey>, Vec<ArticleKey>) = {
            let indexed = self.indexed.lock().expect("index bookkeeping poisoned");
            let stale = wanted
                .iter()
                .filter(|(key, rev)| indexed.get(*key) != Some(*rev))
                .map(|(key, _)| key.clone())
                .collect();
            let gone = indexed
                .keys()
                .filter(|key| !wanted.contains_key(*key))
                .cloned()
                .collect();
            (stale, gone)
        };
        let mut changed = 0;
        for (slug, lang) in &gone {
            self.index
                .remove(slug, lang)
                .context("while removing an article from the index")?;
            self.indexed
                .lock()
                .expect("index bookkeeping poisoned")
                .remove(&(slug.clone(), lang.clone()));
            changed += 1;
        }
        for (slug, lang) in &stale {
            let Some(row) = db.article(slug, lang).await? else {
                continue;
            };
            if row.published {
                self.index
                    .upsert(&kb_article(&row))
                    .context("while indexing an article")?;
                self.indexed
                    .lock()
                    .expect("index bookkeeping poisoned")
                    .insert((slug.clone(), lang.clone()), row.revision);
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// What is officially ours: the channels' numbers, addresses, accounts and websites, the
    /// configured domains and the public URL's host.
    pub fn official_list(
        &self,
        channels: &[store::helpcenter::ContactChannel],
        public_url: &str,
    ) -> OfficialList {
        let mut list = OfficialList {
            default_country_code: self.settings.default_country_code.clone(),
            ..OfficialList::default()
        };
        for c in channels.iter().filter(|c| c.enabled) {
            let value = c.value.trim();
            if value.is_empty() {
                continue;
            }
            match ChannelKind::parse(&c.kind) {
                Some(ChannelKind::Hotline) => {
                    if let Some(e164) = helpcenter::official::normalise_phone(
                        value,
                        &self.settings.default_country_code,
                    ) {
                        list.phones.push((e164, c.id.clone()));
                    }
                }
                Some(ChannelKind::Email) => {
                    list.emails.push((value.to_lowercase(), c.id.clone()));
                }
                Some(ChannelKind::Social) => {
                    let (platform, handle) = value.split_once(':').unwrap_or(("", value));
                    list.handles.push((
                        platform.trim().to_lowercase(),
                        handle.trim().trim_start_matches('@').to_owned(),
                        c.id.clone(),
                    ));
                }
                Some(ChannelKind::Website) => {
                    list.domains.push((host_of(value), c.id.clone()));
                }
                _ => {}
            }
        }
        for d in &self.settings.official_domains {
            list.domains.push((host_of(d), "website".into()));
        }
        let public_host = host_of(public_url);
        // A server reached as localhost or by an address has no domain to protect.
        if public_host.contains('.') && public_host.parse::<std::net::IpAddr>().is_err() {
            list.domains.push((public_host, "website".into()));
        }
        list
    }
}

/// `https://Help.Example.com:8443/x` → `help.example.com`; a bare domain stays itself.
fn host_of(value: &str) -> String {
    let v = value.trim();
    let without_scheme = v.split_once("://").map_or(v, |(_, rest)| rest);
    let host_port = without_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let host = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    let host = host.split(':').next().unwrap_or(host);
    host.trim_end_matches('.').to_lowercase()
}

/// A channel's hours, read from what is stored; a channel with unreadable hours is shown as
/// closed rather than failing the whole directory.
pub fn schedule_of(channel: &store::helpcenter::ContactChannel) -> Option<ScheduleSpec> {
    match ScheduleSpec::from_json(&channel.schedule) {
        Ok(spec) => Some(spec),
        Err(e) => {
            tracing::warn!(channel = %channel.id, error = %e, "a contact channel's hours do not read");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_urls_and_domains() {
        assert_eq!(
            host_of("https://Help.Example.com:8443/x?y"),
            "help.example.com"
        );
        assert_eq!(host_of("okwallet.example"), "okwallet.example");
        assert_eq!(host_of("http://localhost:8080"), "localhost");
        assert_eq!(host_of("https://a@b.example/"), "b.example");
    }

    #[test]
    fn tags_split_on_either_comma() {
        assert_eq!(
            split_tags("登录，密码, 验证码、 锁定,,"),
            ["登录", "密码", "验证码", "锁定"]
        );
    }
}
