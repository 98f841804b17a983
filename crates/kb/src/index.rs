//! The search index: every article of both languages in one in-memory tantivy index, ranked by
//! BM25, shared by every request behind an `Arc`.
//!
//! Each language has its own fields (`title_zh`, `tags_zh`, `body_zh`, … `body_en`) because a
//! field has exactly one analyzer, and Chinese needs segmentation where English needs stemming.
//! Both languages also get pair fields (Chinese character pairs, English word pairs; see
//! [`crate::analysis`]) that reward the question's words standing together, and every tag is
//! kept whole so that a tag found word for word in a question (an editor's phrasing of it) adds
//! to the score by its length.
//!
//! A question is analyzed with its language's analyzers and becomes a plain boolean query of
//! term queries — never the query parser, so `"`, `:`, `(`, `*` or `-` typed by a person are
//! just characters, and nothing a person types can fail to parse. A match in the title weighs
//! more than one in the tags, which weighs more than one in the body. Synonyms of the question's
//! phrases are added at half weight, each group counting once through its best member; an
//! English word found nowhere in the index is replaced by the index's words within one typo, at
//! a little less than full weight.
//!
//! Writes (`upsert`, `remove`) go through one writer behind a mutex and are committed at once,
//! and the reader is reloaded before the write returns, so the next search sees them.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query,
    TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::analysis;
use crate::article::{Article, Lang};
use crate::markdown::plain_text;
use crate::snippet::Highlighter;
use crate::synonyms::Synonyms;

/// How much a match in each place counts, relative to a match in the body.
const TITLE_BOOST: f32 = 3.0;
const TAGS_BOOST: f32 = 2.0;
const BODY_BOOST: f32 = 1.0;
/// Character pairs only catch what segmentation missed, so they count for less than words.
const PAIRS_TITLE_BOOST: f32 = 0.9;
const PAIRS_BODY_BOOST: f32 = 0.3;
/// English word pairs reward word order; they come on top of the words' own scores.
const EN_PAIRS_TITLE_BOOST: f32 = 1.0;
const EN_PAIRS_BODY_BOOST: f32 = 0.3;
/// Words that come from a synonym, not from the question, count this much of a typed word.
const SYNONYM_WEIGHT: f32 = 0.5;
/// An English word of the index within one typo of a word the person typed (when that word is
/// nowhere in the index) counts this much of a typed word: probably meant, not certainly.
const TYPO_WEIGHT: f32 = 0.8;
/// At most this many corrections of one word are looked for, the most frequent first.
const TYPO_CORRECTIONS_MAX: usize = 3;
/// Only words this long get typo tolerance: a short word within one edit is another word.
const TYPO_CHARS_MIN: usize = 5;
/// How long a snippet is, in characters: a Chinese character carries about as much as an
/// English word.
const SNIPPET_CHARS_ZH: usize = 70;
const SNIPPET_CHARS_EN: usize = 180;
/// A tag found word for word in a question is the editors' own phrasing of it: each of its
/// Chinese characters or English words adds this much, so a longer tag found counts more.
const TAG_PHRASE_SCORE_PER_CHAR: f32 = 1.5;
const TAG_PHRASE_SCORE_PER_WORD: f32 = 3.0;
/// The writer's memory per indexing thread; tantivy needs at least 15 MB.
const WRITER_BYTES_PER_THREAD: usize = 32_000_000;

/// Why the index could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("unknown language {0:?}: expected \"zh-CN\" or \"en\"")]
    UnknownLanguage(String),
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub slug: String,
    pub lang: String,
    pub category: String,
    pub title: String,
    /// The title, HTML-escaped, with matched words in `<mark>…</mark>`.
    pub title_html: String,
    /// A passage of the body's plain text, HTML-escaped, with matched words in `<mark>…</mark>`.
    pub snippet_html: String,
    pub score: f32,
}

/// The knowledge base's search index. `Send + Sync`: share it behind an `Arc`.
pub struct Index {
    /// Each language's word and pair analyzers, built once (a stop-word list is a hash set)
    /// and cloned for each question.
    analyzers: [(TextAnalyzer, TextAnalyzer); 2],
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    synonyms: &'static Synonyms,
}

#[derive(Clone, Copy)]
struct Fields {
    /// `<lang>/<slug>`: one document per article and language, replaced as a whole.
    key: Field,
    slug: Field,
    lang: Field,
    category: Field,
    /// The title as written, for display.
    title: Field,
    /// The body as plain text, for snippets.
    body: Field,
    zh: LangFields,
    en: LangFields,
    /// Title and tags of Chinese articles as character pairs, and the body.
    zh_pairs_title: Field,
    zh_pairs_body: Field,
    /// Title and tags of English articles as word pairs, and the body.
    en_pairs_title: Field,
    en_pairs_body: Field,
    /// Every tag's [`analysis::phrase_key`], untokenized, to find tags inside questions.
    tag_phrases: Field,
}

#[derive(Clone, Copy)]
struct LangFields {
    title: Field,
    tags: Field,
    body: Field,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let mut schema = Schema::builder();
        let text = |analyzer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(analyzer)
                    .set_index_option(IndexRecordOption::WithFreqs),
            )
        };
        let mut lang_fields = |suffix: &str, analyzer: &str| LangFields {
            title: schema.add_text_field(&format!("title_{suffix}"), text(analyzer)),
            tags: schema.add_text_field(&format!("tags_{suffix}"), text(analyzer)),
            body: schema.add_text_field(&format!("body_{suffix}"), text(analyzer)),
        };
        let zh = lang_fields("zh", analysis::ZH);
        let en = lang_fields("en", analysis::EN);
        let fields = Fields {
            zh,
            en,
            zh_pairs_title: schema.add_text_field("pairs_title_zh", text(analysis::ZH_PAIRS)),
            zh_pairs_body: schema.add_text_field("pairs_body_zh", text(analysis::ZH_PAIRS)),
            en_pairs_title: schema.add_text_field("pairs_title_en", text(analysis::EN_PAIRS)),
            en_pairs_body: schema.add_text_field("pairs_body_en", text(analysis::EN_PAIRS)),
            tag_phrases: schema.add_text_field("tag_phrases", STRING),
            key: schema.add_text_field("key", STRING),
            slug: schema.add_text_field("slug", STRING | STORED),
            lang: schema.add_text_field("lang", STRING | STORED),
            category: schema.add_text_field("category", STRING | STORED),
            title: schema.add_text_field("title", STORED),
            body: schema.add_text_field("body", STORED),
        };
        (schema.build(), fields)
    }

    fn of(&self, lang: Lang) -> LangFields {
        match lang {
            Lang::ZhCn => self.zh,
            Lang::En => self.en,
        }
    }

    /// The pair fields of a language: title and tags, body.
    fn pairs_of(&self, lang: Lang) -> (Field, Field) {
        match lang {
            Lang::ZhCn => (self.zh_pairs_title, self.zh_pairs_body),
            Lang::En => (self.en_pairs_title, self.en_pairs_body),
        }
    }
}

fn key(slug: &str, lang: Lang) -> String {
    format!("{lang}/{slug}")
}

fn parse_lang(lang: &str) -> Result<Lang, IndexError> {
    Lang::parse(lang).ok_or_else(|| IndexError::UnknownLanguage(lang.to_owned()))
}

impl Index {
    /// Builds an index holding `articles`. A later article with the same slug and language
    /// replaces an earlier one.
    pub fn build(articles: impl IntoIterator<Item = Article>) -> Result<Index, IndexError> {
        let (schema, fields) = Fields::schema();
        let index = tantivy::Index::create_in_ram(schema);
        for (name, analyzer) in analysis::all() {
            index.tokenizers().register(name, analyzer);
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let writer = index.writer_with_num_threads(threads, threads * WRITER_BYTES_PER_THREAD)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let this = Index {
            analyzers: [
                (analysis::zh(), analysis::zh_pairs()),
                (analysis::en(), analysis::en_pairs()),
            ],
            reader,
            writer: Mutex::new(writer),
            fields,
            synonyms: Synonyms::builtin(),
        };
        this.write(|writer| {
            for article in articles {
                let (key, document) = this.document(&article)?;
                writer.delete_term(key);
                writer.add_document(document)?;
            }
            Ok(())
        })?;
        Ok(this)
    }

    /// The word and pair analyzers of a language.
    fn analyzers(&self, lang: Lang) -> (TextAnalyzer, TextAnalyzer) {
        let (words, pairs) = match lang {
            Lang::ZhCn => &self.analyzers[0],
            Lang::En => &self.analyzers[1],
        };
        (words.clone(), pairs.clone())
    }

    /// Runs `change` on the writer and commits it, then reloads the reader so the next search
    /// sees it. When anything fails, nothing of the change stays behind: it is rolled back, so a
    /// later commit cannot apply half of it (a delete without its add).
    fn write(
        &self,
        change: impl FnOnce(&mut IndexWriter) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        let mut writer = match self.writer.lock() {
            Ok(writer) => writer,
            Err(poisoned) => {
                // A change that panicked half-way was never committed; drop what it left.
                let mut writer = poisoned.into_inner();
                writer.rollback()?;
                self.writer.clear_poison();
                writer
            }
        };
        let result = change(&mut writer).and_then(|()| Ok(writer.commit().map(drop)?));
        if let Err(error) = result {
            writer.rollback()?;
            return Err(error);
        }
        self.reader.reload()?;
        Ok(())
    }

    fn document(&self, article: &Article) -> Result<(Term, TantivyDocument), IndexError> {
        let lang = parse_lang(&article.lang)?;
        let f = &self.fields;
        let own = f.of(lang);
        let body = plain_text(&article.body_md);
        let mut doc = TantivyDocument::default();
        let key_term = Term::from_field_text(f.key, &key(&article.slug, lang));
        doc.add_text(f.key, key(&article.slug, lang));
        doc.add_text(f.slug, &article.slug);
        doc.add_text(f.lang, lang.as_str());
        doc.add_text(f.category, &article.category);
        doc.add_text(f.title, &article.title);
        doc.add_text(f.body, &body);
        doc.add_text(own.title, &article.title);
        for tag in &article.tags {
            doc.add_text(own.tags, tag);
        }
        doc.add_text(own.body, &body);
        let (pairs_title, pairs_body) = f.pairs_of(lang);
        doc.add_text(pairs_title, &article.title);
        for tag in &article.tags {
            doc.add_text(pairs_title, tag);
        }
        doc.add_text(pairs_body, &body);
        for tag in &article.tags {
            doc.add_text(f.tag_phrases, analysis::phrase_key(lang, tag));
        }
        Ok((key_term, doc))
    }

    /// Adds `article`, or replaces the one with its slug and language. The next search sees it.
    pub fn upsert(&self, article: &Article) -> Result<(), IndexError> {
        let (key, document) = self.document(article)?;
        self.write(|writer| {
            writer.delete_term(key);
            writer.add_document(document)?;
            Ok(())
        })
    }

    /// Removes the article with this slug and language, if there is one. The next search no
    /// longer finds it.
    pub fn remove(&self, slug: &str, lang: &str) -> Result<(), IndexError> {
        let lang = parse_lang(lang)?;
        let key = Term::from_field_text(self.fields.key, &key(slug, lang));
        self.write(|writer| {
            writer.delete_term(key);
            Ok(())
        })
    }

    /// How many articles (one per slug and language) the index holds.
    pub fn len(&self) -> usize {
        usize::try_from(self.reader.searcher().num_docs()).unwrap_or(usize::MAX)
    }

    /// Whether the index holds no article.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The best `limit` articles in `lang` for `query`, best first. A query with no word in it
    /// (empty, only punctuation or only words like "how" and "怎么") finds nothing.
    pub fn search(&self, query: &str, lang: &str, limit: usize) -> Result<Vec<Hit>, IndexError> {
        let lang = parse_lang(lang)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let plan = self.plan(&searcher, query, lang)?;
        let Some(query) = self.query(&plan, lang) else {
            return Ok(Vec::new());
        };
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let highlighter = plan.highlighter(lang, self.analyzers(lang).0);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|value| value.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let title = text(self.fields.title);
            let body = text(self.fields.body);
            let snippet_chars = match lang {
                Lang::ZhCn => SNIPPET_CHARS_ZH,
                Lang::En => SNIPPET_CHARS_EN,
            };
            hits.push(Hit {
                slug: text(self.fields.slug),
                lang: text(self.fields.lang),
                category: text(self.fields.category),
                title_html: highlighter.whole(&title),
                snippet_html: highlighter.passage(&body, snippet_chars),
                title,
                score,
            });
        }
        Ok(hits)
    }

    /// Why `query` gives the article `slug` in `lang` the score it gets, term by term, as
    /// tantivy's explanation in JSON; `None` when the article does not match at all. For tuning
    /// the ranking, not for pages.
    pub fn explain(
        &self,
        query: &str,
        lang: &str,
        slug: &str,
    ) -> Result<Option<String>, IndexError> {
        let lang = parse_lang(lang)?;
        let searcher = self.reader.searcher();
        let plan = self.plan(&searcher, query, lang)?;
        let Some(query) = self.query(&plan, lang) else {
            return Ok(None);
        };
        let article = TermQuery::new(
            Term::from_field_text(self.fields.key, &key(slug, lang)),
            IndexRecordOption::Basic,
        );
        let Some((_, address)) = searcher
            .search(&article, &TopDocs::with_limit(1).order_by_score())?
            .pop()
        else {
            return Ok(None);
        };
        match query.explain(&searcher, address) {
            Ok(explanation) => Ok(Some(explanation.to_pretty_json())),
            Err(tantivy::TantivyError::InvalidArgument(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// What to look for: the question's own terms, its synonym groups' terms, and the English
    /// words that may be typos.
    fn plan(&self, searcher: &Searcher, query: &str, lang: Lang) -> Result<Plan, IndexError> {
        let (mut words, mut pairs) = self.analyzers(lang);
        let mut typed = Terms::of(&mut words, &mut pairs, query);
        let mut plan = Plan::default();
        if typed.words.is_empty()
            && !typed
                .pairs
                .iter()
                .any(|pair| pair.chars().any(analysis::is_han))
        {
            // Nothing but punctuation or function words ("how do I"): nothing was asked.
            return Ok(plan);
        }
        for key in analysis::phrase_keys_within(lang, query) {
            if self.is_tag(searcher, &key)? {
                typed.tags.push(key);
            }
        }
        for group in self.synonyms.expand(query) {
            let mut alternatives = Vec::new();
            for synonym in group {
                let mut terms = Terms::of(&mut words, &mut pairs, synonym).without(&typed);
                let key = analysis::phrase_key(lang, synonym);
                if !typed.tags.contains(&key) && self.is_tag(searcher, &key)? {
                    terms.tags.push(key);
                }
                if !terms.is_empty() {
                    alternatives.push(terms);
                }
            }
            if !alternatives.is_empty() {
                plan.alternatives.push((SYNONYM_WEIGHT, alternatives));
            }
        }
        if lang == Lang::En {
            for word in &typed.words {
                let corrections = self.corrections(searcher, word, lang)?;
                if !corrections.is_empty() {
                    plan.alternatives.push((TYPO_WEIGHT, corrections));
                }
            }
        }
        plan.typed = typed;
        Ok(plan)
    }

    /// Whether some article has a tag with this phrase key.
    fn is_tag(&self, searcher: &Searcher, key: &str) -> Result<bool, IndexError> {
        Ok(searcher.doc_freq(&Term::from_field_text(self.fields.tag_phrases, key))? > 0)
    }

    /// The words of the index within one edit (a transposition counts as one) of `word`, when
    /// `word` itself is nowhere in `lang`'s fields and is long enough for a typo to be likely.
    fn corrections(
        &self,
        searcher: &Searcher,
        word: &str,
        lang: Lang,
    ) -> Result<Vec<Terms>, IndexError> {
        if word.chars().count() < TYPO_CHARS_MIN {
            return Ok(Vec::new());
        }
        let own = self.fields.of(lang);
        let fields = [own.title, own.tags, own.body];
        for field in fields {
            if searcher.doc_freq(&Term::from_field_text(field, word))? > 0 {
                return Ok(Vec::new());
            }
        }
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        for field in fields {
            let fuzzy = FuzzyTermQuery::new(Term::from_field_text(field, word), 1, true);
            for segment in searcher.segment_readers() {
                let index = segment.inverted_index(field)?;
                let mut stream = index
                    .terms()
                    .search(fuzzy.automaton()?)
                    .into_stream()
                    .map_err(tantivy::TantivyError::from)?;
                while stream.advance() {
                    if let Ok(text) = std::str::from_utf8(stream.key()) {
                        *found.entry(text.to_owned()).or_default() +=
                            u64::from(stream.value().doc_freq);
                    }
                }
            }
        }
        let mut found: Vec<(String, u64)> = found.into_iter().collect();
        found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(found
            .into_iter()
            .take(TYPO_CORRECTIONS_MAX)
            .map(|(word, _)| Terms {
                words: vec![word],
                ..Terms::default()
            })
            .collect())
    }

    /// The clauses that look for `terms`, each weighted by where it is found and by `weight`.
    fn clauses(&self, terms: &Terms, lang: Lang, weight: f32) -> Vec<(Occur, Box<dyn Query>)> {
        let own = self.fields.of(lang);
        let (pairs_title, pairs_body) = self.fields.pairs_of(lang);
        let (pairs_title_boost, pairs_body_boost) = match lang {
            Lang::ZhCn => (PAIRS_TITLE_BOOST, PAIRS_BODY_BOOST),
            Lang::En => (EN_PAIRS_TITLE_BOOST, EN_PAIRS_BODY_BOOST),
        };
        let term = |field: Field, text: &str, boost: f32| -> Box<dyn Query> {
            let query = TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::WithFreqs,
            );
            Box::new(BoostQuery::new(Box::new(query), boost * weight))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &terms.words {
            clauses.push((Occur::Should, term(own.title, word, TITLE_BOOST)));
            clauses.push((Occur::Should, term(own.tags, word, TAGS_BOOST)));
            clauses.push((Occur::Should, term(own.body, word, BODY_BOOST)));
        }
        for pair in &terms.pairs {
            clauses.push((Occur::Should, term(pairs_title, pair, pairs_title_boost)));
            clauses.push((Occur::Should, term(pairs_body, pair, pairs_body_boost)));
        }
        for key in &terms.tags {
            let tag = TermQuery::new(
                Term::from_field_text(self.fields.tag_phrases, key),
                IndexRecordOption::Basic,
            );
            let score = tag_phrase_score(lang, key) * weight;
            clauses.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(Box::new(tag), score)),
            ));
        }
        clauses
    }

    fn query(&self, plan: &Plan, lang: Lang) -> Option<BooleanQuery> {
        let mut should = self.clauses(&plan.typed, lang, 1.0);
        // A group counts once, through its best-matching member: a group with many synonyms
        // (or a typo with several corrections) must not outweigh the words that were typed.
        for (weight, group) in &plan.alternatives {
            let best_of: Vec<Box<dyn Query>> = group
                .iter()
                .map(|terms| {
                    Box::new(BooleanQuery::new(self.clauses(terms, lang, *weight)))
                        as Box<dyn Query>
                })
                .collect();
            should.push((Occur::Should, Box::new(DisjunctionMaxQuery::new(best_of))));
        }
        if should.is_empty() {
            return None;
        }
        let in_lang = TermQuery::new(
            Term::from_field_text(self.fields.lang, lang.as_str()),
            IndexRecordOption::Basic,
        );
        Some(BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(in_lang), 0.0)),
            ),
            (Occur::Must, Box::new(BooleanQuery::new(should))),
        ]))
    }
}

/// What one question asks for.
#[derive(Default)]
struct Plan {
    /// The terms of the words typed.
    typed: Terms,
    /// Other ways to say part of the question, each with its weight: per synonym group found in
    /// the question, the terms of each of its other synonyms; per English word found nowhere,
    /// the index's words within one typo of it. Terms typed are left out of them.
    alternatives: Vec<(f32, Vec<Terms>)>,
}

/// What a tag found in a question adds to an article's score: more for a longer tag. A run of
/// Latin letters or digits inside a Chinese tag counts as two characters, about what a Chinese
/// word is.
fn tag_phrase_score(lang: Lang, key: &str) -> f32 {
    match lang {
        Lang::ZhCn => {
            let mut units = 0;
            let mut in_latin = false;
            for c in key.chars() {
                if analysis::is_han(c) {
                    units += 1;
                    in_latin = false;
                } else if !in_latin {
                    units += 2;
                    in_latin = true;
                }
            }
            TAG_PHRASE_SCORE_PER_CHAR * units as f32
        }
        // "can't" is the words "can" and "t": a lone letter adds nothing.
        Lang::En => {
            TAG_PHRASE_SCORE_PER_WORD * key.split(' ').filter(|word| word.len() > 1).count() as f32
        }
    }
}

/// The distinct word terms and pair terms of a text, and the tags found in it.
#[derive(Default)]
struct Terms {
    words: Vec<String>,
    pairs: Vec<String>,
    /// Phrase keys of tags, see [`analysis::phrase_key`].
    tags: Vec<String>,
}

impl Terms {
    fn of(words: &mut TextAnalyzer, pairs: &mut TextAnalyzer, text: &str) -> Terms {
        let distinct = |terms: Vec<String>| {
            let mut seen = HashSet::new();
            terms
                .into_iter()
                .filter(|term| seen.insert(term.clone()))
                .collect()
        };
        Terms {
            words: distinct(analysis::terms(words, text)),
            pairs: distinct(analysis::terms(pairs, text)),
            tags: Vec::new(),
        }
    }

    fn without(mut self, other: &Terms) -> Terms {
        self.words.retain(|word| !other.words.contains(word));
        self.pairs.retain(|pair| !other.pairs.contains(pair));
        self
    }

    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.pairs.is_empty() && self.tags.is_empty()
    }
}

impl Plan {
    /// Marks the words found, and for Chinese also the character pairs (English word pairs
    /// would only mark words that are marked already). Typed terms weigh more than synonyms
    /// when the passage is chosen. `word_analyzer` is the language's word analyzer.
    fn highlighter(&self, lang: Lang, word_analyzer: TextAnalyzer) -> Highlighter {
        // Synonyms' character pairs are left out: they are a recall net for the ranking, and
        // marked they would scatter fragments of other phrases over the snippet.
        let mut words = BTreeMap::new();
        for (weight, group) in &self.alternatives {
            for terms in group {
                words.extend(terms.words.iter().map(|word| (word.clone(), *weight)));
            }
        }
        words.extend(self.typed.words.iter().map(|word| (word.clone(), 1.0)));
        let pairs = self.typed.pairs.iter().map(|pair| (pair.clone(), 1.0));
        let mut highlighter = Highlighter::default();
        match lang {
            Lang::ZhCn => {
                for (pair, weight) in pairs {
                    let known = words.entry(pair).or_insert(weight);
                    *known = known.max(weight);
                }
                highlighter.add_literal(words);
            }
            Lang::En => highlighter.add_analyzed(word_analyzer, words),
        }
        highlighter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::parse_article;

    fn article(lang: &str, slug: &str, title: &str, tags: &str, body: &str) -> Article {
        let category = "wallet_basics";
        parse_article(
            lang,
            &format!("---\nslug: {slug}\ncategory: {category}\ntitle: {title}\ntags: {tags}\n---\n{body}\n"),
        )
        .unwrap()
    }

    fn sample() -> Index {
        Index::build([
            article(
                "zh-CN",
                "deposit",
                "充值没到账怎么办",
                "充值, 到账",
                "充值需要区块确认，通常几分钟到账。",
            ),
            article(
                "zh-CN",
                "hotline",
                "客服热线的工作时间",
                "热线, 电话",
                "客服热线每天 9:00–18:00 接听。",
            ),
            article(
                "zh-CN",
                "login",
                "登录不了怎么办",
                "登录, 密码",
                "检查邮箱和密码，或者重置密码。",
            ),
            article(
                "en",
                "deposit",
                "Deposit not credited yet",
                "deposit",
                "A deposit needs confirmations before it is credited.",
            ),
            article(
                "en",
                "withdrawal",
                "My withdrawal failed",
                "withdrawal, refund",
                "A failed withdrawal is refunded with its fee.",
            ),
            article(
                "en",
                "login",
                "I can't log in",
                "login, password",
                "Check your email address and password, then try again.",
            ),
        ])
        .unwrap()
    }

    fn slugs(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|hit| hit.slug.as_str()).collect()
    }

    #[test]
    fn the_index_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Index>();
    }

    #[test]
    fn a_chinese_word_is_indexed_and_found() {
        let index = sample();
        let hits = index.search("接听", "zh-CN", 10).unwrap();
        assert_eq!(slugs(&hits), ["hotline"]);
        assert_eq!(hits[0].title_html, "客服热线的工作时间");
        assert!(
            hits[0].snippet_html.contains("<mark>接听</mark>"),
            "{}",
            hits[0].snippet_html
        );
        let hits = index.search("重置", "zh-CN", 10).unwrap();
        assert_eq!(slugs(&hits), ["login"]);
        // The title matched through its synonym group (热线 | 客服热线 | …), marked as one run.
        let hits = index.search("热线", "zh-CN", 10).unwrap();
        assert_eq!(hits[0].title_html, "<mark>客服热线</mark>的工作时间");
    }

    #[test]
    fn english_is_found_through_stems() {
        let index = sample();
        assert_eq!(
            slugs(&index.search("withdrawals", "en", 10).unwrap()),
            ["withdrawal"]
        );
        assert_eq!(
            slugs(&index.search("logging in", "en", 10).unwrap())[0],
            "login"
        );
        assert_eq!(
            slugs(&index.search("credit", "en", 10).unwrap()),
            ["deposit"]
        );
    }

    #[test]
    fn an_english_typo_is_forgiven() {
        let index = sample();
        assert_eq!(
            slugs(&index.search("withdrawl", "en", 10).unwrap()),
            ["withdrawal"]
        );
    }

    #[test]
    fn synonyms_find_what_the_words_do_not() {
        let index = sample();
        // "钱没到" shares no word with the deposit article; its synonym 没到账 does.
        assert_eq!(
            slugs(&index.search("钱没到", "zh-CN", 10).unwrap())[0],
            "deposit"
        );
        assert_eq!(
            slugs(&index.search("unable to sign in", "en", 10).unwrap())[0],
            "login"
        );
    }

    #[test]
    fn search_returns_only_the_asked_language() {
        let index = sample();
        let hits = index.search("deposit 充值", "en", 10).unwrap();
        assert_eq!(slugs(&hits), ["deposit"]);
        assert!(hits.iter().all(|hit| hit.lang == "en"));
        let hits = index.search("deposit 充值", "zh-CN", 10).unwrap();
        assert_eq!(slugs(&hits), ["deposit"]);
        assert!(hits.iter().all(|hit| hit.lang == "zh-CN"));
        assert!(matches!(
            index.search("deposit", "fr", 10),
            Err(IndexError::UnknownLanguage(_))
        ));
    }

    #[test]
    fn upsert_replaces_and_remove_removes() {
        let index = sample();
        assert_eq!(index.len(), 6);
        index
            .upsert(&article(
                "en",
                "login",
                "Sign-in trouble",
                "",
                "Passkeys and codes.",
            ))
            .unwrap();
        assert_eq!(index.len(), 6);
        let hits = index.search("passkeys", "en", 10).unwrap();
        assert_eq!(slugs(&hits), ["login"]);
        assert_eq!(hits[0].title, "Sign-in trouble");
        assert!(index.search("password", "en", 10).unwrap().is_empty());

        index
            .upsert(&article(
                "en",
                "fees",
                "Fees",
                "",
                "What a withdrawal costs.",
            ))
            .unwrap();
        assert_eq!(index.len(), 7);
        index.remove("withdrawal", "en").unwrap();
        index.remove("no-such-article", "en").unwrap();
        assert_eq!(index.len(), 6);
        assert_eq!(
            slugs(&index.search("withdrawal", "en", 10).unwrap()),
            ["fees"]
        );
        // The Chinese article with the same slug is untouched.
        assert_eq!(
            slugs(&index.search("登录", "zh-CN", 10).unwrap()),
            ["login"]
        );
    }

    #[test]
    fn searches_run_while_articles_change() {
        let index = std::sync::Arc::new(sample());
        let searchers: Vec<_> = (0..2)
            .map(|_| {
                let index = index.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let hits = index.search("充值 到账", "zh-CN", 10).unwrap();
                        assert_eq!(hits[0].slug, "deposit");
                    }
                })
            })
            .collect();
        for round in 0..20 {
            let body = format!("第 {round} 版：检查邮箱和密码。");
            index
                .upsert(&article("zh-CN", "login", "登录不了怎么办", "登录", &body))
                .unwrap();
        }
        for searcher in searchers {
            searcher.join().unwrap();
        }
        assert_eq!(index.len(), 6);
    }

    #[test]
    fn queries_without_words_find_nothing() {
        let index = sample();
        for query in ["", "   ", "？！。", "...", "how do I", "怎么", "\"\"", "-"] {
            assert!(
                index.search(query, "en", 10).unwrap().is_empty(),
                "{query:?}"
            );
            assert!(
                index.search(query, "zh-CN", 10).unwrap().is_empty(),
                "{query:?}"
            );
        }
        assert!(index.search("deposit", "en", 0).unwrap().is_empty());
    }

    #[test]
    fn query_syntax_characters_are_plain_text() {
        let index = sample();
        for query in [
            "\"deposit",
            "deposit:",
            "title:deposit",
            "(deposit",
            "depos*",
            "-deposit",
            "+deposit^2",
            "deposit~",
            "[a TO b]",
            "deposit AND OR NOT",
            "\\",
            "{}",
            "<script>",
        ] {
            index.search(query, "en", 10).unwrap();
            index.search(query, "zh-CN", 10).unwrap();
        }
        assert_eq!(
            slugs(&index.search("-deposit", "en", 10).unwrap()),
            ["deposit"]
        );
        assert_eq!(
            slugs(&index.search("(充值)", "zh-CN", 10).unwrap()),
            ["deposit"]
        );
    }

    #[test]
    fn hits_carry_no_raw_html() {
        let index = Index::build([article(
            "en",
            "html",
            "Use <b> & \"quotes\"",
            "",
            "Text with <script>alert(1)</script> and a deposit & more.",
        )])
        .unwrap();
        let hits = index.search("deposit script quotes", "en", 10).unwrap();
        assert_eq!(hits.len(), 1);
        let hit = &hits[0];
        let without_marks = |html: &str| html.replace("<mark>", "").replace("</mark>", "");
        assert!(
            !without_marks(&hit.title_html).contains('<'),
            "{}",
            hit.title_html
        );
        assert!(
            !without_marks(&hit.snippet_html).contains('<'),
            "{}",
            hit.snippet_html
        );
        assert!(
            hit.snippet_html.contains("<mark>deposit</mark>"),
            "{}",
            hit.snippet_html
        );
        assert!(
            hit.title_html.contains("&quot;<mark>quotes</mark>&quot;"),
            "{}",
            hit.title_html
        );
    }
}
