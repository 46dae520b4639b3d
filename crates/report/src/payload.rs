//! Summary JSON → the page's data payload: sections of KPI tiles and cards, each card with an
//! optional ECharts option and a table of the same numbers. Pure selection and formatting: every
//! number comes from the summary (or the extras); nothing here depends on the customer count.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::fmt_num::{compact, int, money, num, pct, round};
use crate::{Lang, ReportError, ReportExtras, i18n};

/// The payload and the label keys that were missing from the language table.
pub(crate) struct Built {
    pub payload: Value,
    pub missing: Vec<String>,
}

const PALETTE: [&str; 10] = [
    "#3867d6", "#20bf6b", "#f7b731", "#eb3b5a", "#8854d0", "#0fb9b1", "#fa8231", "#4b6584",
    "#a55eea", "#2d98da",
];
const HEAT: [&str; 5] = ["#f1f6ff", "#c6dafc", "#7fa8f0", "#3867d6", "#1e3a8a"];

struct Ctx<'a> {
    lang: Lang,
    s: &'a Value,
    x: &'a ReportExtras,
    missing: RefCell<BTreeSet<String>>,
    charts: RefCell<usize>,
}

// ---------- small JSON helpers ----------

fn get<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    if cur.is_null() { None } else { Some(cur) }
}
fn f(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}
fn fz(v: &Value, k: &str) -> f64 {
    f(v, k).unwrap_or(f64::NAN)
}
fn st<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str)
}
fn arr<'v>(v: &'v Value, k: &str) -> &'v [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

// ---------- cells, tables, cards ----------

fn cell_n(display: String, v: f64) -> Value {
    if v.is_finite() {
        json!({"t": display, "v": v})
    } else {
        json!({"t": "–", "v": null})
    }
}
fn c_int(v: f64) -> Value {
    cell_n(int(v), v)
}
fn c_num(v: f64, d: usize) -> Value {
    cell_n(num(v, d), v)
}
fn c_money(v: f64) -> Value {
    cell_n(money(v), v)
}
fn c_pct(v: f64) -> Value {
    cell_n(pct(v), v)
}
/// A share with an inline bar.
fn c_share(v: f64) -> Value {
    if v.is_finite() {
        json!({"t": pct(v), "v": v, "bar": round((v * 100.0).clamp(0.0, 100.0), 1)})
    } else {
        json!({"t": "–", "v": null})
    }
}
fn c_opt_num(v: Option<f64>, d: usize) -> Value {
    v.map_or(json!({"t": "–", "v": null}), |x| c_num(x, d))
}

struct Table {
    cols: Vec<Value>,
    rows: Vec<Value>,
    show: bool,
}
impl Table {
    fn new(cols: Vec<(String, bool)>) -> Table {
        Table {
            cols: cols
                .into_iter()
                .map(|(l, n)| json!({"l": l, "num": n}))
                .collect(),
            rows: Vec::new(),
            show: true,
        }
    }
    fn row(&mut self, cells: Vec<Value>) {
        self.rows.push(Value::Array(cells));
    }
    fn fallback(mut self) -> Table {
        self.show = false;
        self
    }
    fn json(self) -> Value {
        json!({"cols": self.cols, "rows": self.rows, "show": self.show})
    }
}

#[derive(Default)]
struct Card {
    m: Map<String, Value>,
}
impl Card {
    fn new(title: String, span: u8) -> Card {
        let mut m = Map::new();
        m.insert("title".into(), json!(title));
        m.insert("span".into(), json!(span));
        Card { m }
    }
    /// Chart beside the table instead of above it.
    fn split(mut self) -> Card {
        self.m.insert("split".into(), json!(true));
        self
    }
    fn sub(mut self, s: String) -> Card {
        if !s.is_empty() {
            self.m.insert("sub".into(), json!(s));
        }
        self
    }
    fn chart(mut self, id: String, h: u32, option: Value) -> Card {
        self.m
            .insert("chart".into(), json!({"id": id, "h": h, "option": option}));
        self
    }
    fn table(mut self, t: Table) -> Card {
        self.m.insert("table".into(), t.json());
        self
    }
    fn text(mut self, lines: Vec<String>) -> Card {
        let lines: Vec<String> = lines.into_iter().filter(|l| !l.is_empty()).collect();
        if !lines.is_empty() {
            self.m.insert("text".into(), json!(lines));
        }
        self
    }
    fn json(self) -> Value {
        Value::Object(self.m)
    }
}

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

fn kpi(label: String, value: String, sub: String) -> Value {
    json!({"label": label, "value": value, "sub": sub})
}

// ---------- chart option helpers ----------

fn opt(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("animation".into(), json!(false));
        m.entry("color").or_insert_with(|| json!(PALETTE));
    }
    v
}
fn grid() -> Value {
    json!({"left": 12, "right": 20, "top": 44, "bottom": 12, "containLabel": true})
}
fn legend() -> Value {
    json!({"top": 4, "type": "scroll"})
}
/// Grouped bars of shares (percent) per category.
fn share_bars(cats: &[String], series: Vec<(String, Vec<f64>)>, horizontal: bool) -> Value {
    let ser: Vec<Value> = series
        .into_iter()
        .map(|(name, d)| {
            let d: Vec<Value> = d.iter().map(|x| pct_val(*x)).collect();
            json!({"name": name, "type": "bar", "data": d, "barMaxWidth": 28,
                   "emphasis": {"focus": "series"}})
        })
        .collect();
    let cat = json!({"type": "category", "data": cats, "axisLabel": {"interval": 0, "width": 110, "overflow": "truncate", "rotate": if horizontal || cats.len() <= 6 { 0 } else { 30 }}});
    let val = json!({"type": "value", "axisLabel": {"formatter": "{value}%"}});
    let (x, y) = if horizontal { (val, cat) } else { (cat, val) };
    let y = if horizontal {
        let mut y = y;
        y["inverse"] = json!(true);
        y
    } else {
        y
    };
    opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "valueFormatter": "{value}%"},
        "legend": legend(), "grid": grid(), "xAxis": x, "yAxis": y, "series": ser,
    }))
}
fn pct_val(x: f64) -> Value {
    if x.is_finite() {
        json!(round(x * 100.0, 2))
    } else {
        Value::Null
    }
}
fn num_val(x: f64, d: i32) -> Value {
    if x.is_finite() {
        json!(round(x, d))
    } else {
        Value::Null
    }
}

impl Ctx<'_> {
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
    fn col(&self, name: &str) -> String {
        self.t_or(&format!("col.{name}"), name)
    }
    /// A localized name from an object with `<base>_zh`/`<base>_en` (or `zh`/`en`) fields.
    fn loc(&self, v: &Value, base: &str) -> Option<String> {
        let code = self.lang.code();
        let k = if base.is_empty() {
            code.to_string()
        } else {
            format!("{base}_{code}")
        };
        st(v, &k).map(str::to_string)
    }
    fn action(&self, v: &Value) -> Option<String> {
        self.loc(v, "action").filter(|s| !s.is_empty())
    }
    fn chart_id(&self, name: &str) -> String {
        let mut n = self.charts.borrow_mut();
        *n += 1;
        format!("c{:02}-{name}", *n)
    }
    fn money_k(&self, x: f64) -> String {
        compact(x, self.lang)
    }
    fn extra<'b>(&'b self, field: &'b Option<Value>, key: &str) -> Option<&'b Value> {
        field
            .as_ref()
            .filter(|v| !v.is_null())
            .or_else(|| get(self.s, &[key]))
    }
}

pub(crate) fn build(s: &Value, lang: Lang, x: &ReportExtras) -> Result<Built, ReportError> {
    if !s.is_object() {
        return Err(ReportError::NotAnObject);
    }
    let c = Ctx {
        lang,
        s,
        x,
        missing: RefCell::new(BTreeSet::new()),
        charts: RefCell::new(0),
    };
    let sections: Vec<Section> = vec![
        overview(&c),
        next_steps(&c),
        grades(&c),
        rfm(&c),
        value(&c),
        validation(&c),
        clusters(&c),
        lifecycle(&c),
        behaviour(&c),
        trends(&c),
        cohorts(&c),
        migration(&c),
        history(&c),
        about(&c),
    ];
    let sections: Vec<Value> = sections
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(Section::json)
        .collect();
    let nav: Vec<Value> = sections
        .iter()
        .map(|s| json!({"id": s["id"], "title": s["title"]}))
        .collect();
    let as_of = st(s, "as_of").unwrap_or("");
    let range = match (
        get(s, &["kpis", "first_order"]),
        get(s, &["kpis", "last_order"]),
    ) {
        (Some(a), Some(b)) => format!("{} – {}", text_of(a), text_of(b)),
        _ => String::new(),
    };
    let meta = vec![
        c.tf("meta.as_of", &[("v", as_of.to_string())]),
        if range.is_empty() {
            String::new()
        } else {
            c.tf("meta.range", &[("v", range)])
        },
        st(s, "tool").unwrap_or("clientele").to_string(),
        st(s, "config_hash")
            .map(|h| c.tf("meta.config", &[("v", h.to_string())]))
            .unwrap_or_default(),
    ]
    .into_iter()
    .filter(|m| !m.is_empty())
    .collect::<Vec<_>>();
    let payload = json!({
        "lang": lang.code(),
        "title": c.t("title"),
        "meta": meta,
        "nav": nav,
        "sections": sections,
    });
    let missing = c.missing.into_inner().into_iter().collect();
    Ok(Built { payload, missing })
}

// ---------- sections ----------

fn overview(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "overview");
    let s = c.s;
    if let Some(k) = get(s, &["kpis"]) {
        let rev = fz(k, "revenue");
        sec.kpis
            .push(kpi(c.t("kpi.customers"), int(fz(k, "customers")), {
                let leads = f(s, "leads_without_purchase").unwrap_or(0.0);
                if leads > 0.0 {
                    c.tf("kpi.leads_sub", &[("v", int(leads))])
                } else {
                    String::new()
                }
            }));
        sec.kpis
            .push(kpi(c.t("kpi.revenue"), c.money_k(rev), money(rev)));
        sec.kpis.push(kpi(
            c.t("kpi.orders"),
            int(fz(k, "orders")),
            c.tf(
                "kpi.per_customer",
                &[("v", num(fz(k, "orders_per_customer"), 2))],
            ),
        ));
        sec.kpis.push(kpi(
            c.t("kpi.aov"),
            num(fz(k, "avg_order_value"), 2),
            String::new(),
        ));
        sec.kpis.push(kpi(
            c.t("kpi.active"),
            pct(fz(k, "active_90d_share")),
            c.t("kpi.active_sub"),
        ));
        sec.kpis.push(kpi(
            c.t("kpi.repeat"),
            pct(fz(k, "repeat_customer_share")),
            c.t("kpi.repeat_sub"),
        ));
        sec.kpis.push(kpi(
            c.t("kpi.as_of"),
            st(s, "as_of").unwrap_or("–").to_string(),
            match (st(k, "first_order"), st(k, "last_order")) {
                (Some(a), Some(b)) => format!("{a} – {b}"),
                _ => String::new(),
            },
        ));
    }
    if let Some(i) = get(s, &["inputs"]) {
        sec.kpis.push(kpi(
            c.t("kpi.quality"),
            format!("{} / {}", int(fz(i, "accepted")), int(fz(i, "rejected"))),
            c.t("kpi.quality_sub"),
        ));
        let mut t = Table::new(vec![(c.t("q.item"), false), (c.t("q.rows"), true)]);
        for key in ["read", "accepted", "rejected", "after_as_of", "used"] {
            if let Some(v) = f(i, key) {
                t.row(vec![json!(c.t(&format!("q.{key}"))), c_int(v)]);
            }
        }
        if let Some(v) = f(i, "return_only_customers") {
            t.row(vec![json!(c.t("q.return_only_customers")), c_int(v)]);
        }
        if let Some(v) = f(i, "total_amount") {
            t.row(vec![json!(c.t("q.total_amount")), c_money(v)]);
        }
        let rec = c.tf(
            "q.reconcile",
            &[
                ("read", int(fz(i, "read"))),
                ("accepted", int(fz(i, "accepted"))),
                ("rejected", int(fz(i, "rejected"))),
                ("after", int(f(i, "after_as_of").unwrap_or(0.0))),
            ],
        );
        let files: Vec<String> = arr(i, "files").iter().map(text_of).collect();
        let mut lines = vec![rec];
        if fz(i, "rejected") > 0.0 {
            lines.push(c.t("q.rejects_file"));
        }
        if !files.is_empty() {
            lines.push(c.tf("q.files", &[("v", files.join(", "))]));
        }
        sec.cards.push(
            Card::new(c.t("card.quality"), 6)
                .table(t)
                .text(lines)
                .json(),
        );
    }
    let sides = arr(s, "side_tables");
    if !sides.is_empty() {
        let mut t = Table::new(vec![
            (c.t("side.kind"), false),
            (c.t("q.rows"), true),
            (c.t("side.matched"), true),
            (c.t("side.columns"), false),
        ]);
        for side in sides {
            let kind = st(side, "kind").unwrap_or("");
            let cols: Vec<String> = arr(side, "columns_added").iter().map(text_of).collect();
            t.row(vec![
                json!(c.t_or(&format!("side.{kind}"), kind)),
                c_int(fz(side, "rows")),
                c_int(fz(side, "matched")),
                json!(cols.join(", ")),
            ]);
        }
        let mut lines = Vec::new();
        if let Some(l) = f(s, "leads_without_purchase") {
            lines.push(c.tf("side.leads_line", &[("v", int(l))]));
        }
        sec.cards.push(
            Card::new(c.t("card.side_tables"), 6)
                .table(t)
                .text(lines)
                .json(),
        );
    }
    sec
}

/// A group a marketer can act on.
struct Group {
    name: String,
    scheme: String,
    customers: f64,
    share: f64,
    revenue_share: f64,
    action: Option<String>,
    file: Option<String>,
}

fn list_file(c: &Ctx, schemes: &[&str], names: &[&str]) -> Option<String> {
    arr(c.s, "target_lists")
        .iter()
        .find(|t| {
            st(t, "scheme").is_some_and(|s| schemes.contains(&s))
                && st(t, "grade").is_some_and(|g| names.contains(&g))
        })
        .and_then(|t| st(t, "file"))
        .map(str::to_string)
}

fn next_steps(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "next");
    let mut groups: Vec<Group> = Vec::new();
    for g in arr(c.s, "grades") {
        let scheme = st(g, "scheme").unwrap_or("");
        for gr in arr(g, "grades") {
            let name = st(gr, "grade").unwrap_or("");
            groups.push(Group {
                name: name.to_string(),
                scheme: c.t_or(&format!("scheme.{scheme}"), scheme),
                customers: fz(gr, "customers"),
                share: fz(gr, "share"),
                revenue_share: fz(gr, "revenue_share"),
                action: c.action(gr),
                file: list_file(c, &[scheme], &[name]),
            });
        }
    }
    for sc in arr(get(c.s, &["rfm"]).unwrap_or(&Value::Null), "schemes") {
        let scheme = st(sc, "name").unwrap_or("");
        let list_scheme = format!("rfm_{scheme}");
        for seg in arr(sc, "segments") {
            let names = [
                st(seg, "zh").unwrap_or(""),
                st(seg, "en").unwrap_or(""),
                st(seg, "id").unwrap_or(""),
            ];
            groups.push(Group {
                name: c.loc(seg, "").unwrap_or_else(|| names[2].to_string()),
                scheme: c.t_or(&format!("scheme.{scheme}"), scheme),
                customers: fz(seg, "customers"),
                share: fz(seg, "share"),
                revenue_share: fz(seg, "revenue_share"),
                action: c.action(seg),
                file: list_file(c, &[list_scheme.as_str(), scheme], &names),
            });
        }
    }
    if let Some(stages) = get(c.s, &["lifecycle", "stages"]) {
        for st_ in arr(stages, "counts") {
            let id = st(st_, "stage").unwrap_or("");
            groups.push(Group {
                name: c.loc(st_, "name").unwrap_or_else(|| id.to_string()),
                scheme: c.t("sec.lifecycle"),
                customers: fz(st_, "count"),
                share: fz(st_, "share"),
                revenue_share: f64::NAN,
                action: c.action(st_),
                file: list_file(c, &["lifecycle"], &[id]),
            });
        }
    }
    let with_action: Vec<&Group> = groups
        .iter()
        .filter(|g| g.action.is_some() && g.customers > 0.0)
        .collect();
    let mut t = Table::new(vec![
        (c.t("col.group"), false),
        (c.t("col.scheme"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
        (c.t("col.revenue_share"), true),
        (c.t("col.action"), false),
        (c.t("col.list_file"), false),
    ]);
    let mut chosen: Vec<&Group> = if with_action.is_empty() {
        groups
            .iter()
            .filter(|g| g.file.is_some() && g.customers > 0.0)
            .collect()
    } else {
        with_action
    };
    chosen.sort_by(|a, b| {
        b.customers
            .partial_cmp(&a.customers)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    chosen.truncate(12);
    for g in &chosen {
        t.row(vec![
            json!(g.name),
            json!(g.scheme),
            c_int(g.customers),
            c_share(g.share),
            if g.revenue_share.is_finite() {
                c_share(g.revenue_share)
            } else {
                json!({"t": "–", "v": null})
            },
            json!(g.action.clone().unwrap_or_else(|| "–".into())),
            json!(g.file.clone().unwrap_or_else(|| "–".into())),
        ]);
    }
    if chosen.is_empty() {
        return sec;
    }
    sec.lead.push(c.t("next.lead"));
    if groups.iter().all(|g| g.action.is_none()) {
        sec.notes.push(c.t("next.no_actions"));
    }
    sec.cards.push(
        Card::new(c.t("card.next"), 12)
            .table(t)
            .text(vec![c.t("next.files")])
            .json(),
    );
    sec
}

fn mode_label(c: &Ctx, mode: &str) -> String {
    c.t_or(&format!("mode.{mode}"), mode)
}

fn grades(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "grades");
    for g in arr(c.s, "grades") {
        let scheme = st(g, "scheme").unwrap_or("");
        let rows = arr(g, "grades");
        if rows.is_empty() {
            continue;
        }
        let cats: Vec<String> = rows
            .iter()
            .map(|r| st(r, "grade").unwrap_or("").to_string())
            .collect();
        let option = share_bars(
            &cats,
            vec![
                (
                    c.t("col.share"),
                    rows.iter().map(|r| fz(r, "share")).collect(),
                ),
                (
                    c.t("col.revenue_share"),
                    rows.iter().map(|r| fz(r, "revenue_share")).collect(),
                ),
            ],
            false,
        );
        let has_clv = rows.iter().any(|r| f(r, "mean_clv").is_some());
        let mut cols = vec![
            (c.t("col.grade"), false),
            (c.t("col.customers"), true),
            (c.t("col.share"), true),
            (c.t("col.revenue"), true),
            (c.t("col.revenue_share"), true),
            (c.t("col.mean_recency_days"), true),
            (c.t("col.mean_orders"), true),
            (c.t("col.mean_monetary"), true),
        ];
        if has_clv {
            cols.push((c.t("col.mean_clv"), true));
        }
        cols.push((c.t("col.action"), false));
        let mut t = Table::new(cols);
        for r in rows {
            let mut cells = vec![
                json!(st(r, "grade").unwrap_or("")),
                c_int(fz(r, "customers")),
                c_share(fz(r, "share")),
                c_money(fz(r, "revenue")),
                c_share(fz(r, "revenue_share")),
                c_opt_num(f(r, "mean_recency_days"), 1),
                c_opt_num(f(r, "mean_orders"), 2),
                c_opt_num(f(r, "mean_monetary"), 2),
            ];
            if has_clv {
                cells.push(c_opt_num(f(r, "mean_clv"), 2));
            }
            cells.push(json!(c.action(r).unwrap_or_else(|| "–".into())));
            t.row(cells);
        }
        let mut sub = c.tf(
            "grades.sub",
            &[
                ("column", st(g, "column").unwrap_or("").to_string()),
                ("mode", mode_label(c, st(g, "mode").unwrap_or(""))),
                ("customers", int(fz(g, "customers"))),
            ],
        );
        if let Some(u) = f(g, "ungraded").filter(|u| *u > 0.0) {
            sub.push_str(" · ");
            sub.push_str(&c.tf("grades.ungraded", &[("v", int(u))]));
        }
        sec.cards.push(
            Card::new(c.t_or(&format!("scheme.{scheme}"), scheme), 12)
                .sub(sub)
                .chart(
                    c.chart_id(&format!("grade-{}", sec.cards.len())),
                    230,
                    option,
                )
                .table(t)
                .json(),
        );
    }
    let skipped = arr(c.s, "skipped_presets");
    if !skipped.is_empty() {
        let names: Vec<String> = skipped
            .iter()
            .map(|v| {
                let s = text_of(v);
                s.split_once(':')
                    .map_or(s.clone(), |(a, _)| a.trim().to_string())
            })
            .collect();
        sec.notes
            .push(c.tf("grades.skipped", &[("v", names.join(", "))]));
        for v in skipped {
            sec.notes.push(truncate(&text_of(v), 180));
        }
    }
    if sec.cards.is_empty() && !sec.notes.is_empty() {
        sec.lead.push(c.t("grades.none"));
    }
    sec
}

/// Rough width in pixels of the widest axis label at ECharts' default 12 px font: a CJK
/// character is about as wide as the font size, a Latin one a little over half of it.
fn widest_label(labels: &[String]) -> f64 {
    labels
        .iter()
        .map(|l| {
            l.chars()
                .map(|c| if c.is_ascii() { 7.0 } else { 12.0 })
                .sum::<f64>()
        })
        .fold(0.0, f64::max)
}

#[allow(clippy::too_many_arguments)]
fn heatmap(
    xs: Vec<String>,
    ys: Vec<String>,
    data: Vec<Value>,
    max: f64,
    x_name: String,
    y_name: String,
    label_fmt: Option<&str>,
) -> Value {
    let mut label = json!({"show": true, "fontSize": 11});
    if let Some(fm) = label_fmt {
        label["formatter"] = json!(fm);
    }
    // the y-axis name sits left of the widest label, not on top of it
    let y_gap = (widest_label(&ys) + 20.0).max(40.0);
    opt(json!({
        "tooltip": {"position": "top"},
        "grid": {"left": 30, "right": 64, "top": 12, "bottom": 30, "containLabel": true},
        "xAxis": {"type": "category", "data": xs, "name": x_name, "nameLocation": "middle", "nameGap": 26, "splitArea": {"show": true}},
        "yAxis": {"type": "category", "data": ys, "name": y_name, "nameLocation": "middle", "nameGap": y_gap, "nameRotate": 90, "splitArea": {"show": true}},
        "visualMap": {"min": 0, "max": if max.is_finite() && max > 0.0 { round(max, 2) } else { 1.0 },
                      "calculable": true, "orient": "vertical", "right": 0, "top": "middle",
                      "itemWidth": 12, "itemHeight": 140, "inRange": {"color": HEAT}, "textStyle": {"fontSize": 11}},
        "series": [{"type": "heatmap", "data": data, "label": label,
                    "emphasis": {"itemStyle": {"borderColor": "#333", "borderWidth": 1}}}],
        "textStyle": {"fontSize": 12},
    }))
}

fn rfm(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "rfm");
    let Some(r) = get(c.s, &["rfm"]) else {
        return sec;
    };
    if let Some(g) = get(r, &["rf_grid"]) {
        let rb = f(g, "r_bins").unwrap_or(5.0) as usize;
        let fb = f(g, "f_bins").unwrap_or(5.0) as usize;
        let cust = arr(g, "customers");
        let mm = arr(g, "mean_monetary");
        let xs: Vec<String> = (1..=fb).map(|i| format!("F{i}")).collect();
        let ys: Vec<String> = (1..=rb).map(|i| format!("R{i}")).collect();
        for (kind, grid_v, d) in [("customers", cust, 0usize), ("mean_monetary", mm, 2)] {
            let mut data = Vec::new();
            let mut max = 0.0f64;
            let mut t = Table::new(
                std::iter::once((c.t("rfm.r_score"), false))
                    .chain(xs.iter().map(|x| (x.clone(), true)))
                    .collect(),
            )
            .fallback();
            for ri in (0..rb).rev() {
                let row = grid_v.get(ri).and_then(Value::as_array);
                let mut cells = vec![json!(ys[ri])];
                for fi in 0..fb {
                    let v = row.and_then(|r| r.get(fi)).and_then(Value::as_f64);
                    if let Some(v) = v {
                        max = max.max(v);
                        data.push(json!([fi, ri, num_val(v, 2)]));
                    } else {
                        data.push(json!([fi, ri, "-"]));
                    }
                    cells.push(c_opt_num(v, d));
                }
                t.row(cells);
            }
            let option = heatmap(
                xs.clone(),
                ys.clone(),
                data,
                max,
                c.t("rfm.f_score"),
                c.t("rfm.r_score"),
                if d == 0 { None } else { Some("{@[2]}") },
            );
            sec.cards.push(
                Card::new(c.t(&format!("rfm.heat_{kind}")), 6)
                    .sub(c.t("rfm.heat_sub"))
                    .chart(c.chart_id(&format!("rf-{kind}")), 340, option)
                    .table(t)
                    .json(),
            );
        }
    }
    for sc in arr(r, "schemes") {
        let name = st(sc, "name").unwrap_or("");
        let segs = arr(sc, "segments");
        if segs.is_empty() {
            continue;
        }
        let cats: Vec<String> = segs
            .iter()
            .map(|s| {
                c.loc(s, "")
                    .unwrap_or_else(|| st(s, "id").unwrap_or("").into())
            })
            .collect();
        let option = share_bars(
            &cats,
            vec![
                (
                    c.t("col.share"),
                    segs.iter().map(|s| fz(s, "share")).collect(),
                ),
                (
                    c.t("col.revenue_share"),
                    segs.iter().map(|s| fz(s, "revenue_share")).collect(),
                ),
            ],
            true,
        );
        let has_action = segs.iter().any(|s| c.action(s).is_some());
        let mut cols = vec![
            (c.t("col.segment"), false),
            (c.t("col.customers"), true),
            (c.t("col.share"), true),
            (c.t("col.revenue"), true),
            (c.t("col.revenue_share"), true),
            (c.t("col.mean_recency_days"), true),
            (c.t("col.mean_orders"), true),
            (c.t("col.mean_monetary"), true),
        ];
        if has_action {
            cols.push((c.t("col.action"), false));
        }
        let mut t = Table::new(cols);
        for (s, cat) in segs.iter().zip(&cats) {
            let mut cells = vec![
                json!(cat),
                c_int(fz(s, "customers")),
                c_share(fz(s, "share")),
                c_money(fz(s, "revenue")),
                c_share(fz(s, "revenue_share")),
                c_opt_num(f(s, "mean_recency_days"), 1),
                c_opt_num(f(s, "mean_frequency"), 2),
                c_opt_num(f(s, "mean_monetary"), 2),
            ];
            if has_action {
                cells.push(json!(c.action(s).unwrap_or_else(|| "–".into())));
            }
            t.row(cells);
        }
        let notes: Vec<String> = arr(sc, "notes").iter().map(text_of).collect();
        let h = (segs.len() as u32 * 30 + 70).max(220);
        sec.cards.push(
            Card::new(c.t_or(&format!("scheme.{name}"), name), 12)
                .split()
                .sub(c.t_or(&format!("scheme_sub.{name}"), ""))
                .chart(c.chart_id(&format!("rfm-{name}")), h, option)
                .table(t)
                .text(notes)
                .json(),
        );
    }
    if let Some(th) = get(r, &["thresholds"]) {
        let mut t = Table::new(vec![
            (c.t("rfm.metric"), false),
            (c.t("rfm.column"), false),
            (c.t("rfm.method"), false),
            (c.t("rfm.cuts"), false),
            (c.t("rfm.level_counts"), false),
        ]);
        for m in ["recency", "frequency", "monetary"] {
            let Some(x) = get(th, &[m]) else { continue };
            let cuts: Vec<String> = arr(x, "cuts")
                .iter()
                .map(|v| v.as_f64().map_or_else(|| text_of(v), |n| num(n, 2)))
                .collect();
            let counts: Vec<String> = get(r, &["level_counts", m])
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .enumerate()
                        .map(|(i, v)| format!("{}:{}", i + 1, int(v.as_f64().unwrap_or(0.0))))
                        .collect()
                })
                .unwrap_or_default();
            let col = st(x, "column").unwrap_or("");
            t.row(vec![
                json!(c.t(&format!("rfm.{m}"))),
                json!(c.col(col)),
                json!(c.t_or(
                    &format!("method.{}", st(x, "method").unwrap_or("")),
                    st(x, "method").unwrap_or("")
                )),
                json!(cuts.join(" | ")),
                json!(counts.join("  ")),
            ]);
        }
        let mut lines = Vec::new();
        if let Some(cn) = get(th, &["cn8"]) {
            lines.push(c.tf(
                "rfm.cn8_ref",
                &[
                    ("r", num(fz(cn, "r"), 1)),
                    ("f", num(fz(cn, "f"), 2)),
                    ("m", num(fz(cn, "m"), 2)),
                ],
            ));
        }
        sec.cards.push(
            Card::new(c.t("rfm.thresholds"), 12)
                .table(t)
                .text(lines)
                .json(),
        );
    }
    for n in arr(r, "notes") {
        let s = st(n, "reason").map_or_else(|| text_of(n), str::to_string);
        sec.notes.push(s);
    }
    sec
}

fn param_table(c: &Ctx, fit: &Value) -> Table {
    let mut t = Table::new(vec![
        (c.t("fit.param"), false),
        (c.t("fit.estimate"), true),
        (c.t("fit.std_error"), true),
    ]);
    let names = arr(fit, "param_names");
    let params = arr(fit, "params");
    let ses = arr(fit, "std_errors");
    for (i, n) in names.iter().enumerate() {
        t.row(vec![
            json!(text_of(n)),
            c_opt_num(params.get(i).and_then(Value::as_f64), 4),
            c_opt_num(ses.get(i).and_then(Value::as_f64), 4),
        ]);
    }
    t
}

fn fit_line(c: &Ctx, fit: &Value) -> String {
    let model = st(fit, "model").unwrap_or("");
    c.tf(
        "fit.line",
        &[
            ("model", c.t_or(&format!("model.{model}"), model)),
            ("ll", num(fz(fit, "log_likelihood"), 1)),
            ("n", int(fz(fit, "n_customers"))),
            ("iter", int(fz(fit, "iterations"))),
            (
                "conv",
                c.t(
                    if fit.get("converged").and_then(Value::as_bool) == Some(true) {
                        "yes"
                    } else {
                        "no"
                    },
                ),
            ),
        ],
    )
}

/// A generic histogram card from an array of `{label|bin|from..to, customers|count}` objects.
fn hist_card(c: &Ctx, title: String, rows: &[Value], id: &str, span: u8) -> Option<Value> {
    let label_of = |r: &Value| -> Option<String> {
        for k in [
            "label", "bin", "bucket", "range", "grade", "category", "value", "name", "k",
        ] {
            if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
                return Some(text_of(v));
            }
        }
        match (
            r.get("from").and_then(Value::as_f64),
            r.get("to").and_then(Value::as_f64),
        ) {
            (Some(a), Some(b)) => Some(format!("{}–{}", num(a, 0), num(b, 0))),
            (Some(a), None) => Some(format!("≥{}", num(a, 0))),
            _ => None,
        }
    };
    let count_of = |r: &Value| -> Option<f64> {
        ["customers", "count", "orders", "n"]
            .iter()
            .find_map(|k| f(r, k))
    };
    let mut cats = Vec::new();
    let mut vals = Vec::new();
    for r in rows {
        if let (Some(l), Some(v)) = (label_of(r), count_of(r)) {
            cats.push(l);
            vals.push(v);
        }
    }
    if cats.is_empty() {
        return None;
    }
    let mut t = Table::new(vec![(c.t("col.bin"), false), (c.t("col.count"), true)]).fallback();
    for (l, v) in cats.iter().zip(&vals) {
        t.row(vec![json!(l), c_int(*v)]);
    }
    let option = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": grid(),
        "xAxis": {"type": "category", "data": cats},
        "yAxis": {"type": "value"},
        "series": [{"type": "bar", "name": c.t("col.count"), "data": vals, "barMaxWidth": 36}],
    }));
    Some(
        Card::new(title, span)
            .chart(c.chart_id(id), 280, option)
            .table(t)
            .json(),
    )
}

fn value(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "value");
    let s = c.s;
    if let Some(clv) = get(s, &["clv"]) {
        let months = get(clv, &["options", "months"])
            .and_then(Value::as_f64)
            .unwrap_or(12.0);
        sec.kpis.push(kpi(
            c.t("clv.total"),
            c.money_k(fz(clv, "clv_total")),
            c.tf("clv.horizon", &[("v", int(months))]),
        ));
        sec.kpis.push(kpi(
            c.t("clv.mean"),
            num(fz(clv, "clv_mean"), 2),
            c.tf("clv.median", &[("v", num(fz(clv, "clv_median"), 2))]),
        ));
        sec.kpis.push(kpi(
            c.t("clv.expected"),
            int(fz(clv, "expected_purchases_total")),
            c.tf("clv.horizon", &[("v", int(months))]),
        ));
        sec.kpis.push(kpi(
            c.t("clv.p_alive"),
            pct(fz(clv, "p_alive_mean")),
            c.t("clv.p_alive_sub"),
        ));
    } else if let Some(e) = get(s, &["clv_error"]) {
        sec.notes
            .push(c.tf("clv.error", &[("v", truncate(&text_of(e), 200))]));
    }
    if let Some(vt) = get(s, &["value_tiers"]) {
        let pts = arr(vt, "pareto");
        if !pts.is_empty() {
            let data: Vec<Value> = pts
                .iter()
                .map(|p| json!([pct_val(fz(p, "customers")), pct_val(fz(p, "value"))]))
                .collect();
            let cross = pts
                .iter()
                .find(|p| fz(p, "value") >= 0.8)
                .map(|p| fz(p, "customers"));
            let mut mark = vec![json!({"yAxis": 80, "name": "80%",
                "label": {"formatter": "80%", "position": "insideStartTop"}})];
            if let Some(x) = cross {
                mark.push(json!({"xAxis": round(x * 100.0, 2),
                    "label": {"formatter": pct(x), "position": "insideEndTop"}}));
            }
            let option = opt(json!({
                "tooltip": {"trigger": "axis"},
                "grid": {"left": 12, "right": 24, "top": 30, "bottom": 30, "containLabel": true},
                "xAxis": {"type": "value", "min": 0, "max": 100, "name": c.t("pareto.x"), "nameLocation": "middle", "nameGap": 24, "axisLabel": {"formatter": "{value}%"}},
                "yAxis": {"type": "value", "min": 0, "max": 100, "name": c.t("pareto.y"), "nameTextStyle": {"align": "left"}, "axisLabel": {"formatter": "{value}%"}},
                "series": [{"type": "line", "name": c.t("pareto.y"), "data": data, "showSymbol": false,
                            "areaStyle": {"opacity": 0.12}, "lineStyle": {"width": 2.5},
                            "markLine": {"symbol": "none", "lineStyle": {"type": "dashed", "color": "#eb3b5a"}, "data": mark}}],
            }));
            let mut t =
                Table::new(vec![(c.t("pareto.x"), true), (c.t("pareto.y"), true)]).fallback();
            let step = (pts.len() / 10).max(1);
            for (i, p) in pts.iter().enumerate() {
                if i % step == 0 || i + 1 == pts.len() {
                    t.row(vec![c_pct(fz(p, "customers")), c_pct(fz(p, "value"))]);
                }
            }
            let sub = cross
                .map(|x| c.tf("pareto.sub", &[("v", pct(x))]))
                .unwrap_or_default();
            sec.cards.push(
                Card::new(c.t("pareto.title"), 6)
                    .sub(sub)
                    .chart(c.chart_id("pareto"), 320, option)
                    .table(t)
                    .json(),
            );
        }
        for kind in ["abc", "hml"] {
            let tiers = arr(vt, kind);
            if tiers.is_empty() {
                continue;
            }
            let cats: Vec<String> = tiers
                .iter()
                .map(|x| {
                    let id = st(x, "tier").unwrap_or("");
                    c.t_or(&format!("tier.{kind}.{id}"), id)
                })
                .collect();
            let option = share_bars(
                &cats,
                vec![
                    (
                        c.t("col.share"),
                        tiers.iter().map(|x| fz(x, "customer_share")).collect(),
                    ),
                    (
                        c.t("col.value_share"),
                        tiers.iter().map(|x| fz(x, "value_share")).collect(),
                    ),
                ],
                false,
            );
            let mut t = Table::new(vec![
                (c.t("col.tier"), false),
                (c.t("col.customers"), true),
                (c.t("col.share"), true),
                (c.t("col.value"), true),
                (c.t("col.value_share"), true),
            ]);
            for (x, cat) in tiers.iter().zip(&cats) {
                t.row(vec![
                    json!(cat),
                    c_int(fz(x, "customers")),
                    c_share(fz(x, "customer_share")),
                    c_money(fz(x, "value")),
                    c_share(fz(x, "value_share")),
                ]);
            }
            let col = st(vt, "column").unwrap_or("monetary");
            sec.cards.push(
                Card::new(c.t(&format!("tiers.{kind}")), 6)
                    .sub(c.tf(&format!("tiers.{kind}_sub"), &[("col", c.col(col))]))
                    .chart(c.chart_id(kind), 220, option)
                    .table(t)
                    .json(),
            );
        }
    }
    if let Some(clv) = get(s, &["clv"]) {
        if let Some(card) = clv_distribution_card(c, arr(clv, "clv_distribution")) {
            sec.cards.push(card);
        } else if let Some(rows) = get(clv, &["distribution"])
            .or_else(|| get(clv, &["histogram"]))
            .and_then(Value::as_array)
            && let Some(card) = hist_card(c, c.t("clv.distribution"), rows, "clv-dist", 6)
        {
            sec.cards.push(card);
        }
        let mut lines = Vec::new();
        let mut t = Table::new(vec![
            (c.t("fit.param"), false),
            (c.t("fit.estimate"), true),
            (c.t("fit.std_error"), true),
        ]);
        if let Some(m) = get(clv, &["model"]) {
            t = param_table(c, m);
            lines.push(fit_line(c, m));
        }
        if let Some(sp) = get(clv, &["spend", "fit"]) {
            for r in param_table(c, sp).rows {
                t.rows.push(r);
            }
            lines.push(fit_line(c, sp));
            if let Some(sp2) = get(clv, &["spend"]) {
                lines.push(c.tf(
                    "fit.spend_used",
                    &[
                        ("used", int(fz(sp2, "used"))),
                        ("no_repeat", int(fz(sp2, "no_repeat"))),
                    ],
                ));
            }
        }
        if let Some(o) = get(clv, &["options"]) {
            lines.push(c.tf(
                "fit.options",
                &[
                    ("months", int(fz(o, "months"))),
                    ("disc", pct(fz(o, "monthly_discount"))),
                    (
                        "unit",
                        c.t_or(
                            &format!("unit.{}", st(clv, "unit").unwrap_or("")),
                            st(clv, "unit").unwrap_or(""),
                        ),
                    ),
                ],
            ));
        }
        sec.cards
            .push(Card::new(c.t("fit.title"), 6).table(t).text(lines).json());
    }
    if let Some(top) = c
        .extra(&c.x.top_customers, "top_customers")
        .and_then(Value::as_array)
        && let Some(first) = top.first().and_then(Value::as_object)
    {
        let pref = [
            "customer_id",
            "monetary",
            "orders",
            "recency_days",
            "avg_order_value",
            "clv",
            "p_alive",
            "expected_purchases_12m",
            "segment_cn8",
            "rfm_segment",
            "lifecycle_stage",
            "value_tier",
            "cluster_name",
        ];
        let mut keys: Vec<String> = pref
            .iter()
            .filter(|k| first.contains_key(**k))
            .map(|k| (*k).to_string())
            .collect();
        for k in first.keys() {
            if !keys.contains(k) && keys.len() < 12 {
                keys.push(k.clone());
            }
        }
        let mut t = Table::new(
            std::iter::once((c.t("col.rank"), true))
                .chain(keys.iter().map(|k| {
                    let numeric = first.get(k).is_some_and(Value::is_number);
                    (c.col(k), numeric)
                }))
                .collect(),
        );
        for (i, row) in top.iter().take(100).enumerate() {
            let mut cells = vec![c_int((i + 1) as f64)];
            for k in &keys {
                let v = row.get(k).unwrap_or(&Value::Null);
                cells.push(match v {
                    Value::Number(n) => {
                        let x = n.as_f64().unwrap_or(f64::NAN);
                        if k == "p_alive" || k.ends_with("_share") {
                            c_pct(x)
                        } else if n.is_f64() {
                            c_num(x, 2)
                        } else {
                            c_int(x)
                        }
                    }
                    other => json!(text_of(other)),
                });
            }
            t.row(cells);
        }
        sec.cards.push(
            Card::new(c.t("top.title"), 12)
                .sub(c.tf("top.sub", &[("v", int(top.len().min(100) as f64))]))
                .table(t)
                .json(),
        );
    }
    sec
}

fn validation_cards(c: &Ctx, v: &Value, sec: &mut Section) {
    let groups = arr(v, "by_frequency");
    if !groups.is_empty() {
        let cats: Vec<String> = groups
            .iter()
            .map(|g| g.get("frequency").map(text_of).unwrap_or_default())
            .collect();
        let series =
            |k: &str| -> Vec<Value> { groups.iter().map(|g| num_val(fz(g, k), 3)).collect() };
        let option = opt(json!({
            "tooltip": {"trigger": "axis"},
            "legend": legend(), "grid": grid(),
            "xAxis": {"type": "category", "data": cats},
            "yAxis": {"type": "value", "name": c.t("val.mean_purchases"), "nameTextStyle": {"align": "left"}},
            "series": [
                {"type": "bar", "name": c.t("val.actual"), "data": series("mean_actual"), "barMaxWidth": 22},
                {"type": "bar", "name": c.t("val.predicted"), "data": series("mean_predicted"), "barMaxWidth": 22},
                {"type": "line", "name": c.t("val.baseline"), "data": series("mean_baseline")},
            ],
        }));
        let mut t = Table::new(vec![
            (c.t("val.freq"), false),
            (c.t("col.customers"), true),
            (c.t("val.actual"), true),
            (c.t("val.predicted"), true),
            (c.t("val.baseline"), true),
        ]);
        for (g, cat) in groups.iter().zip(&cats) {
            t.row(vec![
                json!(cat),
                c_int(fz(g, "n")),
                c_num(fz(g, "mean_actual"), 3),
                c_num(fz(g, "mean_predicted"), 3),
                c_num(fz(g, "mean_baseline"), 3),
            ]);
        }
        let mut lines = Vec::new();
        for who in ["model", "baseline"] {
            if let Some(e) = get(v, &[who]) {
                lines.push(c.tf(
                    &format!("val.err_{who}"),
                    &[
                        ("mae", num(fz(e, "mae"), 3)),
                        ("rmse", num(fz(e, "rmse"), 3)),
                        ("pred", num(fz(e, "sum_predicted"), 0)),
                        ("act", num(fz(e, "sum_actual"), 0)),
                    ],
                ));
            }
        }
        let sub = f(v, "duration")
            .map(|d| c.tf("val.sub", &[("v", num(d, 1))]))
            .unwrap_or_default();
        sec.cards.push(
            Card::new(c.t("val.title"), 6)
                .sub(sub)
                .chart(c.chart_id("holdout"), 300, option)
                .table(t)
                .text(lines)
                .json(),
        );
    }
    let track = arr(v, "tracking");
    if !track.is_empty() {
        let cats: Vec<String> = track
            .iter()
            .map(|p| {
                ["period", "date", "week", "t"]
                    .iter()
                    .find_map(|k| p.get(*k).filter(|x| !x.is_null()).map(text_of))
                    .unwrap_or_default()
            })
            .collect();
        let ser = |k: &str| -> Vec<Value> { track.iter().map(|p| num_val(fz(p, k), 3)).collect() };
        let mut mark = json!(null);
        if let Some(end) = get(v, &["calibration_end"]) {
            mark = json!({"symbol": "none", "lineStyle": {"type": "dashed", "color": "#888"},
                          "data": [{"xAxis": text_of(end), "label": {"formatter": c.t("val.cal_end")}}]});
        }
        let option = opt(json!({
            "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
            "xAxis": {"type": "category", "data": cats},
            "yAxis": {"type": "value"},
            "series": [
                {"type": "line", "name": c.t("val.actual"), "data": ser("actual"), "showSymbol": false, "markLine": mark},
                {"type": "line", "name": c.t("val.predicted"), "data": ser("predicted"), "showSymbol": false, "lineStyle": {"type": "dashed"}},
            ],
        }));
        let mut t = Table::new(vec![
            (c.t("val.period"), false),
            (c.t("val.actual"), true),
            (c.t("val.predicted"), true),
        ])
        .fallback();
        for (p, cat) in track.iter().zip(&cats) {
            t.row(vec![
                json!(cat),
                c_num(fz(p, "actual"), 1),
                c_num(fz(p, "predicted"), 1),
            ]);
        }
        sec.cards.push(
            Card::new(c.t("val.tracking"), 6)
                .chart(c.chart_id("tracking"), 300, option)
                .table(t)
                .json(),
        );
    }
}

fn clusters(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "clusters");
    let Some(cl) = get(c.s, &["clusters"]) else {
        if let Some(e) = get(c.s, &["cluster_error"]) {
            sec.notes
                .push(c.tf("cl.error", &[("v", truncate(&text_of(e), 200))]));
        }
        return sec;
    };
    let model = get(cl, &["model"]).unwrap_or(&Value::Null);
    let feats: Vec<String> = arr(model, "features")
        .iter()
        .map(|x| st(x, "column").unwrap_or("").to_string())
        .collect();
    let chosen_k = f(model, "k");
    if let Some(k) = chosen_k {
        let fl: Vec<String> = arr(model, "features")
            .iter()
            .map(|x| {
                let col = c.col(st(x, "column").unwrap_or(""));
                match st(x, "transform") {
                    Some(t) if t != "none" => format!("{col} ({t})"),
                    _ => col,
                }
            })
            .collect();
        sec.lead.push(c.tf(
            "cl.lead",
            &[
                ("k", int(k)),
                ("features", fl.join(", ")),
                ("seed", int(fz(model, "seed"))),
            ],
        ));
    }
    let ks = arr(cl, "k_scores");
    if !ks.is_empty() {
        let xs: Vec<String> = ks.iter().map(|k| int(fz(k, "k"))).collect();
        let chosen_idx = chosen_k.and_then(|k| ks.iter().position(|x| f(x, "k") == Some(k)));
        let mark = chosen_idx.map_or(json!(null), |i| {
            json!({"symbol": "none", "lineStyle": {"type": "dashed", "color": "#eb3b5a"},
                   "data": [{"xAxis": xs[i].clone(), "label": {"formatter": c.t("cl.chosen")}}]})
        });
        let option = opt(json!({
            "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
            "xAxis": {"type": "category", "data": xs},
            "yAxis": [{"type": "value", "name": c.t("cl.inertia"), "scale": true},
                      {"type": "value", "name": c.t("cl.silhouette"), "scale": true, "splitLine": {"show": false}}],
            "series": [
                {"type": "line", "name": c.t("cl.inertia"), "data": ks.iter().map(|k| num_val(fz(k, "inertia"), 1)).collect::<Vec<_>>(), "markLine": mark},
                {"type": "line", "name": c.t("cl.silhouette"), "yAxisIndex": 1, "data": ks.iter().map(|k| num_val(fz(k, "silhouette"), 4)).collect::<Vec<_>>()},
            ],
        }));
        let mut t = Table::new(vec![
            ("k".to_string(), true),
            (c.t("cl.inertia"), true),
            (c.t("cl.silhouette"), true),
            (c.t("cl.ch"), true),
            (c.t("cl.db"), true),
            (c.t("cl.smallest"), true),
        ])
        .fallback();
        for k in ks {
            t.row(vec![
                c_int(fz(k, "k")),
                c_num(fz(k, "inertia"), 1),
                c_num(fz(k, "silhouette"), 3),
                c_num(fz(k, "calinski_harabasz"), 1),
                c_num(fz(k, "davies_bouldin"), 3),
                c_pct(fz(k, "smallest_share")),
            ]);
        }
        sec.cards.push(
            Card::new(c.t("cl.k_title"), 6)
                .sub(c.t("cl.k_sub"))
                .chart(c.chart_id("k-select"), 300, option)
                .table(t)
                .json(),
        );
    }
    let profiles = arr(cl, "profiles");
    if !profiles.is_empty() {
        let names: Vec<String> = profiles
            .iter()
            .map(|p| {
                let n = c.loc(p, "name").unwrap_or_default();
                format!("{}: {}", p.get("label").map(text_of).unwrap_or_default(), n)
            })
            .collect();
        if !feats.is_empty() {
            let maxes: Vec<f64> = (0..feats.len())
                .map(|i| {
                    profiles
                        .iter()
                        .filter_map(|p| arr(p, "centroid").get(i).and_then(Value::as_f64))
                        .fold(0.0f64, f64::max)
                })
                .collect();
            let ind: Vec<Value> = feats
                .iter()
                .zip(&maxes)
                .map(|(n, m)| json!({"name": c.col(n), "max": round(if *m > 0.0 { m * 1.1 } else { 1.0 }, 2), "min": 0}))
                .collect();
            let data: Vec<Value> = profiles
                .iter()
                .zip(&names)
                .map(|(p, n)| {
                    let v: Vec<Value> = arr(p, "centroid")
                        .iter()
                        .map(|x| num_val(x.as_f64().unwrap_or(f64::NAN), 2))
                        .collect();
                    json!({"name": n, "value": v, "areaStyle": {"opacity": 0.12}})
                })
                .collect();
            let option = opt(json!({
                "tooltip": {"trigger": "item"}, "legend": {"bottom": 0, "type": "scroll"},
                "radar": {"indicator": ind, "radius": "62%", "center": ["50%", "48%"], "axisName": {"color": "#4b5563"}},
                "series": [{"type": "radar", "data": data}],
            }));
            let mut t = Table::new(
                std::iter::once((c.t("col.cluster"), false))
                    .chain(feats.iter().map(|n| (c.col(n), true)))
                    .collect(),
            )
            .fallback();
            for (p, n) in profiles.iter().zip(&names) {
                let mut cells = vec![json!(n)];
                for i in 0..feats.len() {
                    cells.push(c_opt_num(
                        arr(p, "centroid").get(i).and_then(Value::as_f64),
                        2,
                    ));
                }
                t.row(cells);
            }
            sec.cards.push(
                Card::new(c.t("cl.radar"), 6)
                    .sub(c.t("cl.radar_sub"))
                    .chart(c.chart_id("radar"), 300, option)
                    .table(t)
                    .json(),
            );
        }
        let stat_cols: Vec<String> = arr(&profiles[0], "stats")
            .iter()
            .map(|x| st(x, "column").unwrap_or("").to_string())
            .collect();
        let mut cols = vec![
            (c.t("col.cluster"), false),
            (c.t("col.customers"), true),
            (c.t("col.share"), true),
            (c.t("col.revenue_share"), true),
        ];
        for sc in &stat_cols {
            cols.push((c.tf("cl.mean_of", &[("v", c.col(sc))]), true));
        }
        let has_action = profiles.iter().any(|p| c.action(p).is_some());
        if has_action {
            cols.push((c.t("col.action"), false));
        }
        let mut t = Table::new(cols);
        for (p, n) in profiles.iter().zip(&names) {
            let mut cells = vec![
                json!(n),
                c_int(fz(p, "size")),
                c_share(fz(p, "share")),
                c_share(fz(p, "revenue_share")),
            ];
            for sc in &stat_cols {
                let m = arr(p, "stats")
                    .iter()
                    .find(|x| st(x, "column") == Some(sc.as_str()))
                    .and_then(|x| f(x, "mean"));
                cells.push(c_opt_num(m, 2));
            }
            if has_action {
                cells.push(json!(c.action(p).unwrap_or_else(|| "–".into())));
            }
            t.row(cells);
        }
        sec.cards
            .push(Card::new(c.t("cl.profiles"), 12).table(t).json());
    }
    for n in arr(cl, "notes") {
        sec.notes.push(text_of(n));
    }
    sec
}

fn lifecycle(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "lifecycle");
    let Some(stg) = get(c.s, &["lifecycle", "stages"]) else {
        return sec;
    };
    let counts = arr(stg, "counts");
    if counts.is_empty() {
        return sec;
    }
    let names: Vec<String> = counts
        .iter()
        .map(|x| {
            c.loc(x, "name")
                .unwrap_or_else(|| st(x, "stage").unwrap_or("").into())
        })
        .collect();
    let data: Vec<Value> = counts
        .iter()
        .zip(&names)
        .map(|(x, n)| json!({"name": n, "value": fz(x, "count")}))
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "series": [{"type": "funnel", "sort": "descending", "data": data, "left": "8%", "right": "8%", "top": 16, "bottom": 16,
                    "minSize": "8%", "gap": 3, "label": {"show": true, "position": "inside", "formatter": "{b}  {c}"},
                    "itemStyle": {"borderColor": "#fff", "borderWidth": 1}}],
    }));
    let mut t = Table::new(vec![
        (c.t("col.stage"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
    ]);
    let has_action = counts.iter().any(|x| c.action(x).is_some());
    if has_action {
        t.cols.push(json!({"l": c.t("col.action"), "num": false}));
    }
    for (x, n) in counts.iter().zip(&names) {
        let mut cells = vec![json!(n), c_int(fz(x, "count")), c_share(fz(x, "share"))];
        if has_action {
            cells.push(json!(c.action(x).unwrap_or_else(|| "–".into())));
        }
        t.row(cells);
    }
    let mode = st(stg, "mode").unwrap_or("");
    let mut lines = vec![c.tf("lc.mode", &[("v", c.t_or(&format!("lcmode.{mode}"), mode))])];
    if let Some(fc) = f(stg, "fallback_cadence_days") {
        lines.push(c.tf(
            "lc.fallback",
            &[
                ("days", num(fc, 1)),
                ("n", int(f(stg, "on_fallback_cadence").unwrap_or(0.0))),
            ],
        ));
    }
    sec.cards.push(
        Card::new(c.t("lc.funnel"), 6)
            .chart(c.chart_id("funnel"), 320, option)
            .table(t.fallback())
            .json(),
    );
    let mut t2 = Table::new(vec![
        (c.t("col.stage"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
    ]);
    for (x, n) in counts.iter().zip(&names) {
        t2.row(vec![
            json!(n),
            c_int(fz(x, "count")),
            c_share(fz(x, "share")),
        ]);
    }
    let bars = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 12, "right": 40, "top": 8, "bottom": 8, "containLabel": true},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": names, "inverse": true},
        "series": [{"type": "bar", "name": c.t("col.customers"), "data": counts.iter().map(|x| fz(x, "count")).collect::<Vec<_>>(),
                    "barMaxWidth": 22, "colorBy": "data", "label": {"show": true, "position": "right"}}],
    }));
    sec.cards.push(
        Card::new(c.t("lc.sizes"), 6)
            .chart(c.chart_id("stages"), 200, bars)
            .table(t2)
            .text(lines)
            .json(),
    );
    sec
}

/// Localized labels for 7 weekdays or 12 months (the summary writes them in the analysis
/// language); the data's own labels when the count differs.
fn period_labels(c: &Ctx, rows: &[Value], key: &str) -> Vec<String> {
    let names: Vec<String> = c.t(key).split(',').map(str::to_string).collect();
    if names.len() == rows.len() {
        names
    } else {
        rows.iter()
            .map(|r| r.get("label").map(text_of).unwrap_or_default())
            .collect()
    }
}

fn dist_card(c: &Ctx, key: &str, d: &Value) -> Option<Value> {
    let bins = arr(d, "bins");
    if bins.is_empty() {
        return None;
    }
    let cats: Vec<String> = bins
        .iter()
        .map(|b| {
            b.get("label")
                .map(text_of)
                .unwrap_or_else(|| format!("{}–{}", num(fz(b, "lo"), 0), num(fz(b, "hi"), 0)))
        })
        .collect();
    let vals: Vec<Value> = bins
        .iter()
        .map(|b| {
            num_val(
                f(b, "customers")
                    .or_else(|| f(b, "count"))
                    .unwrap_or(f64::NAN),
                0,
            )
        })
        .collect();
    let mut t = Table::new(vec![
        (c.t("col.bin"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
    ])
    .fallback();
    for (b, l) in bins.iter().zip(&cats) {
        t.row(vec![
            json!(l),
            c_int(
                f(b, "customers")
                    .or_else(|| f(b, "count"))
                    .unwrap_or(f64::NAN),
            ),
            c_share(fz(b, "share")),
        ]);
    }
    let option = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 12, "right": 16, "top": 30, "bottom": 8, "containLabel": true},
        "xAxis": {"type": "category", "data": cats, "axisLabel": {"interval": 0, "rotate": if cats.len() > 8 { 35 } else { 0 }, "fontSize": 11}},
        "yAxis": {"type": "value", "name": c.t("col.customers"), "nameTextStyle": {"align": "left"}},
        "series": [{"type": "bar", "name": c.t("col.customers"), "data": vals, "barMaxWidth": 32}],
    }));
    let mut sub = String::new();
    if let Some(stt) = get(d, &["stats"]) {
        sub = c.tf(
            "beh.stats",
            &[
                ("mean", num(fz(stt, "mean"), 1)),
                ("median", num(fz(stt, "median"), 1)),
                ("p90", num(fz(stt, "p90"), 1)),
                ("max", num(fz(stt, "max"), 0)),
            ],
        );
    }
    let mut lines = vec![c.tf("beh.dist_n", &[("v", int(fz(d, "customers")))])];
    if let Some(m) = f(d, "missing").filter(|m| *m > 0.0) {
        lines[0].push_str(" · ");
        lines[0].push_str(&c.tf("beh.dist_missing", &[("v", int(m))]));
    }
    let title = c.t_or(&format!("beh.dist.{key}"), key);
    Some(
        Card::new(title, 4)
            .sub(sub)
            .chart(c.chart_id(&format!("beh-{key}")), 260, option)
            .table(t)
            .text(lines)
            .json(),
    )
}

/// The label of a grade column (`grade_behaviour`, `segment_cn8`, …) or a scheme name.
fn scheme_label(c: &Ctx, name: &str) -> String {
    if name == "lifecycle" || name == "lifecycle_stage" {
        return c.t("sec.lifecycle");
    }
    let base = name
        .strip_prefix("grade_")
        .or_else(|| name.strip_prefix("rfm_"))
        .or_else(|| name.strip_prefix("segment_"))
        .unwrap_or(name);
    let base = match base {
        "cluster_name" => "cluster",
        other => other,
    };
    i18n::lookup(c.lang, &format!("scheme.{base}"))
        .map(str::to_string)
        .unwrap_or_else(|| c.col(name))
}

fn behaviour(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "behaviour");
    let Some(b) = c
        .extra(&c.x.behaviour, "behaviour")
        .and_then(Value::as_object)
    else {
        if let Some(e) = get(c.s, &["behaviour_error"]) {
            sec.notes.push(truncate(&text_of(e), 200));
        }
        return sec;
    };
    let bv = Value::Object(b.clone());
    // Distributions: orders per customer, order value, inter-purchase days.
    if let Some(ds) = get(&bv, &["distributions"]).and_then(Value::as_object) {
        let pref = [
            "orders",
            "avg_order_value",
            "order_value",
            "avg_interpurchase_days",
            "interpurchase_days",
        ];
        let mut keys: Vec<&str> = pref
            .iter()
            .copied()
            .filter(|k| ds.contains_key(*k))
            .collect();
        for k in ds.keys() {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        for k in keys {
            if let Some(card) = dist_card(c, k, &ds[k]) {
                sec.cards.push(card);
            }
        }
    }
    // Category shares.
    if let Some(cat) = get(&bv, &["categories"]) {
        let shares = arr(cat, "shares");
        if !shares.is_empty() {
            let names: Vec<String> = shares
                .iter()
                .map(|x| st(x, "category").unwrap_or("").to_string())
                .collect();
            let option = share_bars(
                &names,
                vec![
                    (
                        c.t("col.share"),
                        shares.iter().map(|x| fz(x, "customer_share")).collect(),
                    ),
                    (
                        c.t("col.revenue_share"),
                        shares.iter().map(|x| fz(x, "revenue_share")).collect(),
                    ),
                ],
                true,
            );
            let mut t = Table::new(vec![
                (c.t("beh.category"), false),
                (c.t("col.customers"), true),
                (c.t("col.share"), true),
                (c.t("tr.orders"), true),
                (c.t("col.revenue"), true),
                (c.t("col.revenue_share"), true),
            ])
            .fallback();
            for (x, n) in shares.iter().zip(&names) {
                t.row(vec![
                    json!(n),
                    c_int(fz(x, "customers")),
                    c_share(fz(x, "customer_share")),
                    c_int(fz(x, "orders")),
                    c_money(fz(x, "revenue")),
                    c_share(fz(x, "revenue_share")),
                ]);
            }
            let h = (shares.len() as u32 * 26 + 70).clamp(240, 640);
            sec.cards.push(
                Card::new(c.t("beh.categories_title"), 6)
                    .sub(c.tf(
                        "beh.categories_sub",
                        &[("v", int(fz(cat, "customers_with_categories")))],
                    ))
                    .chart(c.chart_id("beh-categories"), h, option)
                    .table(t)
                    .json(),
            );
        }
    }
    // Top categories per grade, for the first few grade columns.
    let tops = arr(&bv, "top_categories");
    if !tops.is_empty() {
        let mut t = Table::new(vec![
            (c.t("col.scheme"), false),
            (c.t("col.grade"), false),
            (c.t("col.customers"), true),
            (c.t("beh.top1"), false),
            (c.t("beh.top2"), false),
            (c.t("beh.top3"), false),
        ]);
        for tc in tops.iter().take(4) {
            let scheme = scheme_label(c, st(tc, "grade_column").unwrap_or(""));
            for g in arr(tc, "grades") {
                let mut cats: Vec<&Value> = arr(g, "categories").iter().collect();
                cats.sort_by(|a, b| {
                    fz(b, "revenue")
                        .partial_cmp(&fz(a, "revenue"))
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                let mut cells = vec![
                    json!(scheme),
                    json!(
                        g.get("grade")
                            .or_else(|| g.get("label"))
                            .map(text_of)
                            .unwrap_or_default()
                    ),
                    c_int(fz(g, "customers")),
                ];
                for i in 0..3 {
                    cells.push(json!(cats.get(i).map_or_else(
                        || "–".to_string(),
                        |x| format!(
                            "{} {}",
                            st(x, "category").unwrap_or(""),
                            pct(fz(x, "revenue_share"))
                        )
                    )));
                }
                t.row(cells);
            }
        }
        sec.cards.push(
            Card::new(c.t("beh.top_title"), 6)
                .sub(c.t("beh.top_sub"))
                .table(t)
                .json(),
        );
    }
    // Affinity: category pairs bought by the same customers.
    if let Some(a) = get(&bv, &["affinity"]) {
        let mut pairs: Vec<&Value> = arr(a, "pairs").iter().collect();
        pairs.sort_by(|x, y| {
            fz(y, "lift")
                .partial_cmp(&fz(x, "lift"))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        pairs.truncate(15);
        if !pairs.is_empty() {
            let names: Vec<String> = pairs
                .iter()
                .map(|p| {
                    format!(
                        "{} + {}",
                        st(p, "a").unwrap_or(""),
                        st(p, "b").unwrap_or("")
                    )
                })
                .collect();
            let top: Vec<Value> = pairs
                .iter()
                .take(10)
                .map(|p| num_val(fz(p, "lift"), 3))
                .collect();
            let option = opt(json!({
                "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
                "grid": {"left": 12, "right": 40, "top": 8, "bottom": 8, "containLabel": true},
                "xAxis": {"type": "value", "scale": true, "name": c.t("beh.lift"), "splitNumber": 4},
                "yAxis": {"type": "category", "data": names.iter().take(10).collect::<Vec<_>>(), "inverse": true},
                "series": [{"type": "bar", "name": c.t("beh.lift"), "data": top, "barMaxWidth": 18,
                            "label": {"show": true, "position": "right"},
                            "markLine": {"symbol": "none", "lineStyle": {"type": "dashed", "color": "#eb3b5a"}, "data": [{"xAxis": 1}], "label": {"formatter": "1"}}}],
            }));
            let mut t = Table::new(vec![
                (c.t("beh.pair"), false),
                (c.t("col.customers"), true),
                (c.t("beh.support"), true),
                (c.t("beh.conf_ab"), true),
                (c.t("beh.conf_ba"), true),
                (c.t("beh.lift"), true),
            ]);
            for (p, n) in pairs.iter().zip(&names) {
                t.row(vec![
                    json!(n),
                    c_int(fz(p, "customers")),
                    c_pct(fz(p, "support")),
                    c_pct(fz(p, "confidence_ab")),
                    c_pct(fz(p, "confidence_ba")),
                    c_num(fz(p, "lift"), 3),
                ]);
            }
            let mut lines = vec![c.tf(
                "beh.affinity_line",
                &[
                    (
                        "total",
                        int(f(a, "pairs_total").unwrap_or(pairs.len() as f64)),
                    ),
                    ("support", pct(fz(a, "min_support"))),
                    ("min", int(fz(a, "min_customers"))),
                ],
            )];
            let sugg: Vec<String> = arr(a, "suggestions")
                .iter()
                .take(5)
                .map(|s| {
                    format!(
                        "{} ({})",
                        st(s, "category").unwrap_or(""),
                        int(fz(s, "customers"))
                    )
                })
                .collect();
            if !sugg.is_empty() {
                lines.push(c.tf("beh.suggestions", &[("v", sugg.join(", "))]));
            }
            sec.cards.push(
                Card::new(c.t("beh.affinity_title"), 12)
                    .sub(c.t("beh.affinity_sub"))
                    .split()
                    .chart(c.chart_id("beh-affinity"), 340, option)
                    .table(t)
                    .text(lines)
                    .json(),
            );
        }
    }
    // Seasonality: weekday and month shares.
    if let Some(se) = get(&bv, &["seasonality"]) {
        for (key, names_key, peak_key) in [
            ("weekday", "season.weekdays", "peak_weekday"),
            ("month", "season.months", "peak_month"),
        ] {
            let rows = arr(se, key);
            if rows.is_empty() {
                continue;
            }
            let names = period_labels(c, rows, names_key);
            let option = share_bars(
                &names,
                vec![
                    (
                        c.t("beh.order_share"),
                        rows.iter().map(|x| fz(x, "order_share")).collect(),
                    ),
                    (
                        c.t("col.revenue_share"),
                        rows.iter().map(|x| fz(x, "revenue_share")).collect(),
                    ),
                ],
                false,
            );
            let mut t = Table::new(vec![
                (c.t(&format!("season.{key}")), false),
                (c.t("tr.orders"), true),
                (c.t("beh.order_share"), true),
                (c.t("col.revenue"), true),
                (c.t("col.revenue_share"), true),
            ])
            .fallback();
            for (x, n) in rows.iter().zip(&names) {
                t.row(vec![
                    json!(n),
                    c_int(fz(x, "orders")),
                    c_share(fz(x, "order_share")),
                    c_money(fz(x, "revenue")),
                    c_share(fz(x, "revenue_share")),
                ]);
            }
            let peak = st(se, peak_key).map(|p| {
                rows.iter()
                    .position(|r| st(r, "label") == Some(p))
                    .and_then(|i| names.get(i).cloned())
                    .unwrap_or_else(|| p.to_string())
            });
            sec.cards.push(
                Card::new(c.t(&format!("season.{key}_title")), 6)
                    .sub(
                        peak.map(|p| c.tf("season.peak", &[("v", p)]))
                            .unwrap_or_default(),
                    )
                    .chart(c.chart_id(&format!("beh-{key}")), 260, option)
                    .table(t)
                    .json(),
            );
        }
    }
    // One breakdown: a dimension (city first) × a grade column.
    let bds = arr(&bv, "breakdowns");
    let pick = ["city", "channel", "age", "gender"]
        .iter()
        .find_map(|d| bds.iter().find(|x| st(x, "dimension") == Some(*d)))
        .or_else(|| bds.first());
    if let Some(bd) = pick {
        let values = arr(bd, "values");
        let grades = arr(bd, "grades");
        let siv = arr(bd, "share_in_value");
        if !values.is_empty() && !grades.is_empty() {
            let vnames: Vec<String> = values
                .iter()
                .map(|v| v.get("label").map(text_of).unwrap_or_default())
                .collect();
            let gnames: Vec<String> = grades
                .iter()
                .map(|g| g.get("label").map(text_of).unwrap_or_default())
                .collect();
            let cell = |vi: usize, gi: usize| -> f64 {
                siv.get(vi)
                    .and_then(|r| r.get(gi))
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN)
            };
            let series: Vec<Value> = gnames
                .iter()
                .enumerate()
                .map(|(gi, g)| {
                    let d: Vec<Value> = (0..vnames.len()).map(|vi| pct_val(cell(vi, gi))).collect();
                    json!({"type": "bar", "name": g, "stack": "s", "data": d, "barMaxWidth": 26})
                })
                .collect();
            let option = opt(json!({
                "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "valueFormatter": "{value}%"},
                "legend": legend(), "grid": grid(),
                "xAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
                "yAxis": {"type": "category", "data": vnames, "inverse": true},
                "series": series,
            }));
            let mut cols = vec![
                (c.col(st(bd, "dimension").unwrap_or("")), false),
                (c.t("col.customers"), true),
                (c.t("col.share"), true),
                (c.t("col.revenue_share"), true),
            ];
            cols.extend(gnames.iter().map(|g| (g.clone(), true)));
            let mut t = Table::new(cols);
            for (vi, (v, n)) in values.iter().zip(&vnames).enumerate() {
                let mut cells = vec![
                    json!(n),
                    c_int(fz(v, "customers")),
                    c_share(fz(v, "customer_share")),
                    c_share(fz(v, "revenue_share")),
                ];
                for gi in 0..gnames.len() {
                    cells.push(c_pct(cell(vi, gi)));
                }
                t.row(cells);
            }
            let dim = st(bd, "dimension").unwrap_or("");
            let h = (vnames.len() as u32 * 28 + 80).clamp(220, 600);
            sec.cards.push(
                Card::new(
                    c.tf(
                        "beh.breakdown_title",
                        &[
                            ("dim", c.col(dim)),
                            (
                                "scheme",
                                scheme_label(c, st(bd, "grade_column").unwrap_or("")),
                            ),
                        ],
                    ),
                    12,
                )
                .sub(c.tf("beh.breakdown_sub", &[("v", int(bds.len() as f64))]))
                .chart(c.chart_id("beh-breakdown"), h, option)
                .table(t)
                .json(),
            );
        }
    }
    // Older shape: arrays of {label, customers}.
    for (k, v) in b {
        if let Some(rows) = v.as_array()
            && k != "breakdowns"
            && k != "top_categories"
            && k != "dimensions"
            && let Some(card) = hist_card(
                c,
                c.t_or(&format!("beh.{k}"), k),
                rows,
                &format!("beh-{k}"),
                6,
            )
        {
            sec.cards.push(card);
        }
    }
    sec
}

fn trends(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "trends");
    let rows = get(c.s, &["lifecycle", "trends"])
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if rows.is_empty() {
        return sec;
    }
    let months: Vec<String> = rows
        .iter()
        .map(|r| st(r, "month").unwrap_or("").to_string())
        .collect();
    let ser =
        |k: &str, d: i32| -> Vec<Value> { rows.iter().map(|r| num_val(fz(r, k), d)).collect() };
    let table = |cols: &[(&str, usize)]| -> Table {
        let mut t = Table::new(
            std::iter::once((c.t("tr.month"), false))
                .chain(cols.iter().map(|(k, _)| (c.t(&format!("tr.{k}")), true)))
                .collect(),
        )
        .fallback();
        for (r, m) in rows.iter().zip(&months) {
            let mut cells = vec![json!(m)];
            for (k, d) in cols {
                cells.push(if *k == "churn_rate" {
                    c_pct(fz(r, k))
                } else {
                    c_num(fz(r, k), *d)
                });
            }
            t.row(cells);
        }
        t
    };
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": months},
        "yAxis": [{"type": "value", "name": c.t("tr.revenue")},
                  {"type": "value", "name": c.t("tr.orders"), "splitLine": {"show": false}}],
        "series": [
            {"type": "bar", "name": c.t("tr.revenue"), "data": ser("revenue", 2), "barMaxWidth": 26, "itemStyle": {"opacity": 0.85}},
            {"type": "line", "name": c.t("tr.orders"), "yAxisIndex": 1, "data": ser("orders", 0), "smooth": true},
        ],
    }));
    sec.cards.push(
        Card::new(c.t("tr.revenue_title"), 12)
            .chart(c.chart_id("trend-revenue"), 320, option)
            .table(table(&[
                ("revenue", 2),
                ("orders", 0),
                ("avg_order_value", 2),
            ]))
            .json(),
    );
    let keys = ["active", "new", "returning", "reactivated", "churned"];
    let series: Vec<Value> = keys
        .iter()
        .map(|k| json!({"type": "line", "name": c.t(&format!("tr.{k}")), "data": ser(k, 0), "smooth": true, "showSymbol": false}))
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": months}, "yAxis": {"type": "value"}, "series": series,
    }));
    sec.cards.push(
        Card::new(c.t("tr.customers_title"), 6)
            .chart(c.chart_id("trend-customers"), 300, option)
            .table(table(&[
                ("active", 0),
                ("new", 0),
                ("returning", 0),
                ("reactivated", 0),
                ("churned", 0),
            ]))
            .json(),
    );
    let churn: Vec<Value> = rows.iter().map(|r| pct_val(fz(r, "churn_rate"))).collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": months},
        "yAxis": [{"type": "value", "name": c.t("tr.churn_rate"), "axisLabel": {"formatter": "{value}%"}},
                  {"type": "value", "name": c.t("tr.avg_order_value"), "splitLine": {"show": false}}],
        "series": [
            {"type": "line", "name": c.t("tr.churn_rate"), "data": churn, "smooth": true, "areaStyle": {"opacity": 0.1}},
            {"type": "line", "name": c.t("tr.avg_order_value"), "yAxisIndex": 1, "data": ser("avg_order_value", 2), "smooth": true},
        ],
    }));
    sec.cards.push(
        Card::new(c.t("tr.churn_title"), 6)
            .sub(c.t("tr.churn_sub"))
            .chart(c.chart_id("trend-churn"), 300, option)
            .table(table(&[("churn_rate", 1), ("avg_order_value", 2)]))
            .json(),
    );
    sec
}

fn cohorts(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "cohorts");
    let Some(co) = get(c.s, &["lifecycle", "cohorts"]) else {
        return sec;
    };
    let rows = arr(co, "rows");
    if rows.is_empty() {
        return sec;
    }
    let width = rows
        .iter()
        .map(|r| arr(r, "retention").len())
        .max()
        .unwrap_or(0);
    let xs: Vec<String> = (0..width).map(|i| format!("M{i}")).collect();
    let ys: Vec<String> = rows
        .iter()
        .map(|r| format!("{} ({})", st(r, "cohort").unwrap_or(""), int(fz(r, "size"))))
        .collect();
    let mut data = Vec::new();
    let mut max = 0.0f64;
    let mut t = Table::new(
        [(c.t("co.cohort"), false), (c.t("co.size"), true)]
            .into_iter()
            .chain(xs.iter().map(|x| (x.clone(), true)))
            .collect(),
    )
    .fallback();
    for (yi, r) in rows.iter().enumerate() {
        let ret = arr(r, "retention");
        let mut cells = vec![json!(st(r, "cohort").unwrap_or("")), c_int(fz(r, "size"))];
        for xi in 0..width {
            match ret.get(xi).and_then(Value::as_f64) {
                Some(v) => {
                    if xi > 0 {
                        max = max.max(v);
                    }
                    data.push(json!([xi, yi, round(v * 100.0, 1)]));
                    cells.push(cell_n(num(v * 100.0, 1), v));
                }
                None => cells.push(json!("")),
            }
        }
        t.row(cells);
    }
    let mut option = heatmap(
        xs,
        ys,
        data,
        (max * 100.0).max(1.0),
        c.t("co.months_since"),
        String::new(),
        None,
    );
    option["yAxis"]["inverse"] = json!(true);
    option["series"][0]["label"]["fontSize"] = json!(9);
    option["visualMap"]["formatter"] = json!("{value}%");
    let h = (rows.len() as u32 * 24 + 110).clamp(260, 900);
    sec.cards.push(
        Card::new(c.t("co.title"), 12)
            .sub(c.tf(
                "co.sub",
                &[("v", st(co, "through").unwrap_or("").to_string())],
            ))
            .chart(c.chart_id("cohorts"), h, option)
            .table(t)
            .json(),
    );
    sec
}

fn migration(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "migration");
    let Some(m) = c.extra(&c.x.migration, "migration") else {
        return sec;
    };
    for (key, label) in [
        ("old_as_of", "mig.old_as_of"),
        ("new_as_of", "mig.new_as_of"),
        ("in_both", "mig.in_both"),
        ("appeared", "mig.appeared"),
        ("gone", "mig.gone_count"),
    ] {
        if let Some(v) = get(m, &[key]) {
            let shown = v.as_f64().map_or_else(|| text_of(v), int);
            sec.kpis.push(kpi(c.t(label), shown, String::new()));
        }
    }
    // Lifecycle stage ids → their localized names (from the stage counts).
    let stage_names: Vec<(String, String)> = get(c.s, &["lifecycle", "stages"])
        .map(|stg| {
            arr(stg, "counts")
                .iter()
                .filter_map(|x| Some((st(x, "stage")?.to_string(), c.loc(x, "name")?)))
                .collect()
        })
        .unwrap_or_default();
    let fix = |s: &str| -> String {
        match s {
            "(new customer)" => c.t("mig.new"),
            "(gone)" => c.t("mig.gone"),
            other => stage_names
                .iter()
                .find(|(id, _)| id == other)
                .map_or_else(|| other.to_string(), |(_, n)| n.clone()),
        }
    };
    let all: Vec<&Value> = get(m, &["lifecycle"])
        .into_iter()
        .chain(arr(m, "schemes").iter())
        .collect();
    // Summary of every scheme; heatmaps for the first few that moved (lifecycle, RFM, value).
    if all.len() > 1 {
        let mut t = Table::new(vec![
            (c.t("col.scheme"), false),
            (c.t("mig.stayed"), true),
            (c.t("mig.moved"), true),
            (c.t("mig.moved_share"), true),
            ("PSI".to_string(), true),
            (c.t("mig.band"), false),
        ]);
        for mg in &all {
            let (stayed, moved) = (fz(mg, "stayed"), fz(mg, "moved"));
            let band = get(mg, &["drift", "band"]).map(text_of).unwrap_or_default();
            t.row(vec![
                json!(scheme_label(c, st(mg, "name").unwrap_or(""))),
                c_int(stayed),
                c_int(moved),
                c_share(if stayed + moved > 0.0 {
                    moved / (stayed + moved)
                } else {
                    f64::NAN
                }),
                c_opt_num(get(mg, &["drift", "psi"]).and_then(Value::as_f64), 3),
                json!(c.t_or(&format!("band.{band}"), &band)),
            ]);
        }
        sec.cards.push(
            Card::new(c.t("mig.summary"), 12)
                .sub(c.t("mig.summary_sub"))
                .table(t)
                .json(),
        );
    }
    let rank = |mg: &Value| -> usize {
        let name = st(mg, "name").unwrap_or("");
        [
            "lifecycle",
            "rfm_cn8",
            "cn8",
            "value_tier",
            "behaviour",
            "profit",
            "cluster",
        ]
        .iter()
        .position(|x| *x == name)
        .unwrap_or(99)
    };
    let mut migs: Vec<&Value> = all
        .iter()
        .copied()
        .filter(|mg| fz(mg, "moved") > 0.0 || all.len() == 1)
        .collect();
    migs.sort_by_key(|mg| rank(mg));
    migs.truncate(4);
    for (i, mg) in migs.iter().enumerate() {
        let rows: Vec<String> = arr(mg, "rows").iter().map(|v| fix(&text_of(v))).collect();
        let cols: Vec<String> = arr(mg, "columns")
            .iter()
            .map(|v| fix(&text_of(v)))
            .collect();
        let counts = arr(mg, "counts");
        if rows.is_empty() || cols.is_empty() {
            continue;
        }
        let mut data = Vec::new();
        let mut max = 0.0f64;
        let mut t = Table::new(
            std::iter::once((c.t("mig.from_to"), false))
                .chain(cols.iter().map(|x| (x.clone(), true)))
                .collect(),
        );
        for (ri, rname) in rows.iter().enumerate() {
            let row = counts.get(ri).and_then(Value::as_array);
            let mut cells = vec![json!(rname)];
            for ci in 0..cols.len() {
                let v = row
                    .and_then(|r| r.get(ci))
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                max = max.max(v);
                data.push(json!([ci, ri, v]));
                cells.push(c_int(v));
            }
            t.row(cells);
        }
        let mut option = heatmap(
            cols.clone(),
            rows.clone(),
            data,
            max,
            c.t("mig.to"),
            c.t("mig.from"),
            None,
        );
        option["yAxis"]["inverse"] = json!(true);
        option["xAxis"]["axisLabel"] = json!({"interval": 0, "rotate": 30});
        // labels turned 30° reach down half their width: the axis name goes below them
        option["xAxis"]["nameGap"] = json!((widest_label(&cols) * 0.5 + 28.0).max(26.0));
        option["grid"]["bottom"] = json!(40);
        let title = scheme_label(c, st(mg, "name").unwrap_or(""));
        let drift = get(mg, &["drift"]);
        let sub = c.tf(
            "mig.sub",
            &[
                ("stayed", int(fz(mg, "stayed"))),
                ("moved", int(fz(mg, "moved"))),
                (
                    "psi",
                    drift
                        .and_then(|d| f(d, "psi"))
                        .map_or_else(|| "–".into(), |p| num(p, 3)),
                ),
            ],
        );
        let h = (rows.len() as u32 * 30 + 120).clamp(260, 700);
        sec.cards.push(
            Card::new(title, 12)
                .sub(sub)
                .chart(c.chart_id(&format!("mig-{i}")), h, option)
                .table(t)
                .json(),
        );
    }
    let scores = arr(m, "scores");
    if !scores.is_empty() {
        let mut t = Table::new(vec![
            (c.t("mig.distribution"), false),
            ("PSI".to_string(), true),
            (c.t("mig.band"), false),
        ]);
        for d in scores {
            let band = st(d, "band").unwrap_or("");
            t.row(vec![
                json!(c.t_or(
                    &format!("mig.score.{}", st(d, "name").unwrap_or("")),
                    &c.col(st(d, "name").unwrap_or(""))
                )),
                c_opt_num(f(d, "psi"), 3),
                json!(c.t_or(&format!("band.{band}"), band)),
            ]);
        }
        sec.cards
            .push(Card::new(c.t("mig.drift"), 6).table(t).json());
    }
    sec
}

fn about(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "about");
    let s = c.s;
    let mut t = Table::new(vec![
        (c.t("about.item"), false),
        (c.t("about.value"), false),
    ]);
    for (k, v) in [
        ("about.tool", get(s, &["tool"])),
        ("about.as_of", get(s, &["as_of"])),
        ("about.config_hash", get(s, &["config_hash"])),
        ("about.time_unit", get(s, &["time_unit"])),
    ] {
        if let Some(v) = v {
            let shown = if k == "about.time_unit" {
                let u = text_of(v);
                c.t_or(&format!("unit.{u}"), &u)
            } else {
                text_of(v)
            };
            t.row(vec![json!(c.t(k)), json!(shown)]);
        }
    }
    if !t.rows.is_empty() {
        sec.cards
            .push(Card::new(c.t("about.run"), 6).table(t).json());
    }
    let cols: Vec<String> = arr(s, "columns")
        .iter()
        .filter_map(|x| st(x, "name"))
        .map(str::to_string)
        .collect();
    if !cols.is_empty() {
        let mut t = Table::new(vec![
            (c.t("about.column"), false),
            (c.t("about.meaning"), false),
        ]);
        for col in &cols {
            t.row(vec![json!(col), json!(c.t_or(&format!("col.{col}"), ""))]);
        }
        sec.cards.push(
            Card::new(c.t("about.columns"), 6)
                .sub(c.tf("about.columns_sub", &[("v", int(cols.len() as f64))]))
                .table(t)
                .json(),
        );
    }
    sec.lead.push(c.t("about.lead"));
    sec
}
/// CLV distribution: customers per CLV range (bars) and the CLV they hold (line).
fn clv_distribution_card(c: &Ctx, rows: &[Value]) -> Option<Value> {
    if rows.is_empty() {
        return None;
    }
    let n = rows.len();
    let cats: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if i + 1 == n && n > 1 {
                format!("≥{}", num(fz(r, "from"), 0))
            } else {
                format!("{}–{}", num(fz(r, "from"), 0), num(fz(r, "to"), 0))
            }
        })
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": cats, "axisLabel": {"interval": 0, "rotate": if n > 6 { 30 } else { 0 }}},
        "yAxis": [{"type": "value", "name": c.t("col.customers")},
                  {"type": "value", "name": c.t("clv.dist_value"), "splitLine": {"show": false}}],
        "series": [
            {"type": "bar", "name": c.t("col.customers"), "data": rows.iter().map(|r| num_val(fz(r, "customers"), 0)).collect::<Vec<_>>(), "barMaxWidth": 36},
            {"type": "line", "name": c.t("clv.dist_value"), "yAxisIndex": 1, "data": rows.iter().map(|r| num_val(fz(r, "clv"), 2)).collect::<Vec<_>>(), "smooth": true},
        ],
    }));
    let total: f64 = rows.iter().map(|r| f(r, "clv").unwrap_or(0.0)).sum();
    let mut t = Table::new(vec![
        (c.t("clv.range"), false),
        (c.t("col.customers"), true),
        (c.t("clv.dist_value"), true),
        (c.t("col.value_share"), true),
    ])
    .fallback();
    for (r, l) in rows.iter().zip(&cats) {
        t.row(vec![
            json!(l),
            c_int(fz(r, "customers")),
            c_money(fz(r, "clv")),
            c_share(if total > 0.0 {
                fz(r, "clv") / total
            } else {
                f64::NAN
            }),
        ]);
    }
    Some(
        Card::new(c.t("clv.distribution"), 6)
            .sub(c.t("clv.dist_sub"))
            .chart(c.chart_id("clv-dist"), 300, option)
            .table(t)
            .json(),
    )
}

fn validation(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "validation");
    let Some(v) = c.extra(&c.x.validation, "validation") else {
        return sec;
    };
    // `analyze --calibration-end` wraps the holdout report with its dates and fit.
    let r = get(v, &["report"]).unwrap_or(v);
    if let (Some(a), Some(b)) = (st(v, "calibration_end"), st(v, "observation_end")) {
        sec.kpis.push(kpi(
            c.t("val.kpi_window"),
            a.to_string(),
            c.tf("val.kpi_window_sub", &[("v", b.to_string())]),
        ));
    }
    if let Some(n) = f(v, "customers") {
        sec.kpis
            .push(kpi(c.t("val.kpi_customers"), int(n), String::new()));
    }
    let m = get(r, &["model"]);
    let bl = get(r, &["baseline"]);
    if let Some(m) = m {
        sec.kpis.push(kpi(
            c.t("val.kpi_mae"),
            num(fz(m, "mae"), 3),
            bl.map(|b| c.tf("val.kpi_vs_baseline", &[("v", num(fz(b, "mae"), 3))]))
                .unwrap_or_default(),
        ));
        sec.kpis.push(kpi(
            c.t("val.kpi_rmse"),
            num(fz(m, "rmse"), 3),
            bl.map(|b| c.tf("val.kpi_vs_baseline", &[("v", num(fz(b, "rmse"), 3))]))
                .unwrap_or_default(),
        ));
        let (p, a) = (fz(m, "sum_predicted"), fz(m, "sum_actual"));
        sec.kpis.push(kpi(
            c.t("val.kpi_total"),
            format!("{} / {}", int(p), int(a)),
            if a > 0.0 {
                c.tf("val.kpi_total_sub", &[("v", pct(p / a - 1.0))])
            } else {
                String::new()
            },
        ));
    }
    validation_cards(c, r, &mut sec);
    if let Some(fit) = get(v, &["fit"]) {
        let mut lines = vec![fit_line(c, fit)];
        if let Some(u) = st(v, "unit") {
            lines.push(c.tf("val.unit", &[("v", c.t_or(&format!("unit.{u}"), u))]));
        }
        sec.cards.push(
            Card::new(c.t("val.fit_title"), 6)
                .table(param_table(c, fit))
                .text(lines)
                .json(),
        );
    }
    if !sec.is_empty() {
        sec.lead.push(c.t("val.lead"));
    }
    sec
}

fn history(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "history");
    let pts = arr(c.s, "history");
    if pts.is_empty() {
        return sec;
    }
    let dates: Vec<String> = pts
        .iter()
        .map(|p| p.get("as_of").map(text_of).unwrap_or_default())
        .collect();
    // KPIs over time.
    let kser = |k: &str, d: i32| -> Vec<Value> {
        pts.iter()
            .map(|p| {
                num_val(
                    get(p, &["kpis", k])
                        .and_then(Value::as_f64)
                        .unwrap_or(f64::NAN),
                    d,
                )
            })
            .collect()
    };
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": dates},
        "yAxis": [{"type": "value", "name": c.t("kpi.customers")},
                  {"type": "value", "name": c.t("kpi.revenue"), "splitLine": {"show": false}}],
        "series": [
            {"type": "line", "name": c.t("kpi.customers"), "data": kser("customers", 0), "smooth": true},
            {"type": "line", "name": c.t("kpi.revenue"), "yAxisIndex": 1, "data": kser("revenue", 2), "smooth": true},
        ],
    }));
    let mut t = Table::new(vec![
        (c.t("hist.as_of"), false),
        (c.t("kpi.customers"), true),
        (c.t("kpi.revenue"), true),
        (c.t("kpi.active"), true),
    ])
    .fallback();
    for (p, d) in pts.iter().zip(&dates) {
        let k = p.get("kpis").unwrap_or(&Value::Null);
        t.row(vec![
            json!(d),
            c_int(fz(k, "customers")),
            c_money(fz(k, "revenue")),
            c_pct(fz(k, "active_90d_share")),
        ]);
    }
    sec.cards.push(
        Card::new(c.t("hist.kpis"), 12)
            .chart(c.chart_id("hist-kpis"), 280, option)
            .table(t)
            .json(),
    );
    // Segment sizes per scheme, first few schemes (in the order of the last point).
    let schemes: Vec<String> = pts
        .last()
        .and_then(|p| p.get("sizes"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut ordered: Vec<String> = ["lifecycle", "rfm_cn8", "cn8", "value_tier", "behaviour"]
        .iter()
        .filter(|s| schemes.iter().any(|x| x == *s))
        .map(|s| (*s).to_string())
        .collect();
    for s in &schemes {
        if !ordered.contains(s) {
            ordered.push(s.clone());
        }
    }
    for scheme in ordered.iter().take(4) {
        let mut grades: Vec<String> = Vec::new();
        for p in pts {
            if let Some(m) = get(p, &["sizes", scheme]).and_then(Value::as_object) {
                for g in m.keys() {
                    if !grades.contains(g) {
                        grades.push(g.clone());
                    }
                }
            }
        }
        if grades.is_empty() {
            continue;
        }
        let size = |p: &Value, g: &str| -> f64 {
            get(p, &["sizes", scheme, g])
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        };
        let series: Vec<Value> = grades
            .iter()
            .map(|g| {
                json!({"type": "line", "name": g, "smooth": true, "showSymbol": false,
                       "data": pts.iter().map(|p| num_val(size(p, g), 0)).collect::<Vec<_>>()})
            })
            .collect();
        let option = opt(json!({
            "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
            "xAxis": {"type": "category", "data": dates}, "yAxis": {"type": "value"},
            "series": series,
        }));
        let mut t = Table::new(
            std::iter::once((c.t("hist.as_of"), false))
                .chain(grades.iter().map(|g| (g.clone(), true)))
                .collect(),
        )
        .fallback();
        for (p, d) in pts.iter().zip(&dates) {
            let mut cells = vec![json!(d)];
            cells.extend(grades.iter().map(|g| c_int(size(p, g))));
            t.row(cells);
        }
        sec.cards.push(
            Card::new(c.tf("hist.sizes", &[("v", scheme_label(c, scheme))]), 6)
                .chart(c.chart_id("hist-sizes"), 300, option)
                .table(t)
                .json(),
        );
    }
    sec.lead
        .push(c.tf("hist.lead", &[("v", int(pts.len() as f64))]));
    sec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_axis_name_clears_the_widest_label() {
        let ys = vec!["重要价值客户".to_string(), "(new)".to_string()];
        let o = heatmap(
            vec!["A".into()],
            ys,
            Vec::new(),
            1.0,
            "x".into(),
            "上期".into(),
            None,
        );
        // six CJK characters at about 12 px each, and a margin
        assert!(o["yAxis"]["nameGap"].as_f64().unwrap_or(0.0) >= 6.0 * 12.0 + 12.0);
        let short = heatmap(
            vec!["A".into()],
            vec!["R1".into()],
            Vec::new(),
            1.0,
            "x".into(),
            "y".into(),
            None,
        );
        assert_eq!(short["yAxis"]["nameGap"].as_f64(), Some(40.0));
    }
}
