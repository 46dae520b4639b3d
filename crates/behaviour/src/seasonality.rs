//! Revenue and order shares per weekday and month, with the peak periods. The engine computes
//! the totals (it has the dates); this only derives shares and labels.

use serde::{Deserialize, Serialize};

use crate::error::{BehaviourError, Result};
use crate::input::{Lang, PeriodTotals, Seasonality};
use crate::stats::div;

/// One weekday or month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PeriodShare {
    /// `Mon`…`Sun` / `Jan`…`Dec` (Chinese: 周一… / 1月…).
    pub label: String,
    /// Net revenue.
    pub revenue: f64,
    /// Share of revenue over the periods.
    pub revenue_share: f64,
    /// Orders.
    pub orders: u64,
    /// Share of orders.
    pub order_share: f64,
    /// Distinct customers in the period (not additive, so no share).
    pub customers: u64,
}

/// Weekday and month profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SeasonalityShares {
    /// Monday first.
    pub weekday: Vec<PeriodShare>,
    /// January first.
    pub month: Vec<PeriodShare>,
    /// Weekday with the most revenue (first on ties); `None` without revenue.
    pub peak_weekday: Option<String>,
    /// Month with the most revenue (first on ties); `None` without revenue.
    pub peak_month: Option<String>,
}

const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn profile(
    kind: &str,
    totals: &[PeriodTotals],
    label: impl Fn(usize) -> String,
) -> Result<(Vec<PeriodShare>, Option<String>)> {
    if let Some(i) = totals.iter().position(|t| !t.revenue.is_finite()) {
        return Err(BehaviourError::SeasonalityRevenue {
            period: format!("{kind} {i}"),
        });
    }
    let rev: f64 = totals.iter().map(|t| t.revenue).sum();
    let ord: u64 = totals.iter().map(|t| t.orders).sum();
    let shares: Vec<PeriodShare> = totals
        .iter()
        .enumerate()
        .map(|(i, t)| PeriodShare {
            label: label(i),
            revenue: t.revenue,
            revenue_share: div(t.revenue, rev),
            orders: t.orders,
            order_share: div(t.orders as f64, ord as f64),
            customers: t.customers,
        })
        .collect();
    let mut peak: Option<&PeriodShare> = None;
    for s in &shares {
        if s.revenue > 0.0 && peak.is_none_or(|p| s.revenue > p.revenue) {
            peak = Some(s);
        }
    }
    let peak = peak.map(|p| p.label.clone());
    Ok((shares, peak))
}

/// Shares and peaks; NaN revenue is an error.
pub fn seasonality_shares(s: &Seasonality, lang: Lang) -> Result<SeasonalityShares> {
    let (weekday, peak_weekday) = profile("weekday", &s.weekday, |i| match lang {
        Lang::En => WEEKDAYS_EN[i].to_string(),
        Lang::Zh => WEEKDAYS_ZH[i].to_string(),
    })?;
    let (month, peak_month) = profile("month", &s.month, |i| match lang {
        Lang::En => MONTHS_EN[i].to_string(),
        Lang::Zh => format!("{}月", i + 1),
    })?;
    Ok(SeasonalityShares {
        weekday,
        month,
        peak_weekday,
        peak_month,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(revenue: f64, orders: u64) -> PeriodTotals {
        PeriodTotals {
            revenue,
            orders,
            customers: orders,
        }
    }

    #[test]
    fn shares_and_peaks() {
        let mut s = Seasonality::default();
        s.weekday[4] = totals(30.0, 3);
        s.weekday[5] = totals(30.0, 1); // tie on revenue: Friday (first) wins
        s.weekday[6] = totals(40.0, 6);
        s.month[11] = totals(10.0, 1);
        let out = seasonality_shares(&s, Lang::En).unwrap();
        assert_eq!(out.peak_weekday.as_deref(), Some("Sun"));
        assert_eq!(out.weekday[4].revenue_share, 0.3);
        assert_eq!(out.weekday[6].order_share, 0.6);
        assert_eq!(out.peak_month.as_deref(), Some("Dec"));
        s.weekday[6] = totals(0.0, 0);
        let zh = seasonality_shares(&s, Lang::Zh).unwrap();
        assert_eq!(zh.peak_weekday.as_deref(), Some("周五"));
        assert_eq!(zh.month[11].label, "12月");
    }

    #[test]
    fn empty_and_nan() {
        let out = seasonality_shares(&Seasonality::default(), Lang::En).unwrap();
        assert!(out.peak_weekday.is_none() && out.peak_month.is_none());
        assert!(out.weekday.iter().all(|p| p.revenue_share == 0.0));
        let mut s = Seasonality::default();
        s.month[2].revenue = f64::NAN;
        assert_eq!(
            seasonality_shares(&s, Lang::En),
            Err(BehaviourError::SeasonalityRevenue {
                period: "month 2".into()
            })
        );
    }
}
