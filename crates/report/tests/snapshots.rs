//! Snapshot tests of the page's data payload (what the page shows), for both fixtures and both
//! languages. Update with `INSTA_UPDATE=always cargo test -p clientele-report --test snapshots`.

use clientele_report::{Lang, ReportExtras, payload};

mod common;

#[test]
fn demo_payload_zh() {
    let p = payload(&common::fixture("demo"), Lang::Zh, &ReportExtras::default()).expect("payload");
    insta::assert_json_snapshot!(p);
}

#[test]
fn demo_payload_en() {
    let p = payload(&common::fixture("demo"), Lang::En, &ReportExtras::default()).expect("payload");
    insta::assert_json_snapshot!(p);
}

#[test]
fn cdnow_payload_zh() {
    let p = payload(
        &common::fixture("cdnow"),
        Lang::Zh,
        &ReportExtras::default(),
    )
    .expect("payload");
    insta::assert_json_snapshot!(p);
}

#[test]
fn cdnow_payload_en() {
    let p = payload(
        &common::fixture("cdnow"),
        Lang::En,
        &ReportExtras::default(),
    )
    .expect("payload");
    insta::assert_json_snapshot!(p);
}
