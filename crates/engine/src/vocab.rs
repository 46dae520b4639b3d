//! The names of a run's groups in both languages, by grouping: a surface shows a grade, RFM
//! segment, lifecycle stage or cluster in its reader's language whatever language the run
//! wrote its tables in (`clientele report OUT --lang en` of a Chinese run), and a program can
//! match on a key that does not change with translation.
//!
//! Names are looked up per grouping, not globally: `新客户` is the lifecycle stage *New* and
//! also the RFM segment *New Customers*.

use std::collections::HashMap;

use clientele_core::Lang;
use clientele_core::columns::Grouping;
use clientele_lifecycle::{GONE, NEW_CUSTOMER, Stage};

use crate::Summary;

/// A group's stable key and its two names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Stable key (`active`, `important_value`, `senior`, `1` for cluster 1).
    pub key: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
}

impl Label {
    pub(crate) fn new(key: &str, zh: &str, en: &str) -> Label {
        Label {
            key: key.to_string(),
            zh: zh.to_string(),
            en: en.to_string(),
        }
    }

    /// The name in `lang`.
    pub fn name(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

/// Every group name a summary holds, by grouping, in both languages.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// Grouping key → (any name or key → label).
    by_grouping: HashMap<String, HashMap<String, usize>>,
    labels: Vec<Label>,
}

/// The markers of migration matrices (customers new in a run, customers gone from it).
fn markers() -> [Label; 2] {
    [
        Label::new(NEW_CUSTOMER, "(新增客户)", NEW_CUSTOMER),
        Label::new(GONE, "(已离开)", GONE),
    ]
}

impl Vocabulary {
    /// The names of every group of `s`: built-in grades, RFM segments, lifecycle stages,
    /// clusters, and the markers of migration matrices.
    pub fn of(s: &Summary) -> Vocabulary {
        let mut v = Vocabulary::default();
        for g in &s.grades {
            let key = Grouping::Grade(g.scheme.clone()).key();
            for grade in &g.grades {
                let l = grade
                    .label
                    .clone()
                    .or_else(|| clientele_grade::builtin_label(&grade.grade));
                if let Some(l) = l {
                    v.add(&key, Label::new(&l.key, &l.zh, &l.en));
                }
            }
        }
        for sc in s.rfm.iter().flat_map(|r| &r.schemes) {
            let key = Grouping::Rfm(sc.name.clone()).key();
            for seg in &sc.segments {
                v.add(&key, Label::new(&seg.id, &seg.zh, &seg.en));
            }
        }
        let lifecycle = Grouping::Lifecycle.key();
        for st in Stage::ALL {
            v.add(
                &lifecycle,
                Label::new(st.id(), st.name(Lang::Zh), st.name(Lang::En)),
            );
        }
        if let Some(c) = s.clusters.done() {
            let key = Grouping::Cluster.key();
            for p in &c.profiles {
                let n = p.label.to_string();
                let zh = format!("{n}: {}", p.name_zh);
                let en = format!("{n}: {}", p.name_en);
                v.add(&key, Label::new(&n, &zh, &en));
            }
        }
        v
    }

    pub(crate) fn add(&mut self, grouping: &str, label: Label) {
        let i = self.labels.len();
        let names = self.by_grouping.entry(grouping.to_string()).or_default();
        for n in [&label.key, &label.zh, &label.en] {
            names.entry(n.clone()).or_insert(i);
        }
        self.labels.push(label);
    }

    /// Every label, in the order added (grades, RFM segments, stages, clusters).
    pub fn labels(&self) -> impl Iterator<Item = &Label> {
        self.labels.iter()
    }

    /// The label of a group of `grouping` known by any of its names or its key; the markers
    /// of migration matrices are known in every grouping.
    pub fn label(&self, grouping: &Grouping, text: &str) -> Option<Label> {
        self.by_grouping
            .get(&grouping.key())
            .and_then(|m| m.get(text))
            .map(|&i| self.labels[i].clone())
            .or_else(|| {
                markers()
                    .into_iter()
                    .find(|l| [&l.key, &l.zh].contains(&&text.to_string()))
            })
    }

    /// A group's name in `lang`; a name the vocabulary does not know (a grade a user named)
    /// is its own name in every language.
    pub fn name(&self, grouping: &Grouping, text: &str, lang: Lang) -> String {
        self.label(grouping, text)
            .map_or_else(|| text.to_string(), |l| l.name(lang).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_markers_translate_both_ways() {
        let mut v = Vocabulary::default();
        let lc = Grouping::Lifecycle;
        v.add(&lc.key(), Label::new("active", "活跃客户", "Active"));
        v.add(
            &Grouping::Rfm("rf10".into()).key(),
            Label::new("new_customers", "新客户", "New Customers"),
        );
        assert_eq!(v.name(&lc, "active", Lang::Zh), "活跃客户");
        assert_eq!(v.name(&lc, "活跃客户", Lang::En), "Active");
        assert_eq!(v.name(&lc, GONE, Lang::Zh), "(已离开)");
        assert_eq!(v.name(&lc, "(新增客户)", Lang::En), NEW_CUSTOMER);
        // per grouping: a name of another grouping is not translated
        assert_eq!(v.name(&lc, "新客户", Lang::En), "新客户");
        let rf = Grouping::Rfm("rf10".into());
        assert_eq!(v.name(&rf, "新客户", Lang::En), "New Customers");
        assert_eq!(v.name(&rf, "my own", Lang::En), "my own");
    }
}
