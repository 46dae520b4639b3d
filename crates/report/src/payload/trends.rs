//! Monthly trends: revenue and orders, customers by kind, churn rate and order value.

use clientele_engine::lifecycle::MonthTrend;
use serde_json::{Value, json};

use super::card::{Card, Table, c_num, c_pct, or_dash};
use super::chart::{grid, legend, opt, opt_val, pct_val};
use super::{Ctx, Section};

/// A column of the monthly table: its label key (`tr.<key>`), its value in a month (`None`
/// where the month has none, e.g. churn before the churn window has passed) and its cell.
struct Column {
    key: &'static str,
    get: fn(&MonthTrend) -> Option<f64>,
    cell: fn(f64) -> Value,
}

const REVENUE: Column = Column {
    key: "revenue",
    get: |m| Some(m.revenue),
    cell: |v| c_num(v, 2),
};
const ORDERS: Column = Column {
    key: "orders",
    get: |m| Some(m.orders as f64),
    cell: |v| c_num(v, 0),
};
const AVG_ORDER_VALUE: Column = Column {
    key: "avg_order_value",
    get: |m| m.avg_order_value,
    cell: |v| c_num(v, 2),
};
const CHURN_RATE: Column = Column {
    key: "churn_rate",
    get: |m| m.churn_rate,
    cell: c_pct,
};
const CUSTOMERS: [Column; 5] = [
    Column {
        key: "active",
        get: |m| Some(m.active as f64),
        cell: |v| c_num(v, 0),
    },
    Column {
        key: "new",
        get: |m| Some(m.new as f64),
        cell: |v| c_num(v, 0),
    },
    Column {
        key: "returning",
        get: |m| Some(m.returning as f64),
        cell: |v| c_num(v, 0),
    },
    Column {
        key: "reactivated",
        get: |m| Some(m.reactivated as f64),
        cell: |v| c_num(v, 0),
    },
    Column {
        key: "churned",
        get: |m| m.churned.map(|n| n as f64),
        cell: |v| c_num(v, 0),
    },
];

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "trends");
    let rows: &[MonthTrend] = c.s.lifecycle.as_ref().map_or(&[], |l| &l.trends);
    if rows.is_empty() {
        return sec;
    }
    let months: Vec<String> = rows.iter().map(|r| r.month.to_string()).collect();
    let series = |col: &Column, d: i32| -> Vec<Value> {
        rows.iter().map(|r| opt_val((col.get)(r), d)).collect()
    };
    let table = |cols: &[&Column]| -> Table {
        let mut t = Table::new(
            std::iter::once((c.t("tr.month"), false))
                .chain(
                    cols.iter()
                        .map(|col| (c.t(&format!("tr.{}", col.key)), true)),
                )
                .collect(),
        )
        .fallback();
        for (r, m) in rows.iter().zip(&months) {
            let mut cells = vec![json!(m)];
            cells.extend(cols.iter().map(|col| or_dash((col.get)(r), col.cell)));
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
            {"type": "bar", "name": c.t("tr.revenue"), "data": series(&REVENUE, 2), "barMaxWidth": 26, "itemStyle": {"opacity": 0.85}},
            {"type": "line", "name": c.t("tr.orders"), "yAxisIndex": 1, "data": series(&ORDERS, 0), "smooth": true},
        ],
    }));
    sec.cards.push(
        Card::new(c.t("tr.revenue_title"), 12)
            .chart(c.chart_id("trend-revenue"), 320, option)
            .table(table(&[&REVENUE, &ORDERS, &AVG_ORDER_VALUE]))
            .json(),
    );

    let lines: Vec<Value> = CUSTOMERS
        .iter()
        .map(|col| json!({"type": "line", "name": c.t(&format!("tr.{}", col.key)), "data": series(col, 0), "smooth": true, "showSymbol": false}))
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": months}, "yAxis": {"type": "value"}, "series": lines,
    }));
    let customer_cols: Vec<&Column> = CUSTOMERS.iter().collect();
    sec.cards.push(
        Card::new(c.t("tr.customers_title"), 6)
            .chart(c.chart_id("trend-customers"), 300, option)
            .table(table(&customer_cols))
            .json(),
    );

    let churn: Vec<Value> = rows
        .iter()
        .map(|r| r.churn_rate.map_or(Value::Null, pct_val))
        .collect();
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": months},
        "yAxis": [{"type": "value", "name": c.t("tr.churn_rate"), "axisLabel": {"formatter": "{value}%"}},
                  {"type": "value", "name": c.t("tr.avg_order_value"), "splitLine": {"show": false}}],
        "series": [
            {"type": "line", "name": c.t("tr.churn_rate"), "data": churn, "smooth": true, "areaStyle": {"opacity": 0.1}},
            {"type": "line", "name": c.t("tr.avg_order_value"), "yAxisIndex": 1, "data": series(&AVG_ORDER_VALUE, 2), "smooth": true},
        ],
    }));
    sec.cards.push(
        Card::new(c.t("tr.churn_title"), 6)
            .sub(c.t("tr.churn_sub"))
            .chart(c.chart_id("trend-churn"), 300, option)
            .table(table(&[&CHURN_RATE, &AVG_ORDER_VALUE]))
            .json(),
    );
    sec
}
