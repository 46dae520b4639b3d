//! Both languages complete: identical key sets, no empty labels, every key the payload or the
//! template asks for exists, on real runs.

use std::collections::BTreeSet;

use clientele_report::{EN, Lang, ZH, missing_labels, payload, render};

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

fn is_cjk(c: char) -> bool {
    ('\u{3000}'..='\u{303f}').contains(&c)
        || ('\u{4e00}'..='\u{9fff}').contains(&c)
        || ('\u{ff00}'..='\u{ffef}').contains(&c)
}

/// Every string the reader sees: the payload's strings and the page outside its scripts.
fn visible_text(s: &clientele_engine::Summary, lang: Lang) -> Vec<String> {
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(m) => m.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    strings(&payload(s, lang), &mut out);
    let html = render(s, lang).expect("render");
    // the page outside its scripts and styles
    let mut rest = html.as_str();
    while let Some(start) = rest.find(['<']) {
        out.push(rest[..start].to_string());
        rest = &rest[start..];
        let end_tag = ["<script", "<style"]
            .iter()
            .find(|t| rest.starts_with(**t))
            .map(|t| format!("</{}>", &t[1..]));
        let skip = match end_tag {
            Some(end) => rest.find(&end).map_or(rest.len(), |i| i + end.len()),
            None => rest.find('>').map_or(rest.len(), |i| i + 1),
        };
        rest = &rest[skip..];
    }
    out.push(rest.to_string());
    out
}

/// A list file's path: named in the run's language, as the file on disk is.
fn is_list_file(t: &str) -> bool {
    t.starts_with("segments/") || t.starts_with("segments&#x2f;")
}

#[test]
fn english_reports_of_cdnow_have_no_chinese() {
    // CDNOW has no Chinese in its data, so any Chinese would be a label: none in the English
    // report of the English run, nor in the English report of the Chinese run (`clientele
    // report OUT --lang en` re-renders every name).
    for (run, s) in [("en", common::cdnow()), ("zh", common::cdnow_zh())] {
        let cjk: Vec<String> = visible_text(s, Lang::En)
            .into_iter()
            .filter(|t| t.chars().any(is_cjk) && !is_list_file(t))
            .map(|t| t.chars().take(120).collect())
            .collect();
        assert!(
            cjk.is_empty(),
            "Chinese in the English report of the {run} run: {cjk:?}"
        );
    }
}

#[test]
fn chinese_reports_name_no_group_in_english() {
    // No grade, segment, stage or cluster shows by its English name or its key in a Chinese
    // report, whichever language the run was in.
    for (run, s) in [
        ("en", common::cdnow()),
        ("zh", common::cdnow_zh()),
        ("demo", common::demo()),
    ] {
        let vocab = clientele_engine::Vocabulary::of(s);
        let english: std::collections::BTreeSet<&str> = vocab
            .labels()
            .filter(|l| l.en != l.zh)
            .flat_map(|l| [l.en.as_str(), l.key.as_str()])
            .filter(|n| n.len() >= 3 && n.parse::<f64>().is_err())
            .collect();
        let found: Vec<String> = visible_text(s, Lang::Zh)
            .into_iter()
            .filter(|t| english.contains(t.as_str()))
            .collect();
        assert!(
            found.is_empty(),
            "English group names in the Chinese report of the {run} run: {found:?}"
        );
    }
}
