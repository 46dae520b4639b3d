//! The summary's numbers as people read them: money to the cent, shares, rates, means and
//! scores to 6 significant digits (at least 4 decimals), no float noise
//! (`"revenue": 2500315.63000009` is `2500315.63`). Rounded once, when the analysis is made,
//! so `summary.json` reads back as the very summary the run rendered.
//!
//! What a later run reads back or a user compares with another tool at full precision is kept
//! as computed: the RFM thresholds (given back as `[rfm.frozen]` they must score the same), the
//! fitted models (`clv.model`, `clv.spend.fit`, `clusters.model`) and the CLV options, and
//! what scoring customers with the run's rules reads back: the statistics a grading scheme
//! resolved (`grades[].resolved`) and the lifecycle's fallback cadence.

use clientele_core::Rounding;
use serde_json::Value;

use crate::{EngineError, Summary};

/// Keys whose value (a number, or the numbers in a list or table under it) is money.
const MONEY: &[&str] = &[
    "revenue",
    "avg_order_value",
    "monetary",
    "mean_monetary",
    "monetary_value",
    "total_amount",
    "return_only_amount",
    "clv",
    "clv_total",
    "clv_mean",
    "clv_median",
    "mean_clv",
    "total_positive",
    "expected_value",
    "profit",
];

/// Keys whose subtree is kept at full precision.
const KEPT: &[&str] = &[
    "thresholds",
    "model",
    "fit",
    "options",
    "resolved",
    "fallback_cadence_days",
];

/// The summary with its numbers rounded for people (see the module docs).
pub(crate) fn rounded(summary: &Summary) -> Result<Summary, EngineError> {
    let bug = |e: serde_json::Error| EngineError::Internal(format!("rounding the summary: {e}"));
    let mut v = serde_json::to_value(summary).map_err(bug)?;
    round_value(&mut v, &mut Vec::new());
    serde_json::from_value(v).map_err(bug)
}

/// Rounds every float under `v`; `path` holds the keys from the root to `v`.
fn round_value(v: &mut Value, path: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if KEPT.contains(&k.as_str()) {
                    continue;
                }
                path.push(k.clone());
                round_value(x, path);
                path.pop();
            }
        }
        Value::Array(items) => {
            for x in items {
                round_value(x, path);
            }
        }
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64()
                && let Some(r) = serde_json::Number::from_f64(rounding(path).round(x))
            {
                *n = r;
            }
        }
        _ => {}
    }
}

/// The rounding of a number at `path` (keys only, list positions left out).
fn rounding(path: &[String]) -> Rounding {
    let key = path.last().map_or("", String::as_str);
    let parent = path.len().checked_sub(2).map_or("", |i| path[i].as_str());
    let money = MONEY.contains(&key)
        // value tiers: the value of each ABC / HML class (the Pareto curve's are shares)
        || (key == "value" && matches!(parent, "abc" | "hml"))
        // CLV bins: their bounds
        || (matches!(key, "from" | "to") && parent == "clv_distribution");
    if money {
        Rounding::Money
    } else {
        Rounding::Measure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn money_is_told_by_its_key_and_place() {
        assert_eq!(rounding(&keys(&["kpis", "revenue"])), Rounding::Money);
        assert_eq!(
            rounding(&keys(&["value_tiers", "abc", "value"])),
            Rounding::Money
        );
        assert_eq!(
            rounding(&keys(&["value_tiers", "pareto", "value"])),
            Rounding::Measure
        );
        assert_eq!(
            rounding(&keys(&["clv", "clv_distribution", "to"])),
            Rounding::Money
        );
        assert_eq!(
            rounding(&keys(&["kpis", "repeat_customer_share"])),
            Rounding::Measure
        );
    }

    #[test]
    fn kept_subtrees_are_not_rounded() {
        let mut v = serde_json::json!({
            "kpis": { "revenue": 2500315.63000009, "avg_order_value": 170.92999999999998 },
            "rfm": { "thresholds": { "monetary": { "cuts": [225.44799999999998] } } },
            "clv": { "model": { "params": [0.9238127013491317] }, "p_alive_mean": 0.6255547193213687 }
        });
        round_value(&mut v, &mut Vec::new());
        assert_eq!(
            v.to_string(),
            r#"{"clv":{"model":{"params":[0.9238127013491317]},"p_alive_mean":0.625555},"kpis":{"avg_order_value":170.93,"revenue":2500315.63},"rfm":{"thresholds":{"monetary":{"cuts":[225.44799999999998]}}}}"#
        );
    }
}
