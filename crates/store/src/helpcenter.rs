//! The help center's rows: contact channels, reports of values pretending to be us and the
//! security team's verdicts, announcements with their updates, knowledge-base articles, their
//! feedback and the searches that found nothing. What they mean (hours, the official check,
//! search) is decided in the `helpcenter`, `hours` and `kb` crates; this module stores.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, now_ms, Db};

/// One way to reach us. `schedule` is the JSON the `helpcenter` crate reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactChannel {
    pub id: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    pub region_zh: String,
    pub region_en: String,
    pub value: String,
    pub display: String,
    /// Comma-separated language tags (`zh-CN,en,yue`).
    pub languages: String,
    pub schedule: String,
    pub cost: String,
    pub cost_note_zh: String,
    pub cost_note_en: String,
    pub note_zh: String,
    pub note_en: String,
    pub position: i64,
    pub enabled: bool,
    pub updated_at_ms: i64,
}

/// One report of a suspicious value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuspiciousReport {
    pub id: String,
    pub kind: String,
    pub value: String,
    pub normalised: String,
    pub official: bool,
    pub seen_in: String,
    pub note: String,
    pub reporter_id: Option<String>,
    pub created_at_ms: i64,
}

/// The reports of one value, counted, with the security team's verdict if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuspiciousValue {
    pub normalised: String,
    pub kind: String,
    /// The value as most recently typed.
    pub example: String,
    pub reports: i64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    pub verdict: Option<String>,
    pub verdict_note: Option<String>,
}

/// A service or security announcement, or an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub title_zh: String,
    pub title_en: String,
    pub body_zh: String,
    pub body_en: String,
    /// Comma-separated features, each optionally `feature:ASSET`.
    pub affected: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: Option<i64>,
    pub published: bool,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One step in an announcement's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnouncementUpdate {
    pub id: String,
    pub announcement_id: String,
    pub state: String,
    pub body_zh: String,
    pub body_en: String,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
}

/// A knowledge-base article in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleRow {
    pub slug: String,
    pub lang: String,
    pub category: String,
    pub title: String,
    /// Comma-separated.
    pub tags: String,
    pub body_md: String,
    pub published: bool,
    pub revision: i64,
    pub source: String,
    pub updated_by: Option<String>,
    pub updated_at_ms: i64,
}

/// How readers rated one article.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArticleVotes {
    pub helpful: i64,
    pub not_helpful: i64,
}

/// A search that found nothing, counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchMiss {
    pub query: String,
    pub lang: String,
    pub count: i64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
}

const CHANNEL_COLUMNS: &str = "id, kind, name_zh, name_en, region_zh, region_en, value, display, \
     languages, schedule, cost, cost_note_zh, cost_note_en, note_zh, note_en, position, enabled, \
     updated_at_ms";
const ANNOUNCEMENT_COLUMNS: &str = "id, kind, state, title_zh, title_en, body_zh, body_en, \
     affected, starts_at_ms, ends_at_ms, published, created_by, created_at_ms, updated_at_ms";
const ARTICLE_COLUMNS: &str = "slug, lang, category, title, tags, body_md, published, revision, \
     source, updated_by, updated_at_ms";

fn channel_from_row(r: &AnyRow) -> anyhow::Result<ContactChannel> {
    Ok(ContactChannel {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        region_zh: r.try_get("region_zh")?,
        region_en: r.try_get("region_en")?,
        value: r.try_get("value")?,
        display: r.try_get("display")?,
        languages: r.try_get("languages")?,
        schedule: r.try_get("schedule")?,
        cost: r.try_get("cost")?,
        cost_note_zh: r.try_get("cost_note_zh")?,
        cost_note_en: r.try_get("cost_note_en")?,
        note_zh: r.try_get("note_zh")?,
        note_en: r.try_get("note_en")?,
        position: r.try_get("position")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

fn announcement_from_row(r: &AnyRow) -> anyhow::Result<Announcement> {
    Ok(Announcement {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        title_zh: r.try_get("title_zh")?,
        title_en: r.try_get("title_en")?,
        body_zh: r.try_get("body_zh")?,
        body_en: r.try_get("body_en")?,
        affected: r.try_get("affected")?,
        starts_at_ms: r.try_get("starts_at_ms")?,
        ends_at_ms: r.try_get("ends_at_ms")?,
        published: r.try_get::<i64, _>("published")? != 0,
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

fn article_from_row(r: &AnyRow) -> anyhow::Result<ArticleRow> {
    Ok(ArticleRow {
        slug: r.try_get("slug")?,
        lang: r.try_get("lang")?,
        category: r.try_get("category")?,
        title: r.try_get("title")?,
        tags: r.try_get("tags")?,
        body_md: r.try_get("body_md")?,
        published: r.try_get::<i64, _>("published")? != 0,
        revision: r.try_get("revision")?,
        source: r.try_get("source")?,
        updated_by: r.try_get("updated_by")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

impl Db {
    // --- contact channels -----------------------------------------------------------------------

    /// Every channel in display order; disabled ones only when asked for.
    pub async fn contact_channels(
        &self,
        include_disabled: bool,
    ) -> anyhow::Result<Vec<ContactChannel>> {
        let filter = if include_disabled {
            ""
        } else {
            "WHERE enabled = 1"
        };
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM contact_channels {filter} ORDER BY position, id"
        );
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .context("while reading contact channels")?;
        rows.iter().map(channel_from_row).collect()
    }

    pub async fn contact_channel(&self, id: &str) -> anyhow::Result<Option<ContactChannel>> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM contact_channels WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a contact channel")?
            .as_ref()
            .map(channel_from_row)
            .transpose()
    }

    /// Adds the channel or replaces the one with its id.
    pub async fn save_contact_channel(&self, c: &ContactChannel) -> anyhow::Result<()> {
        let sql = format!(
            "INSERT INTO contact_channels ({CHANNEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name_zh = excluded.name_zh, \
             name_en = excluded.name_en, region_zh = excluded.region_zh, \
             region_en = excluded.region_en, value = excluded.value, \
             display = excluded.display, languages = excluded.languages, \
             schedule = excluded.schedule, cost = excluded.cost, \
             cost_note_zh = excluded.cost_note_zh, cost_note_en = excluded.cost_note_en, \
             note_zh = excluded.note_zh, note_en = excluded.note_en, \
             position = excluded.position, enabled = excluded.enabled, \
             updated_at_ms = excluded.updated_at_ms"
        );
        sqlx::query(&sql)
            .bind(&c.id)
            .bind(&c.kind)
            .bind(&c.name_zh)
            .bind(&c.name_en)
            .bind(&c.region_zh)
            .bind(&c.region_en)
            .bind(&c.value)
            .bind(&c.display)
            .bind(&c.languages)
            .bind(&c.schedule)
            .bind(&c.cost)
            .bind(&c.cost_note_zh)
            .bind(&c.cost_note_en)
            .bind(&c.note_zh)
            .bind(&c.note_en)
            .bind(c.position)
            .bind(i64::from(c.enabled))
            .bind(c.updated_at_ms)
            .execute(self.pool())
            .await
            .context("while saving a contact channel")?;
        Ok(())
    }

    /// Removes a channel; false when there was none.
    pub async fn delete_contact_channel(&self, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM contact_channels WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .context("while deleting a contact channel")?;
        Ok(done.rows_affected() > 0)
    }

    // --- suspicious values ----------------------------------------------------------------------

    pub async fn insert_suspicious_report(&self, r: &SuspiciousReport) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO suspicious_reports (id, kind, value, normalised, official, seen_in, \
             note, reporter_id, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&r.id)
        .bind(&r.kind)
        .bind(&r.value)
        .bind(&r.normalised)
        .bind(i64::from(r.official))
        .bind(&r.seen_in)
        .bind(&r.note)
        .bind(&r.reporter_id)
        .bind(r.created_at_ms)
        .execute(self.pool())
        .await
        .context("while recording a suspicious report")?;
        Ok(())
    }

    /// Reported values, most reported first (then most recent), with their verdicts.
    pub async fn suspicious_values(&self, limit: i64) -> anyhow::Result<Vec<SuspiciousValue>> {
        let rows = sqlx::query(
            "SELECT r.normalised, MAX(r.kind) AS kind, COUNT(*) AS reports, \
             MIN(r.created_at_ms) AS first_at_ms, MAX(r.created_at_ms) AS last_at_ms, \
             v.verdict, v.note AS verdict_note \
             FROM suspicious_reports r LEFT JOIN suspicious_reviews v \
             ON v.normalised = r.normalised \
             GROUP BY r.normalised, v.verdict, v.note \
             ORDER BY COUNT(*) DESC, MAX(r.created_at_ms) DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while reading suspicious values")?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let normalised: String = r.try_get("normalised")?;
            let example = self
                .suspicious_reports_of(&normalised, 1)
                .await?
                .into_iter()
                .next()
                .map(|r| r.value)
                .unwrap_or_else(|| normalised.clone());
            out.push(SuspiciousValue {
                normalised,
                kind: r.try_get("kind")?,
                example,
                reports: r.try_get("reports")?,
                first_at_ms: r.try_get("first_at_ms")?,
                last_at_ms: r.try_get("last_at_ms")?,
                verdict: r.try_get("verdict")?,
                verdict_note: r.try_get("verdict_note")?,
            });
        }
        Ok(out)
    }

    /// The reports of one value, newest first.
    pub async fn suspicious_reports_of(
        &self,
        normalised: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<SuspiciousReport>> {
        let rows = sqlx::query(
            "SELECT id, kind, value, normalised, official, seen_in, note, reporter_id, \
             created_at_ms FROM suspicious_reports WHERE normalised = $1 \
             ORDER BY created_at_ms DESC, id DESC LIMIT $2",
        )
        .bind(normalised)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while reading suspicious reports")?;
        rows.iter()
            .map(|r| {
                Ok(SuspiciousReport {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    value: r.try_get("value")?,
                    normalised: r.try_get("normalised")?,
                    official: r.try_get::<i64, _>("official")? != 0,
                    seen_in: r.try_get("seen_in")?,
                    note: r.try_get("note")?,
                    reporter_id: r.try_get("reporter_id")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                })
            })
            .collect()
    }

    /// How often a value was reported and the verdict on it, for the official check.
    pub async fn suspicious_standing(
        &self,
        normalised: &str,
    ) -> anyhow::Result<(i64, Option<String>)> {
        let count: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM suspicious_reports WHERE normalised = $1")
                .bind(normalised)
                .fetch_one(self.pool())
                .await
                .context("while counting reports")?
                .try_get("n")?;
        let verdict = sqlx::query("SELECT verdict FROM suspicious_reviews WHERE normalised = $1")
            .bind(normalised)
            .fetch_optional(self.pool())
            .await
            .context("while reading a verdict")?
            .map(|r| r.try_get::<String, _>("verdict"))
            .transpose()?;
        Ok((count, verdict))
    }

    pub async fn review_suspicious(
        &self,
        normalised: &str,
        verdict: &str,
        note: &str,
        by: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO suspicious_reviews (normalised, verdict, note, reviewed_by, \
             reviewed_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (normalised) DO UPDATE \
             SET verdict = excluded.verdict, note = excluded.note, \
             reviewed_by = excluded.reviewed_by, reviewed_at_ms = excluded.reviewed_at_ms",
        )
        .bind(normalised)
        .bind(verdict)
        .bind(note)
        .bind(by)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .context("while recording a verdict")?;
        Ok(())
    }

    // --- announcements --------------------------------------------------------------------------

    /// Adds an announcement with its first update (what was said when it was published).
    pub async fn insert_announcement(&self, a: &Announcement) -> anyhow::Result<()> {
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "INSERT INTO announcements ({ANNOUNCEMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        sqlx::query(&sql)
            .bind(&a.id)
            .bind(&a.kind)
            .bind(&a.state)
            .bind(&a.title_zh)
            .bind(&a.title_en)
            .bind(&a.body_zh)
            .bind(&a.body_en)
            .bind(&a.affected)
            .bind(a.starts_at_ms)
            .bind(a.ends_at_ms)
            .bind(i64::from(a.published))
            .bind(&a.created_by)
            .bind(a.created_at_ms)
            .bind(a.updated_at_ms)
            .execute(&mut *tx)
            .await
            .context("while recording an announcement")?;
        insert_update(
            &mut tx,
            &AnnouncementUpdate {
                id: new_id(),
                announcement_id: a.id.clone(),
                state: a.state.clone(),
                body_zh: a.body_zh.clone(),
                body_en: a.body_en.clone(),
                created_by: a.created_by.clone(),
                created_at_ms: a.created_at_ms,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces what an announcement says (not its state: see [`Db::add_announcement_update`]).
    pub async fn edit_announcement(&self, a: &Announcement) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE announcements SET title_zh = $2, title_en = $3, body_zh = $4, body_en = $5, \
             affected = $6, starts_at_ms = $7, ends_at_ms = $8, published = $9, \
             updated_at_ms = $10 WHERE id = $1",
        )
        .bind(&a.id)
        .bind(&a.title_zh)
        .bind(&a.title_en)
        .bind(&a.body_zh)
        .bind(&a.body_en)
        .bind(&a.affected)
        .bind(a.starts_at_ms)
        .bind(a.ends_at_ms)
        .bind(i64::from(a.published))
        .bind(a.updated_at_ms)
        .execute(self.pool())
        .await
        .context("while editing an announcement")?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves an announcement to a new state with what is said about it; a final state
    /// (`ends`) also sets when it ended.
    pub async fn add_announcement_update(
        &self,
        u: &AnnouncementUpdate,
        ends_at_ms: Option<i64>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE announcements SET state = $2, updated_at_ms = $3, \
             ends_at_ms = COALESCE($4, ends_at_ms) WHERE id = $1",
        )
        .bind(&u.announcement_id)
        .bind(&u.state)
        .bind(u.created_at_ms)
        .bind(ends_at_ms)
        .execute(&mut *tx)
        .await
        .context("while updating an announcement")?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_update(&mut tx, u).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Announcements that started at or before `until_ms` (all when `None`), newest first.
    pub async fn announcements(
        &self,
        include_unpublished: bool,
        limit: i64,
    ) -> anyhow::Result<Vec<Announcement>> {
        let filter = if include_unpublished {
            ""
        } else {
            "WHERE published = 1"
        };
        let sql = format!(
            "SELECT {ANNOUNCEMENT_COLUMNS} FROM announcements {filter} \
             ORDER BY starts_at_ms DESC, id DESC LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while reading announcements")?;
        rows.iter().map(announcement_from_row).collect()
    }

    pub async fn announcement(&self, id: &str) -> anyhow::Result<Option<Announcement>> {
        let sql = format!("SELECT {ANNOUNCEMENT_COLUMNS} FROM announcements WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading an announcement")?
            .as_ref()
            .map(announcement_from_row)
            .transpose()
    }

    /// An announcement's history, oldest first.
    pub async fn announcement_updates(
        &self,
        announcement_id: &str,
    ) -> anyhow::Result<Vec<AnnouncementUpdate>> {
        let rows = sqlx::query(
            "SELECT id, announcement_id, state, body_zh, body_en, created_by, created_at_ms \
             FROM announcement_updates WHERE announcement_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(announcement_id)
        .fetch_all(self.pool())
        .await
        .context("while reading announcement updates")?;
        rows.iter()
            .map(|r| {
                Ok(AnnouncementUpdate {
                    id: r.try_get("id")?,
                    announcement_id: r.try_get("announcement_id")?,
                    state: r.try_get("state")?,
                    body_zh: r.try_get("body_zh")?,
                    body_en: r.try_get("body_en")?,
                    created_by: r.try_get("created_by")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                })
            })
            .collect()
    }

    // --- articles -------------------------------------------------------------------------------

    /// (slug, lang, revision, published) of every article: what a node compares its index with.
    pub async fn article_revisions(&self) -> anyhow::Result<Vec<(String, String, i64, bool)>> {
        let rows = sqlx::query("SELECT slug, lang, revision, published FROM articles")
            .fetch_all(self.pool())
            .await
            .context("while reading article revisions")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("slug")?,
                    r.try_get("lang")?,
                    r.try_get("revision")?,
                    r.try_get::<i64, _>("published")? != 0,
                ))
            })
            .collect()
    }

    /// Every article in every language, published or not, by slug.
    pub async fn articles(&self) -> anyhow::Result<Vec<ArticleRow>> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY category, slug, lang");
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .context("while reading articles")?;
        rows.iter().map(article_from_row).collect()
    }

    pub async fn article(&self, slug: &str, lang: &str) -> anyhow::Result<Option<ArticleRow>> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles WHERE slug = $1 AND lang = $2");
        sqlx::query(&sql)
            .bind(slug)
            .bind(lang)
            .fetch_optional(self.pool())
            .await
            .context("while reading an article")?
            .as_ref()
            .map(article_from_row)
            .transpose()
    }

    /// Adds a shipped article unless one with its slug and language exists (an editor's
    /// changes are never overwritten by an upgrade). True when it was added.
    pub async fn add_builtin_article(&self, a: &ArticleRow) -> anyhow::Result<bool> {
        let sql = format!(
            "INSERT INTO articles ({ARTICLE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 1, 1, \
             'builtin', NULL, $7) ON CONFLICT (slug, lang) DO NOTHING"
        );
        let done = sqlx::query(&sql)
            .bind(&a.slug)
            .bind(&a.lang)
            .bind(&a.category)
            .bind(&a.title)
            .bind(&a.tags)
            .bind(&a.body_md)
            .bind(a.updated_at_ms)
            .execute(self.pool())
            .await
            .context("while adding a shipped article")?;
        Ok(done.rows_affected() > 0)
    }

    /// An editor's save: adds the article or replaces it, one revision up. Answers the new
    /// revision.
    pub async fn save_article(&self, a: &ArticleRow) -> anyhow::Result<i64> {
        let sql = format!(
            "INSERT INTO articles ({ARTICLE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, \
             'editor', $8, $9) ON CONFLICT (slug, lang) DO UPDATE SET \
             category = excluded.category, title = excluded.title, tags = excluded.tags, \
             body_md = excluded.body_md, published = excluded.published, \
             revision = articles.revision + 1, source = 'editor', \
             updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms \
             RETURNING revision"
        );
        let row = sqlx::query(&sql)
            .bind(&a.slug)
            .bind(&a.lang)
            .bind(&a.category)
            .bind(&a.title)
            .bind(&a.tags)
            .bind(&a.body_md)
            .bind(i64::from(a.published))
            .bind(&a.updated_by)
            .bind(a.updated_at_ms)
            .fetch_one(self.pool())
            .await
            .context("while saving an article")?;
        Ok(row.try_get("revision")?)
    }

    pub async fn insert_article_feedback(
        &self,
        slug: &str,
        lang: &str,
        helpful: bool,
        comment: &str,
        user_id: Option<&str>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO article_feedback (id, slug, lang, helpful, comment, user_id, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(slug)
        .bind(lang)
        .bind(i64::from(helpful))
        .bind(comment)
        .bind(user_id)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .context("while recording article feedback")?;
        Ok(())
    }

    /// Votes per (slug, lang).
    pub async fn article_votes(
        &self,
    ) -> anyhow::Result<std::collections::HashMap<(String, String), ArticleVotes>> {
        let rows = sqlx::query(
            "SELECT slug, lang, helpful, COUNT(*) AS n FROM article_feedback \
             GROUP BY slug, lang, helpful",
        )
        .fetch_all(self.pool())
        .await
        .context("while counting article feedback")?;
        let mut out = std::collections::HashMap::<(String, String), ArticleVotes>::new();
        for r in &rows {
            let key = (r.try_get("slug")?, r.try_get("lang")?);
            let n: i64 = r.try_get("n")?;
            let votes = out.entry(key).or_default();
            if r.try_get::<i64, _>("helpful")? != 0 {
                votes.helpful += n;
            } else {
                votes.not_helpful += n;
            }
        }
        Ok(out)
    }

    /// The latest written comments on an article, newest first: (helpful, comment, at).
    pub async fn article_comments(
        &self,
        slug: &str,
        lang: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<(bool, String, i64)>> {
        let rows = sqlx::query(
            "SELECT helpful, comment, created_at_ms FROM article_feedback \
             WHERE slug = $1 AND lang = $2 AND comment <> '' \
             ORDER BY created_at_ms DESC, id DESC LIMIT $3",
        )
        .bind(slug)
        .bind(lang)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while reading article comments")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>("helpful")? != 0,
                    r.try_get("comment")?,
                    r.try_get("created_at_ms")?,
                ))
            })
            .collect()
    }

    /// Counts a search that found nothing.
    pub async fn record_search_miss(&self, query: &str, lang: &str) -> anyhow::Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO search_misses (query, lang, count, first_at_ms, last_at_ms) \
             VALUES ($1, $2, 1, $3, $3) ON CONFLICT (query, lang) DO UPDATE \
             SET count = search_misses.count + 1, last_at_ms = excluded.last_at_ms",
        )
        .bind(query)
        .bind(lang)
        .bind(now)
        .execute(self.pool())
        .await
        .context("while counting a search miss")?;
        Ok(())
    }

    /// The searches that found nothing, most frequent first.
    pub async fn search_misses(&self, limit: i64) -> anyhow::Result<Vec<SearchMiss>> {
        let rows = sqlx::query(
            "SELECT query, lang, count, first_at_ms, last_at_ms FROM search_misses \
             ORDER BY count DESC, last_at_ms DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .context("while reading search misses")?;
        rows.iter()
            .map(|r| {
                Ok(SearchMiss {
                    query: r.try_get("query")?,
                    lang: r.try_get("lang")?,
                    count: r.try_get("count")?,
                    first_at_ms: r.try_get("first_at_ms")?,
                    last_at_ms: r.try_get("last_at_ms")?,
                })
            })
            .collect()
    }
}

async fn insert_update(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    u: &AnnouncementUpdate,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO announcement_updates (id, announcement_id, state, body_zh, body_en, \
         created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&u.id)
    .bind(&u.announcement_id)
    .bind(&u.state)
    .bind(&u.body_zh)
    .bind(&u.body_en)
    .bind(&u.created_by)
    .bind(u.created_at_ms)
    .execute(&mut **tx)
    .await
    .context("while recording an announcement update")?;
    Ok(())
}
