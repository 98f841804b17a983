//! The benchmark, small enough for every test run (the 10 000-article run for people is
//! `okwallet bench help-center`).

#[test]
fn a_small_run_reports_sane_numbers() {
    let report = kb::bench::run(200, 50, 7);
    println!("{report}");
    assert_eq!(report.articles(), 200);
    assert_eq!(report.articles_zh, 100);
    assert_eq!(report.queries(), 50);
    assert_eq!(report.queries_en, 10);
    assert!(report.p50_us <= report.p95_us, "{report}");
    assert!(report.p95_us <= report.p99_us, "{report}");
    assert!(report.p99_us <= report.max_us, "{report}");
    assert!(report.max_us > 0, "{report}");
    assert!(report.hits_per_query > 0.0, "{report}");
    assert!(
        report.hits_per_query <= kb::bench::HITS_PER_PAGE as f64,
        "{report}"
    );
    assert!(report.queries_without_hits < report.queries(), "{report}");
    assert!(report.body_chars_mean >= 250, "{report}");
    let text = report.to_string();
    assert!(text.contains("latency p99"), "{text}");
}
