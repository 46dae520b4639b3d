//! Snapshot tests of the page's data payload (what the page shows) for the real runs, in both
//! languages. Update with `INSTA_UPDATE=always cargo test -p clientele-report --test
//! snapshots`, and review the diff.

use clientele_report::{Lang, payload};

mod common;

#[test]
fn demo_payload_zh() {
    insta::assert_json_snapshot!(payload(common::demo(), Lang::Zh));
}

#[test]
fn demo_payload_en() {
    insta::assert_json_snapshot!(payload(common::demo(), Lang::En));
}

#[test]
fn cdnow_payload_zh() {
    insta::assert_json_snapshot!(payload(common::cdnow(), Lang::Zh));
}

#[test]
fn cdnow_payload_en() {
    insta::assert_json_snapshot!(payload(common::cdnow(), Lang::En));
}
