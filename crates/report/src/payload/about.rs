//! About this report: the run's identity and what every column of the customer table means.

use serde_json::json;

use super::card::{Card, Table};
use super::{Ctx, Section};
use crate::fmt_num::int;

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "about");
    let s = c.s;
    let mut t = Table::new(vec![
        (c.t("about.item"), false),
        (c.t("about.value"), false),
    ]);
    let unit = s.time_unit.name();
    for (k, v) in [
        ("about.tool", s.tool.clone()),
        ("about.as_of", s.as_of.to_string()),
        ("about.config_hash", s.config_hash.clone()),
        ("about.time_unit", c.t(&format!("unit.{unit}"))),
    ] {
        t.row(vec![json!(c.t(k)), json!(v)]);
    }
    sec.cards
        .push(Card::new(c.t("about.run"), 6).table(t).json());
    if !s.columns.is_empty() {
        let mut t = Table::new(vec![
            (c.t("about.column"), false),
            (c.t("about.meaning"), false),
        ]);
        for col in &s.columns {
            // a column of the data (an attribute) has no label: its name says it
            t.row(vec![
                json!(col.name),
                json!(c.t_or(&format!("col.{}", col.name), "")),
            ]);
        }
        sec.cards.push(
            Card::new(c.t("about.columns"), 6)
                .sub(c.tf("about.columns_sub", &[("v", int(s.columns.len() as f64))]))
                .table(t)
                .json(),
        );
    }
    sec.lead.push(c.t("about.lead"));
    sec
}
