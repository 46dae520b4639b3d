//! One language per run: the groups a run writes (grades, RFM segments, lifecycle stages,
//! clusters) and its list files are named in the run's language, in the customer table and on
//! disk; the vocabulary knows each group by key and by both names.

use std::collections::BTreeSet;

use clientele_core::columns::Grouping;
use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{Analysis, AnalyzeOptions, Config, Lang, NoProgress, Vocabulary, analyze};

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3000}'..='\u{303f}').contains(&c)
}

fn run(lang: Lang) -> Analysis {
    let dir = tempfile::tempdir().expect("tempdir");
    let shop = generate(&ShopSpec::new(600, 11), dir.path(), &|_| {}).expect("generate");
    let mut config = Config::default();
    config.source.transactions = vec![shop.transactions.clone()];
    config.source.attributes = Some(shop.attributes.clone());
    config.source.satisfaction = Some(shop.satisfaction.clone());
    config.source.leads = Some(shop.leads.clone());
    config.output.lang = lang;
    config.output.target_lists = true;
    analyze(&config, &AnalyzeOptions::default(), &NoProgress).expect("analyze")
}

/// Every value of every grouping column, with its grouping.
fn group_values(a: &Analysis) -> Vec<(Grouping, String)> {
    let mut out = BTreeSet::new();
    for c in a.customers.columns() {
        let Some(g) = Grouping::of_column(&c.name) else {
            continue;
        };
        if let Ok(v) = a.customers.texts(&c.name) {
            for x in v.iter().flatten() {
                out.insert((g.clone(), x.to_string()));
            }
        }
    }
    out.into_iter().collect()
}

#[test]
fn an_english_run_names_every_group_and_list_in_english() {
    let a = run(Lang::En);
    let values = group_values(&a);
    assert!(values.iter().any(|(g, _)| *g == Grouping::Lifecycle));
    assert!(
        values
            .iter()
            .any(|(g, _)| matches!(g, Grouping::Grade(s) if s == "behaviour"))
    );
    let chinese: Vec<_> = values
        .iter()
        .filter(|(_, v)| v.chars().any(is_cjk))
        .collect();
    assert!(chinese.is_empty(), "{chinese:?}");
    let files: Vec<&str> = a
        .summary
        .target_lists
        .iter()
        .map(|l| l.file.as_str())
        .filter(|f| f.chars().any(is_cjk))
        .collect();
    assert!(files.is_empty(), "{files:?}");
    assert!(
        a.summary
            .target_lists
            .iter()
            .any(|l| l.file == "segments/behaviour/Senior_customer.csv")
    );
}

#[test]
fn a_chinese_run_names_no_group_in_english_and_the_vocabulary_translates_both_ways() {
    let zh = run(Lang::Zh);
    let en = run(Lang::En);
    let vocab = Vocabulary::of(&zh.summary);
    let english: BTreeSet<String> = vocab
        .labels()
        .filter(|l| l.en != l.zh)
        .flat_map(|l| [l.en.clone(), l.key.clone()])
        .collect();
    let zh_values = group_values(&zh);
    let found: Vec<_> = zh_values
        .iter()
        .filter(|(_, v)| english.contains(v))
        .collect();
    assert!(found.is_empty(), "{found:?}");
    // the same shop in English: each Chinese name translates to the English run's name, and back
    let en_values: BTreeSet<(Grouping, String)> = group_values(&en).into_iter().collect();
    for (g, v) in &zh_values {
        if *g == Grouping::Cluster {
            continue; // names follow each run's own centres
        }
        // tags (`attributes`) hold several names joined by `;`
        let tr = |v: &str, lang| {
            v.split(';')
                .map(|t| vocab.name(g, t, lang))
                .collect::<Vec<_>>()
                .join(";")
        };
        let in_en = tr(v, Lang::En);
        assert!(
            en_values.contains(&(g.clone(), in_en.clone())),
            "{g:?} {v} → {in_en}"
        );
        assert_eq!(tr(&in_en, Lang::Zh), *v);
    }
}

/// A run in Chinese writes the reasons of its rejected rows in Chinese, and one in English in
/// English.
#[test]
fn rejected_rows_are_explained_in_the_run_s_language() {
    let dir = tempfile::tempdir().expect("tempdir");
    let orders = dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        "customer_id,order_date,amount\nc1,2024-01-01,5\nc2,2024-02-30,5\nc3,2024-01-03,abc\n,2024-01-04,5\n",
    )
    .expect("write");
    for (lang, want, not) in [
        (Lang::Zh, ["不是日期", "不是数字", "缺少客户编号"], "not a"),
        (
            Lang::En,
            ["is not a date", "is not a number", "missing customer id"],
            "缺少",
        ),
    ] {
        let mut config = Config::default();
        config.source.transactions = vec![orders.clone()];
        config.output.lang = lang;
        let a = analyze(&config, &AnalyzeOptions::default(), &NoProgress).expect("analyze");
        let out = dir.path().join(format!("out-{}", lang.code()));
        clientele_engine::write_outputs(
            &a,
            &out,
            clientele_engine::OutputFormat::Both,
            clientele_engine::ParquetCompression::default(),
            &[],
            &[],
        )
        .expect("write");
        let text = std::fs::read_to_string(out.join("rejects.csv")).expect("rejects.csv");
        for w in want {
            assert!(text.contains(w), "{lang:?}: {w} in {text}");
        }
        assert!(!text.contains(not), "{lang:?}: {text}");
    }
}
