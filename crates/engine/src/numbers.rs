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
    read_back(&v).map_err(|e| EngineError::Internal(format!("rounding the summary: {e}")))
}

/// `v` read back as a `T`; the error says where. A NaN or infinite f64 was written as null, so
/// it is a null where a number must be: the path names it, or, where an internally tagged enum
/// (a [`crate::Step`]) hides the field from the path, the nulls under that enum are listed.
fn read_back<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let mut at = e.path().to_string();
        if at == "." {
            at.clear();
        }
        let mut nulls = Vec::new();
        if let Some(under) = value_at(v, e.path()) {
            nulls_under(under, &mut at.clone(), &mut nulls);
        }
        let nulls = match nulls.len() {
            0 => String::new(),
            n if n > 8 => format!("; null at {}, … ({n} in all)", nulls[..8].join(", ")),
            _ => format!("; null at {}", nulls.join(", ")),
        };
        let hint = if nulls.is_empty() {
            ""
        } else {
            " (a NaN or infinite number is written as null)"
        };
        format!("{} at `{at}`{nulls}{hint}", e.inner())
    })
}

/// The value at `path` under `root`.
fn value_at<'a>(root: &'a Value, path: &serde_path_to_error::Path) -> Option<&'a Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(root, |v, seg| match seg {
        Segment::Seq { index } => v.get(index),
        Segment::Map { key } => v.get(key),
        // externally tagged: `{"variant": …}`; internally tagged: the fields beside the tag
        Segment::Enum { variant } => Some(v.get(variant).unwrap_or(v)),
        Segment::Unknown => Some(v),
    })
}

/// The paths of the nulls at or under `v`, which is at `path`.
fn nulls_under(v: &Value, path: &mut String, out: &mut Vec<String>) {
    let len = path.len();
    match v {
        Value::Null => out.push(path.clone()),
        Value::Object(m) => {
            for (k, x) in m {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                nulls_under(x, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                nulls_under(x, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
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
        || (matches!(key, "from" | "to") && parent == "clv_distribution")
        // the interval of the total CLV
        || (matches!(key, "point" | "lower" | "upper") && parent == "total_clv");
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
    fn a_nan_that_cannot_read_back_is_named_by_its_path() {
        #[derive(Debug, serde::Serialize, serde::Deserialize)]
        struct Clv {
            total: f64,
            mean: Option<f64>,
            bins: Vec<f64>,
        }
        #[derive(Debug, serde::Serialize, serde::Deserialize)]
        struct S {
            plain: Clv,
            clv: crate::Step<Clv>,
        }
        let clv = |total: f64, bins: &[f64]| Clv {
            total,
            mean: None,
            bins: bins.to_vec(),
        };
        let error = |s: S| read_back::<S>(&serde_json::to_value(&s).unwrap()).unwrap_err();
        // a plain field: the path goes down to the number
        let e = error(S {
            plain: clv(1.0, &[1.0, f64::INFINITY]),
            clv: crate::Step::Off,
        });
        assert!(
            e.contains("expected f64 at `plain.bins[1]`; null at plain.bins[1] ("),
            "{e}"
        );
        // under a `Step` the path stops at the step: the nulls there are listed
        let e = error(S {
            plain: clv(1.0, &[1.0]),
            clv: crate::Step::Done(clv(f64::NAN, &[])),
        });
        assert!(e.contains("at `clv`; null at clv.mean, clv.total ("), "{e}");
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
