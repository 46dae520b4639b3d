//! Trends and cohorts on a hand-built history with gaps, and their invariants on random ones.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use clientele_lifecycle::{
    CustomerMonth, LifecycleError, Month, TrendConfig, cohort_matrix, monthly_trends,
    trends_and_cohorts,
};
use proptest::prelude::*;

fn m(s: &str) -> Month {
    Month::parse(s).unwrap()
}

fn row(customer: u32, month: &str, revenue: f64, orders: u32) -> CustomerMonth {
    CustomerMonth {
        customer,
        month: m(month),
        revenue,
        orders,
    }
}

/// c0: Jan, Feb, then back in Jun. c1: Feb only. c2: Jan, a refund in Mar (no order).
/// c3: Apr, May. Nobody buys in Mar or Jul; the analysis runs through Jul.
fn history() -> (Vec<CustomerMonth>, Vec<Month>) {
    let activity = vec![
        row(0, "1998-01", 10.0, 1),
        row(0, "1998-02", 20.0, 2),
        row(0, "1998-06", 5.0, 1),
        row(1, "1998-02", 7.0, 1),
        row(2, "1998-01", 3.0, 1),
        row(2, "1998-03", -2.0, 0),
        row(3, "1998-04", 8.0, 1),
        row(3, "1998-05", 3.0, 1),
        row(3, "1998-05", 1.0, 0), // same month twice: added together
    ];
    let first = vec![m("1998-01"), m("1998-02"), m("1998-01"), m("1998-04")];
    (activity, first)
}

#[test]
fn monthly_trends_on_a_history_with_gaps() {
    let (activity, first) = history();
    let cfg = TrendConfig {
        churn_months: 2,
        through: Some(m("1998-07")),
    };
    let t = monthly_trends(&activity, &first, &cfg).unwrap();
    let months: Vec<String> = t.iter().map(|x| x.month.to_string()).collect();
    assert_eq!(
        months,
        [
            "1998-01", "1998-02", "1998-03", "1998-04", "1998-05", "1998-06", "1998-07"
        ]
    );
    let col = |f: fn(&clientele_lifecycle::MonthTrend) -> u64| t.iter().map(f).collect::<Vec<_>>();
    assert_eq!(col(|x| x.active), [2, 2, 0, 1, 1, 1, 0]);
    assert_eq!(col(|x| x.new), [2, 1, 0, 1, 0, 0, 0]);
    assert_eq!(col(|x| x.returning), [0, 1, 0, 0, 1, 1, 0]);
    assert_eq!(col(|x| x.retained), [0, 1, 0, 0, 1, 0, 0]);
    assert_eq!(col(|x| x.reactivated), [0, 0, 0, 0, 0, 1, 0]);
    assert_eq!(col(|x| x.orders), [2, 3, 0, 1, 1, 1, 0]);
    let churned: Vec<Option<u64>> = t.iter().map(|x| x.churned).collect();
    // Jan: c2 never buys again; Feb: c1 never, c0 not before Jun (4 months > 2);
    // May: c3 lapses; Jun and Jul: the next two months are not observed.
    assert_eq!(
        churned,
        [Some(1), Some(2), Some(0), Some(0), Some(1), None, None]
    );
    let rate: Vec<Option<f64>> = t.iter().map(|x| x.churn_rate).collect();
    assert_eq!(
        rate,
        [Some(0.5), Some(1.0), None, Some(0.0), Some(1.0), None, None]
    );
    let revenue: Vec<f64> = t.iter().map(|x| x.revenue).collect();
    assert_eq!(revenue, [13.0, 27.0, -2.0, 8.0, 4.0, 5.0, 0.0]);
    assert_eq!(t[0].avg_order_value, Some(6.5));
    assert_eq!(t[2].avg_order_value, None);
    let json = serde_json::to_value(&t[2]).unwrap();
    assert_eq!(json["month"], "1998-03");
    assert_eq!(json["churn_rate"], serde_json::Value::Null);
}

#[test]
fn trends_end_at_the_last_month_with_data_by_default() {
    let (activity, first) = history();
    let t = monthly_trends(&activity, &first, &TrendConfig::default()).unwrap();
    assert_eq!(t.last().unwrap().month, m("1998-06"));
    // churn_months 3: Apr, May, Jun unknown
    let unknown = t.iter().filter(|x| x.churned.is_none()).count();
    assert_eq!(unknown, 3);
}

#[test]
fn cohort_matrix_on_a_history_with_gaps() {
    let (activity, first) = history();
    let c = cohort_matrix(&activity, &first, Some(m("1998-07"))).unwrap();
    assert_eq!(c.through, Some(m("1998-07")));
    let cohorts: Vec<String> = c.rows.iter().map(|r| r.cohort.to_string()).collect();
    assert_eq!(cohorts, ["1998-01", "1998-02", "1998-04"]); // no one started in March
    let jan = &c.rows[0];
    assert_eq!(jan.size, 2);
    assert_eq!(jan.active, [2, 1, 0, 0, 0, 1, 0]);
    assert_eq!(jan.retention, [1.0, 0.5, 0.0, 0.0, 0.0, 0.5, 0.0]);
    assert_eq!(jan.revenue, [13.0, 20.0, -2.0, 0.0, 0.0, 5.0, 0.0]);
    assert_eq!(c.rows[1].active, [1, 0, 0, 0, 0, 0]);
    assert_eq!(c.rows[2].active, [1, 1, 0, 0]);
    assert_eq!(c.rows[2].revenue, [8.0, 4.0, 0.0, 0.0]);
    let json = serde_json::to_string(&c).unwrap();
    assert!(json.contains("\"cohort\":\"1998-04\""), "{json}");
}

#[test]
fn inconsistent_inputs_are_errors() {
    let first = [m("1998-02")];
    let early = [row(0, "1998-01", 1.0, 1)];
    let err = monthly_trends(&early, &first, &TrendConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "customer 0 has activity in 1998-01, before its first purchase month 1998-02"
    );
    let unknown = [row(1, "1998-02", 1.0, 1)];
    let err = cohort_matrix(&unknown, &first, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "activity row 0 is for customer 1 but only 1 customers have a first purchase month"
    );
    let late = [row(0, "1998-05", 1.0, 1)];
    let cfg = TrendConfig {
        churn_months: 1,
        through: Some(m("1998-04")),
    };
    let err = monthly_trends(&late, &first, &cfg).unwrap_err();
    assert_eq!(
        err.to_string(),
        "activity of customer 0 in 1998-05 is after the last month of the analysis (1998-04)"
    );
    let nan = [row(0, "1998-02", f64::NAN, 1)];
    assert!(matches!(
        monthly_trends(&nan, &first, &TrendConfig::default()),
        Err(LifecycleError::NonFinite { .. })
    ));
    let zero = TrendConfig {
        churn_months: 0,
        through: None,
    };
    assert!(matches!(
        monthly_trends(&[], &first, &zero),
        Err(LifecycleError::Config {
            key: "churn_months",
            ..
        })
    ));
}

/// Returns of purchases made before the data begins: a month of returns before the first
/// purchase counts in the trends' revenue of its own month, and in no cohort cell.
#[test]
fn returns_before_the_first_purchase_count_in_their_month() {
    let first = [m("1998-03"), m("1998-02")];
    let activity = [
        row(0, "1998-01", -4.0, 0),
        row(0, "1998-03", 10.0, 1),
        row(1, "1998-02", 6.0, 1),
    ];
    let t = monthly_trends(&activity, &first, &TrendConfig::default()).unwrap();
    let months: Vec<String> = t.iter().map(|x| x.month.to_string()).collect();
    assert_eq!(months, ["1998-01", "1998-02", "1998-03"]);
    assert_eq!(t[0].revenue, -4.0);
    assert_eq!((t[0].active, t[0].new, t[0].orders), (0, 0, 0));
    assert_eq!(t.iter().map(|x| x.new).sum::<u64>(), 2);
    let c = cohort_matrix(&activity, &first, None).unwrap();
    let cells: f64 = c.rows.iter().flat_map(|r| r.revenue.iter()).sum();
    assert_eq!(cells, 16.0);
}

#[test]
fn no_customers_no_months() {
    assert!(
        monthly_trends(&[], &[], &TrendConfig::default())
            .unwrap()
            .is_empty()
    );
    assert!(cohort_matrix(&[], &[], None).unwrap().rows.is_empty());
}

/// Random histories: every customer buys in their first month, then in random later months.
fn arb_history() -> impl Strategy<Value = (Vec<CustomerMonth>, Vec<Month>, u32, u32)> {
    let customer = (
        0i32..24,
        proptest::collection::vec((0i32..24, -50i32..500, 0u32..4), 0..6),
    );
    (proptest::collection::vec(customer, 0..25), 1u32..5, 0u32..4).prop_map(
        |(cs, churn_months, extra)| {
            let base = Month::new(1997, 1).unwrap();
            let mut activity = Vec::new();
            let mut first = Vec::new();
            for (c, (f, rows)) in cs.into_iter().enumerate() {
                let fm = base.plus_months(f);
                first.push(fm);
                activity.push(CustomerMonth {
                    customer: c as u32,
                    month: fm,
                    revenue: 10.0,
                    orders: 1,
                });
                for (k, cents, orders) in rows {
                    activity.push(CustomerMonth {
                        customer: c as u32,
                        month: fm.plus_months(k),
                        revenue: f64::from(cents) / 100.0,
                        orders,
                    });
                }
            }
            activity.reverse(); // order must not matter
            (activity, first, churn_months, extra)
        },
    )
}

proptest! {
    #[test]
    fn trends_and_cohorts_keep_totals((activity, first, churn_months, extra) in arb_history()) {
        let last = activity.iter().map(|a| a.month).chain(first.iter().copied()).max();
        let through = last.map(|l| l.plus_months(extra as i32));
        let cfg = TrendConfig { churn_months, through };
        let t = monthly_trends(&activity, &first, &cfg).unwrap();
        let c = cohort_matrix(&activity, &first, through).unwrap();
        // from one in-place sort, what a run uses: the same trends and cohorts
        let (t1, c1) = trends_and_cohorts(activity.clone(), &first, &cfg).unwrap();
        prop_assert_eq!(&t1, if activity.is_empty() { &[][..] } else { &t[..] });
        prop_assert_eq!(&c1, &c);
        if first.is_empty() {
            prop_assert!(t.is_empty() && c.rows.is_empty());
            return Ok(());
        }
        // Σ new = customers
        prop_assert_eq!(t.iter().map(|x| x.new).sum::<u64>(), first.len() as u64);
        // Σ revenue over months = Σ input revenue
        let input: f64 = activity.iter().map(|a| a.revenue).sum();
        let months: f64 = t.iter().map(|x| x.revenue).sum();
        prop_assert!((input - months).abs() < 1e-6, "{input} vs {months}");
        // no gaps, through the last month
        for w in t.windows(2) {
            prop_assert_eq!(w[1].month.months_since(w[0].month), 1);
        }
        prop_assert_eq!(t.last().map(|x| x.month), through);
        // churn unknown exactly in the last `churn_months` months
        let unknown = t.iter().filter(|x| x.churned.is_none()).count();
        prop_assert_eq!(unknown, t.len().min(churn_months as usize));
        for x in &t {
            prop_assert_eq!(x.active, x.new.min(x.active) + x.returning);
            prop_assert!(x.retained + x.reactivated <= x.returning);
            if let Some(ch) = x.churned { prop_assert!(ch <= x.active); }
        }
        // every churn that is followed by a return is a reactivation later
        let churned: u64 = t.iter().filter_map(|x| x.churned).sum();
        let reactivated: u64 = t.iter().map(|x| x.reactivated).sum();
        prop_assert!(reactivated <= churned);
        // cohorts: month-0 active = size, triangle shape, cells add up to the monthly actives
        let mut active_by_month = vec![0u64; t.len()];
        for r in &c.rows {
            prop_assert_eq!(r.active[0], r.size);
            prop_assert_eq!(r.active.len() as i32, through.unwrap().months_since(r.cohort) + 1);
            prop_assert_eq!(r.retention.len(), r.active.len());
            prop_assert_eq!(r.revenue.len(), r.active.len());
            let off = r.cohort.months_since(t[0].month) as usize;
            for (k, a) in r.active.iter().enumerate() {
                active_by_month[off + k] += a;
            }
        }
        prop_assert_eq!(c.rows.iter().map(|r| r.size).sum::<u64>(), first.len() as u64);
        let trend_active: Vec<u64> = t.iter().map(|x| x.active).collect();
        prop_assert_eq!(active_by_month, trend_active);
    }
}
