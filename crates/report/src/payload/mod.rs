//! [`Summary`] → the page's data payload: sections of KPI tiles and cards, each card with an
//! optional ECharts option and a table of the same numbers. Pure formatting: every number and
//! every choice of what to show first comes from the summary; nothing here depends on the
//! customer count. One module per section.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use clientele_core::columns::Grouping;
use clientele_engine::{Summary, Vocabulary};
use serde_json::{Value, json};

use crate::fmt_num::compact;
use crate::{Lang, i18n};

mod about;
mod behaviour;
mod card;
mod chart;
mod clusters;
mod cohorts;
mod fit;
mod grades;
mod history;
mod lifecycle;
mod migration;
mod next;
mod overview;
mod predict;
mod rfm;
mod trends;
mod validation;
mod value;

/// The payload and the label keys that were missing from the language table.
pub(crate) struct Built {
    pub payload: Value,
    pub missing: Vec<String>,
}

/// What every section reads: the summary, the language, and the labels asked for.
pub(crate) struct Ctx<'a> {
    lang: Lang,
    s: &'a Summary,
    missing: RefCell<BTreeSet<String>>,
    charts: Cell<usize>,
    vocab: Vocabulary,
}

impl Ctx<'_> {
    /// A length of time in the report's language (`2 年`, `95 weeks`).
    fn span(&self, span: clientele_core::Span) -> String {
        let count = crate::fmt_num::num(
            span.count(),
            if span.count().fract() == 0.0 { 0 } else { 1 },
        );
        format!("{count} {}", span.unit().label(self.lang))
    }

    /// A time unit in the report's language (`周`, `14 days`).
    fn unit(&self, unit: clientele_core::TimeUnit) -> String {
        unit.label(self.lang)
    }

    /// The label of `key`; a missing one is noted (a test fails on it) and shown as the key.
    fn t(&self, key: &str) -> String {
        match i18n::lookup(self.lang, key) {
            Some(s) => s.to_string(),
            None => {
                self.missing.borrow_mut().insert(key.to_string());
                key.to_string()
            }
        }
    }

    /// Label with `{name}` placeholders filled.
    fn tf(&self, key: &str, args: &[(&str, String)]) -> String {
        let mut s = self.t(key);
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    /// Label for a key when the table has it, else the given fallback (data names such as
    /// user-defined scheme or column names are not labels).
    fn t_or(&self, key: &str, fallback: &str) -> String {
        i18n::lookup(self.lang, key).map_or_else(|| fallback.to_string(), str::to_string)
    }

    /// The label of a customer-table column, or its name.
    fn col(&self, name: &str) -> String {
        i18n::column_label(self.lang, name).unwrap_or_else(|| name.to_string())
    }

    /// The one of a Chinese/English pair in the report's language.
    fn pick<'s>(&self, zh: &'s str, en: &'s str) -> &'s str {
        self.lang.pick(zh, en)
    }

    /// The playbook's action in the report's language, when there is one.
    fn action(&self, zh: Option<&str>, en: Option<&str>) -> Option<String> {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
        .filter(|a| !a.is_empty())
        .map(str::to_string)
    }

    /// The name of a grouping: its scheme's label, or the scheme's own name.
    fn grouping(&self, g: &Grouping) -> String {
        match g {
            Grouping::Grade(n) | Grouping::Rfm(n) => self.t_or(&format!("scheme.{n}"), n),
            Grouping::ValueTier => self.t("scheme.value_tier"),
            Grouping::Lifecycle => self.t("sec.lifecycle"),
            Grouping::Cluster => self.t("scheme.cluster"),
        }
    }

    /// The name of the grouping a customer-table column holds (or of the column).
    fn grouping_column(&self, column: &str) -> String {
        Grouping::of_column(column).map_or_else(|| self.col(column), |g| self.grouping(&g))
    }

    /// A lifecycle stage's name for its id or its name in either language.
    fn stage(&self, id: &str) -> String {
        self.group(&Grouping::Lifecycle, id)
    }

    /// The name of a group of `g` (a grade, segment, stage or cluster, known by its key or
    /// its name in either language) in the report's language; a name a user gave stays.
    fn group(&self, g: &Grouping, name: &str) -> String {
        self.vocab.name(g, name, self.lang)
    }

    /// A unique chart id.
    fn chart_id(&self, name: &str) -> String {
        let n = self.charts.get() + 1;
        self.charts.set(n);
        format!("c{n:02}-{name}")
    }

    /// A large amount in short form (万/亿, K/M/B).
    fn money_k(&self, x: f64) -> String {
        compact(x, self.lang)
    }
}

/// A section: title, lead paragraphs, notes, KPI tiles and cards.
struct Section {
    id: &'static str,
    title: String,
    lead: Vec<String>,
    notes: Vec<String>,
    kpis: Vec<Value>,
    cards: Vec<Value>,
}

impl Section {
    fn new(c: &Ctx, id: &'static str) -> Section {
        Section {
            id,
            title: c.t(&format!("sec.{id}")),
            lead: Vec::new(),
            notes: Vec::new(),
            kpis: Vec::new(),
            cards: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.cards.is_empty() && self.kpis.is_empty() && self.notes.is_empty()
    }

    fn json(self) -> Value {
        json!({
            "id": self.id, "title": self.title, "lead": self.lead, "notes": self.notes,
            "kpis": self.kpis, "cards": self.cards,
        })
    }
}

pub(crate) fn build(s: &Summary, lang: Lang) -> Built {
    let c = Ctx {
        lang,
        s,
        missing: RefCell::new(BTreeSet::new()),
        charts: Cell::new(0),
        vocab: Vocabulary::of(s),
    };
    let sections: Vec<Value> = [
        overview::section(&c),
        next::section(&c),
        grades::section(&c),
        rfm::section(&c),
        value::section(&c),
        predict::section(&c),
        validation::section(&c),
        clusters::section(&c),
        lifecycle::section(&c),
        behaviour::section(&c),
        trends::section(&c),
        cohorts::section(&c),
        migration::section(&c),
        history::section(&c),
        about::section(&c),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .map(Section::json)
    .collect();
    let nav: Vec<Value> = sections
        .iter()
        .map(|s| json!({"id": s["id"], "title": s["title"]}))
        .collect();
    let mut meta = vec![c.tf("meta.as_of", &[("v", s.as_of.to_string())])];
    if let (Some(a), Some(b)) = (s.kpis.first_order, s.kpis.last_order) {
        meta.push(c.tf("meta.range", &[("v", format!("{a} – {b}"))]));
    }
    // the config hash is for whoever reruns the analysis: it is in the About section
    meta.push(s.tool.clone());
    let payload = json!({
        "lang": lang.code(),
        "title": c.t("title"),
        "meta": meta,
        "nav": nav,
        "sections": sections,
    });
    let missing = c.missing.into_inner().into_iter().collect();
    Built { payload, missing }
}
