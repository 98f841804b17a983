//! Every compiled-in article is valid, named after its slug, and exists in both languages.

use std::collections::{BTreeMap, BTreeSet};

use kb::{builtin_articles, parse_article, Lang};

#[test]
fn every_builtin_file_parses_and_is_named_after_its_slug() {
    let files: Vec<_> = kb::article::builtin_files().collect();
    assert!(!files.is_empty(), "no article was compiled in");
    let mut problems = Vec::new();
    for file in &files {
        match parse_article(file.lang, file.text) {
            Ok(article) if format!("{}.md", article.slug) != file.file_name => {
                problems.push(format!(
                    "{}/{}: slug is {:?}",
                    file.lang, file.file_name, article.slug
                ))
            }
            Ok(article) if article.body_md.trim().is_empty() => {
                problems.push(format!("{}/{}: empty body", file.lang, file.file_name))
            }
            Ok(_) => {}
            Err(error) => problems.push(format!("{}/{}: {error}", file.lang, file.file_name)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(builtin_articles().len(), files.len());
}

#[test]
fn every_slug_is_unique_and_exists_in_both_languages() {
    let mut slugs: BTreeMap<Lang, BTreeSet<String>> = BTreeMap::new();
    for article in builtin_articles() {
        let lang = Lang::parse(&article.lang).expect("parse_article checked it");
        let fresh = slugs.entry(lang).or_default().insert(article.slug.clone());
        assert!(fresh, "{} appears twice in {lang}", article.slug);
    }
    let zh = slugs.remove(&Lang::ZhCn).unwrap_or_default();
    let en = slugs.remove(&Lang::En).unwrap_or_default();
    let only_zh: Vec<_> = zh.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&zh).collect();
    assert!(
        only_zh.is_empty() && only_en.is_empty(),
        "only in zh-CN: {only_zh:?}; only in en: {only_en:?}"
    );
}

#[test]
fn the_same_slug_has_the_same_category_in_both_languages() {
    let mut categories: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for article in builtin_articles() {
        categories
            .entry(article.slug)
            .or_default()
            .insert(article.category);
    }
    let mixed: Vec<_> = categories
        .iter()
        .filter(|(_, categories)| categories.len() > 1)
        .collect();
    assert!(mixed.is_empty(), "{mixed:?}");
}

#[test]
fn every_builtin_article_renders_and_is_found_by_its_title() {
    let articles = builtin_articles();
    let index = kb::Index::build(articles.clone()).unwrap();
    assert_eq!(index.len(), articles.len());
    for article in &articles {
        let html = kb::render_markdown(&article.body_md);
        assert!(!html.is_empty(), "{}/{}", article.lang, article.slug);
        let hits = index.search(&article.title, &article.lang, 5).unwrap();
        assert!(
            hits.iter().any(|hit| hit.slug == article.slug),
            "{}/{}: searching its title {:?} finds {:?}",
            article.lang,
            article.slug,
            article.title,
            hits.iter().map(|hit| &hit.slug).collect::<Vec<_>>()
        );
    }
}
