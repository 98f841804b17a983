//! The relevance set: questions as people type them, each with the article an editor would pick
//! (`content/articles/relevance.tsv`, `lang<TAB>query<TAB>expected_slug`). Every expected article
//! must be the first hit. On failure the test prints every failing question with what came
//! first, so a change to the engine shows all it broke at once.

use std::fmt::Write as _;
use std::path::Path;

use kb::{builtin_articles, Index};

struct Case {
    line: usize,
    lang: String,
    query: String,
    expected: String,
}

fn cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/articles/relevance.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut cases = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        let [lang, query, expected] = columns[..] else {
            panic!(
                "relevance.tsv line {}: expected 3 tab-separated columns: {line:?}",
                number + 1
            );
        };
        cases.push(Case {
            line: number + 1,
            lang: lang.trim().to_owned(),
            query: query.trim().to_owned(),
            expected: expected.trim().to_owned(),
        });
    }
    cases
}

#[test]
fn every_question_finds_the_expected_article_first() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} relevance cases", cases.len());
    let index = Index::build(builtin_articles()).unwrap();
    let mut failures = String::new();
    let mut failed = 0;
    for case in &cases {
        let hits = index.search(&case.query, &case.lang, 5).unwrap();
        if hits.first().map(|hit| hit.slug.as_str()) == Some(case.expected.as_str()) {
            continue;
        }
        failed += 1;
        let rank = hits
            .iter()
            .position(|hit| hit.slug == case.expected)
            .map_or("-".to_owned(), |rank| (rank + 1).to_string());
        let top: Vec<String> = hits
            .iter()
            .take(3)
            .map(|hit| format!("{} ({:.2})", hit.slug, hit.score))
            .collect();
        writeln!(
            failures,
            "{:>4}  {:<5}  {:<32}  {:<28}  {:>4}  {}",
            case.line,
            case.lang,
            case.query,
            case.expected,
            rank,
            top.join(", ")
        )
        .unwrap();
    }
    println!("relevance: {}/{} first", cases.len() - failed, cases.len());
    assert!(
        failed == 0,
        "{failed} of {} questions do not find the expected article first:\n\
         line  lang   query                             expected                      rank  came first\n{failures}",
        cases.len()
    );
}
