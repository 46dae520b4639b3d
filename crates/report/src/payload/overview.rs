//! Overview: headline KPIs, row accounting of the input and the side tables joined.

use serde_json::json;

use super::card::{Card, Table, c_int, c_money, kpi};
use super::{Ctx, Section};
use crate::fmt_num::{int, money, num, pct};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "overview");
    let s = c.s;
    let k = &s.kpis;
    let leads = s.leads_without_purchase;
    let leads_sub = if leads > 0 {
        c.tf("kpi.leads_sub", &[("v", int(leads as f64))])
    } else {
        String::new()
    };
    let range = match (k.first_order, k.last_order) {
        (Some(a), Some(b)) => format!("{a} – {b}"),
        _ => String::new(),
    };
    let i = &s.inputs;
    sec.kpis = vec![
        kpi(c.t("kpi.customers"), int(k.customers as f64), leads_sub),
        kpi(c.t("kpi.revenue"), c.money_k(k.revenue), money(k.revenue)),
        kpi(
            c.t("kpi.orders"),
            int(k.orders as f64),
            c.tf("kpi.per_customer", &[("v", num(k.orders_per_customer, 2))]),
        ),
        kpi(c.t("kpi.aov"), num(k.avg_order_value, 2), String::new()),
        kpi(
            c.t("kpi.active"),
            pct(k.active_90d_share),
            c.t("kpi.active_sub"),
        ),
        kpi(
            c.t("kpi.repeat"),
            pct(k.repeat_customer_share),
            c.t("kpi.repeat_sub"),
        ),
        kpi(c.t("kpi.as_of"), s.as_of.to_string(), range),
        kpi(
            c.t("kpi.quality"),
            format!("{} / {}", int(i.accepted as f64), int(i.rejected as f64)),
            c.t("kpi.quality_sub"),
        ),
    ];

    let mut t = Table::new(vec![(c.t("q.item"), false), (c.t("q.rows"), true)]);
    for (key, n) in [
        ("read", i.read),
        ("accepted", i.accepted),
        ("rejected", i.rejected),
        ("after_as_of", i.after_as_of),
        ("used", i.used),
        ("return_only_customers", i.return_only_customers),
    ] {
        t.row(vec![json!(c.t(&format!("q.{key}"))), c_int(n as f64)]);
    }
    t.row(vec![json!(c.t("q.total_amount")), c_money(i.total_amount)]);
    let mut lines = vec![c.tf(
        "q.reconcile",
        &[
            ("read", int(i.read as f64)),
            ("accepted", int(i.accepted as f64)),
            ("rejected", int(i.rejected as f64)),
            ("after", int(i.after_as_of as f64)),
        ],
    )];
    if i.rejected > 0 {
        lines.push(c.t("q.rejects_file"));
    }
    if !i.files.is_empty() {
        lines.push(c.tf("q.files", &[("v", i.files.join(", "))]));
    }
    sec.cards.push(
        Card::new(c.t("card.quality"), 6)
            .table(t)
            .text(lines)
            .json(),
    );

    if !s.side_tables.is_empty() {
        let mut t = Table::new(vec![
            (c.t("side.kind"), false),
            (c.t("q.rows"), true),
            (c.t("side.matched"), true),
            (c.t("side.columns"), false),
        ]);
        for side in &s.side_tables {
            t.row(vec![
                json!(c.t_or(&format!("side.{}", side.kind), &side.kind)),
                c_int(side.rows as f64),
                c_int(side.matched as f64),
                json!(side.columns_added.join(", ")),
            ]);
        }
        let lines = vec![c.tf("side.leads_line", &[("v", int(leads as f64))])];
        sec.cards.push(
            Card::new(c.t("card.side_tables"), 6)
                .table(t)
                .text(lines)
                .json(),
        );
    }
    sec
}
