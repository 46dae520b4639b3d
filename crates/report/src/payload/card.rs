//! The building blocks of a section: table cells, tables and cards, as the page's JSON.

use serde_json::{Map, Value, json};

use crate::fmt_num::{int, money, num, pct, round};
use crate::{Lang, i18n};

/// A numeric cell: the text shown and the value it sorts by; "–" when not finite.
pub(super) fn cell_n(display: String, v: f64) -> Value {
    if v.is_finite() {
        json!({"t": display, "v": v})
    } else {
        dash()
    }
}

/// The cell of a value the run does not have.
pub(super) fn dash() -> Value {
    json!({"t": "–", "v": null})
}

/// The cell of an optional value: `cell` of it, or "–" when absent.
pub(super) fn or_dash(v: Option<f64>, cell: impl Fn(f64) -> Value) -> Value {
    v.map_or_else(dash, cell)
}

/// A text cell: the text, or "–" when absent.
pub(super) fn text_or_dash(v: Option<&str>) -> Value {
    json!(v.unwrap_or("–"))
}

pub(super) fn c_int(v: f64) -> Value {
    cell_n(int(v), v)
}

pub(super) fn c_num(v: f64, d: usize) -> Value {
    cell_n(num(v, d), v)
}

pub(super) fn c_money(v: f64) -> Value {
    cell_n(money(v), v)
}

pub(super) fn c_pct(v: f64) -> Value {
    cell_n(pct(v), v)
}

/// A share with an inline bar.
pub(super) fn c_share(v: f64) -> Value {
    if v.is_finite() {
        json!({"t": pct(v), "v": v, "bar": round((v * 100.0).clamp(0.0, 100.0), 1)})
    } else {
        dash()
    }
}

/// Whether a column of this label holds the playbook's action: a sentence, too long for a
/// column beside the numbers, so the page shows it on a line of its own under its row.
fn is_action(label: &str) -> bool {
    [Lang::Zh, Lang::En]
        .into_iter()
        .any(|l| i18n::lookup(l, "col.action") == Some(label))
}

/// A column of a table: its label, whether it is numeric (right-aligned, sorted as numbers)
/// and whether it is shown under its row rather than beside the others.
fn column(label: String, numeric: bool) -> Value {
    if !numeric && is_action(&label) {
        json!({"l": label, "num": false, "under": true})
    } else {
        json!({"l": label, "num": numeric})
    }
}

/// A table: column labels (numeric columns right-aligned and sorted as numbers) and rows.
/// The action column is shown on a line under each row (see [`is_action`]).
pub(super) struct Table {
    cols: Vec<Value>,
    pub rows: Vec<Value>,
    show: bool,
}

impl Table {
    pub fn new(cols: Vec<(String, bool)>) -> Table {
        Table {
            cols: cols.into_iter().map(|(l, n)| column(l, n)).collect(),
            rows: Vec::new(),
            show: true,
        }
    }

    pub fn col(&mut self, label: String, numeric: bool) {
        self.cols.push(column(label, numeric));
    }

    pub fn row(&mut self, cells: Vec<Value>) {
        self.rows.push(Value::Array(cells));
    }

    /// Hidden behind "show data" when the chart above shows the same numbers.
    pub fn fallback(mut self) -> Table {
        self.show = false;
        self
    }

    fn json(self) -> Value {
        json!({"cols": self.cols, "rows": self.rows, "show": self.show})
    }
}

/// A card: a title, and any of a subtitle, a chart, a table and lines of text.
#[derive(Default)]
pub(super) struct Card {
    m: Map<String, Value>,
}

impl Card {
    /// `span` is the card's width in twelfths of the page.
    pub fn new(title: String, span: u8) -> Card {
        let mut m = Map::new();
        m.insert("title".into(), json!(title));
        m.insert("span".into(), json!(span));
        Card { m }
    }

    /// Chart beside the table instead of above it.
    pub fn split(mut self) -> Card {
        self.m.insert("split".into(), json!(true));
        self
    }

    pub fn sub(mut self, s: String) -> Card {
        if !s.is_empty() {
            self.m.insert("sub".into(), json!(s));
        }
        self
    }

    pub fn chart(mut self, id: String, h: u32, option: Value) -> Card {
        self.m
            .insert("chart".into(), json!({"id": id, "h": h, "option": option}));
        self
    }

    pub fn table(mut self, t: Table) -> Card {
        self.m.insert("table".into(), t.json());
        self
    }

    pub fn text(mut self, lines: Vec<String>) -> Card {
        let lines: Vec<String> = lines.into_iter().filter(|l| !l.is_empty()).collect();
        if !lines.is_empty() {
            self.m.insert("text".into(), json!(lines));
        }
        self
    }

    pub fn json(self) -> Value {
        Value::Object(self.m)
    }
}

/// A KPI tile.
pub(super) fn kpi(label: String, value: String, sub: String) -> Value {
    json!({"label": label, "value": value, "sub": sub})
}

/// `s` cut to `n` characters, with an ellipsis when cut.
pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}
