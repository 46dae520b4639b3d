//! Both languages complete: identical key sets, no empty labels, every key the payload or the
//! template asks for exists, on real runs.

use std::collections::BTreeSet;

use clientele_report::{EN, Lang, ZH, missing_labels, render};

mod common;

#[test]
fn zh_and_en_have_the_same_keys() {
    let zh: BTreeSet<&str> = ZH.iter().map(|(k, _)| *k).collect();
    let en: BTreeSet<&str> = EN.iter().map(|(k, _)| *k).collect();
    assert_eq!(zh.len(), ZH.len(), "duplicate zh keys");
    assert_eq!(en.len(), EN.len(), "duplicate en keys");
    let only_zh: Vec<_> = zh.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&zh).collect();
    assert!(
        only_zh.is_empty() && only_en.is_empty(),
        "zh only {only_zh:?}, en only {only_en:?}"
    );
    for (k, v) in ZH.iter().chain(EN) {
        assert!(!v.trim().is_empty(), "empty label {k}");
    }
    // Placeholders match between the languages.
    for (k, z) in ZH {
        let e = EN
            .iter()
            .find(|(ek, _)| ek == k)
            .map(|(_, v)| *v)
            .unwrap_or("");
        let ph = |s: &str| -> BTreeSet<String> {
            s.split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}'))
                .map(|(a, _)| a.to_string())
                .collect()
        };
        assert_eq!(ph(z), ph(e), "placeholders of {k}");
    }
}

#[test]
fn no_untranslated_labels_in_either_report() {
    for (name, s) in [("demo", common::demo()), ("cdnow", common::cdnow())] {
        for lang in [Lang::Zh, Lang::En] {
            let missing = missing_labels(s, lang);
            assert!(missing.is_empty(), "{name} {lang}: {missing:?}");
            // The template renders in strict mode: an unknown `L[...]` key is an error.
            render(s, lang).expect("render");
        }
    }
}

#[test]
fn english_report_of_an_english_run_has_no_chinese() {
    // CDNOW analyzed in English: its data has no Chinese, so any would be a label.
    let html = render(common::cdnow(), Lang::En).expect("render");
    let body = html.split("<script").next().unwrap_or("");
    let cjk: String = body
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .collect();
    assert!(cjk.is_empty(), "Chinese text in the English report: {cjk}");
}
