//! Feature extraction from the customer table and standardisation.
//!
//! Rules (documented for users):
//! - Default features: `recency_days`, `orders`, `monetary` (required), plus `categories` and
//!   `avg_order_value` when the table has them with at least one value. Each gets `log1p`
//!   because customer metrics are heavily right-skewed.
//! - `log1p` is applied sign-symmetrically, `sign(x)·ln(1+|x|)`, so net-negative monetary
//!   (returns) stays finite instead of failing.
//! - A customer missing any feature value is left out of the fit and gets no cluster (noted).
//!   NaN or ±inf is an error: it signals broken input rather than a missing value.
//! - Standardisation is z-score with the population standard deviation (scikit-learn's
//!   `StandardScaler`). A constant feature carries no information and would divide by zero, so
//!   it is dropped with a note; if every feature is constant, that is an error.

use std::borrow::Cow;

use clientele_core::columns as col;
use clientele_core::{ColumnData, CoreError, CustomerTable, Note};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, Result};
use crate::model::FittedKMeans;

/// Required default features.
pub const DEFAULT_FEATURES: [&str; 3] = [col::RECENCY_DAYS, col::ORDERS, col::MONETARY];
/// Default features used when the table has them.
pub const OPTIONAL_FEATURES: [&str; 2] = ["categories", col::AVG_ORDER_VALUE];

/// How a column is transformed before scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    /// `sign(x)·ln(1+|x|)`.
    #[default]
    Log1p,
    /// The value as it is.
    None,
}

impl Transform {
    /// Forward transform.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Transform::Log1p => x.signum() * x.abs().ln_1p(),
            Transform::None => x,
        }
    }

    /// [`Transform::apply`] of each value. Whole numbers in a short range (days, orders,
    /// categories) are transformed once per distinct value and looked up: the same bits for
    /// a fraction of the logarithms.
    pub fn apply_all(self, xs: &[f64]) -> Vec<f64> {
        /// The widest range of whole numbers given a table of their transforms.
        const SPAN: f64 = 65_536.0;
        let whole = |x: f64| x.fract() == 0.0 && !(x == 0.0 && x.is_sign_negative());
        let range = xs
            .par_iter()
            .map(|&x| match x {
                x if x.is_nan() => Some((f64::INFINITY, f64::NEG_INFINITY)), // stays NaN
                x => whole(x).then_some((x, x)),
            })
            .reduce(
                || Some((f64::INFINITY, f64::NEG_INFINITY)),
                |a, b| Some((a?.0.min(b?.0), a?.1.max(b?.1))),
            );
        match range {
            Some((lo, hi)) if self != Transform::None && hi >= lo && hi - lo <= SPAN => {
                let table: Vec<f64> = (0..=(hi - lo) as usize)
                    .map(|v| self.apply(lo + v as f64))
                    .collect();
                xs.par_iter()
                    .map(|&x| match x {
                        x if x.is_nan() => x,
                        x => table[(x - lo) as usize],
                    })
                    .collect()
            }
            _ => xs.par_iter().map(|&x| self.apply(x)).collect(),
        }
    }

    /// Inverse transform (to report centroids in original units).
    pub fn invert(self, y: f64) -> f64 {
        match self {
            Transform::Log1p => y.signum() * y.abs().exp_m1(),
            Transform::None => y,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Transform::Log1p => "log1p",
            Transform::None => "none",
        }
    }
}

/// One clustering feature: a numeric column and its transform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Feature {
    /// Customer-table column.
    pub column: String,
    /// Transform applied before scaling.
    pub transform: Transform,
}

impl Feature {
    /// Parses `name`, `log1p(name)` or `none(name)`; a bare name gets `default`.
    pub fn parse(s: &str, default: Transform) -> Result<Feature> {
        let s = s.trim();
        let bad = || ClusterError::BadFeature(s.to_string());
        let (transform, column) = match s.split_once('(') {
            None => (default, s),
            Some((f, rest)) => {
                let col = rest.strip_suffix(')').ok_or_else(bad)?;
                let t = match f.trim() {
                    "log1p" => Transform::Log1p,
                    "none" | "raw" => Transform::None,
                    _ => return Err(bad()),
                };
                (t, col.trim())
            }
        };
        if column.is_empty() || column.contains(['(', ')', ' ']) {
            return Err(bad());
        }
        Ok(Feature {
            column: column.to_string(),
            transform,
        })
    }

    /// `log1p(monetary)` or `monetary` (no transform), for reports.
    pub fn label(&self) -> String {
        match self.transform {
            Transform::None => self.column.clone(),
            t => format!("{}({})", t.name(), self.column),
        }
    }
}

/// Per-feature mean and standard deviation of the transformed values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Scaler {
    /// Means, one per feature.
    pub means: Vec<f64>,
    /// Population standard deviations (all > 0).
    pub sds: Vec<f64>,
}

/// The standardised matrix the k-means runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    /// Features used, in column order (constant ones already dropped).
    pub features: Vec<Feature>,
    /// Scaling applied.
    pub scaler: Scaler,
    /// `rows.len() × features.len()`, row-major, standardised.
    pub data: Vec<f64>,
    /// The table row of each matrix row (customers with missing values are absent).
    pub rows: Vec<usize>,
    /// What was dropped or left out, for the report.
    pub notes: Vec<Note>,
}

/// The features to use: the explicit list, or the defaults the table supports.
pub fn resolve_features(
    table: &CustomerTable,
    explicit: Option<&[Feature]>,
    default: Transform,
    notes: &mut Vec<Note>,
) -> Vec<Feature> {
    if let Some(f) = explicit {
        return f.to_vec();
    }
    let mut out: Vec<Feature> = DEFAULT_FEATURES
        .iter()
        .map(|c| Feature {
            column: c.to_string(),
            transform: default,
        })
        .collect();
    for c in OPTIONAL_FEATURES {
        // read once and let go (a table on disk does not keep it)
        let col = table.column_once(c).ok();
        if let Some(v) = col.filter(|v| !matches!(&**v, ColumnData::Text(_))) {
            if (0..v.len()).any(|i| v.number(i).is_some()) {
                out.push(Feature {
                    column: c.to_string(),
                    transform: default,
                });
            } else {
                notes.push(Note::new(
                    format!("`{c}` 列没有数值，未用作聚类特征"),
                    format!("`{c}` has no values and is not used as a cluster feature"),
                ));
            }
        }
    }
    out
}

/// Raw values of `feature` for every customer; errors on NaN/inf.
/// A numeric column read once (a table on disk does not keep it), every value finite.
pub(crate) fn feature_column<'t>(
    table: &'t CustomerTable,
    column: &str,
) -> Result<Cow<'t, ColumnData>> {
    let c = table.column_once(column)?;
    if let ColumnData::Text(_) = &*c {
        return Err(CoreError::ColumnType {
            name: column.to_string(),
            expected: "a number",
            actual: "text",
        }
        .into());
    }
    let bad = (0..c.len()).find(|&i| c.number(i).is_some_and(|x| !x.is_finite()));
    if let Some(i) = bad {
        return Err(ClusterError::NonFinite {
            column: column.to_string(),
            customer: table.ids()[i].to_string(),
            value: c.number(i).map(|x| x.to_string()).unwrap_or_default(),
        });
    }
    Ok(c)
}

/// [`feature_column`] as one option a customer.
pub(crate) fn raw_column(table: &CustomerTable, column: &str) -> Result<Vec<Option<f64>>> {
    let c = feature_column(table, column)?;
    Ok((0..c.len()).map(|i| c.number(i)).collect())
}

/// The features of a fitted model on another table, standardised with the model's own scaler
/// (for labelling with a frozen segmentation). Customers missing a value get no cluster (noted).
pub(crate) fn apply(table: &CustomerTable, model: &FittedKMeans) -> Result<FeatureMatrix> {
    let cols: Vec<Vec<Option<f64>>> = model
        .features
        .iter()
        .map(|f| raw_column(table, &f.column))
        .collect::<Result<_>>()?;
    let rows: Vec<usize> = (0..table.len())
        .filter(|&i| cols.iter().all(|c| c[i].is_some()))
        .collect();
    let mut notes = Vec::new();
    if rows.len() < table.len() {
        let names: Vec<&str> = model.features.iter().map(|f| f.column.as_str()).collect();
        let (lack, of, cols) = (table.len() - rows.len(), table.len(), names.join(", "));
        notes.push(Note::new(
            format!("{of} 位客户中有 {lack} 位在 {cols} 上缺值，不参与聚类"),
            format!("{lack} of {of} customers lack a value in {cols} and get no cluster"),
        ));
    }
    let d = model.features.len();
    let mut data = vec![0.0; rows.len() * d];
    for (j, (f, col)) in model.features.iter().zip(&cols).enumerate() {
        for (i, &row) in rows.iter().enumerate() {
            let x = f.transform.apply(col[row].unwrap_or_default());
            data[i * d + j] = (x - model.means[j]) / model.sds[j];
        }
    }
    Ok(FeatureMatrix {
        features: model.features.clone(),
        scaler: Scaler {
            means: model.means.clone(),
            sds: model.sds.clone(),
        },
        data,
        rows,
        notes,
    })
}

/// Extracts, transforms and standardises the features.
pub fn extract(
    table: &CustomerTable,
    explicit: Option<&[Feature]>,
    default: Transform,
) -> Result<FeatureMatrix> {
    let mut notes = Vec::new();
    let features = resolve_features(table, explicit, default, &mut notes);
    // Every feature's raw values straight into the row-major matrix, one column read at a
    // time and let go (a table on disk keeps none of them, and each is read once), with
    // which customers have every feature; no feature is held as 16-byte options (290 MB each
    // at 18M customers).
    let width = features.len();
    let n = table.len();
    let mut data = vec![0.0; n * width];
    let mut present = vec![true; n];
    for (j, f) in features.iter().enumerate() {
        let col = feature_column(table, &f.column)?;
        data.par_chunks_mut(width)
            .zip(present.par_iter_mut())
            .enumerate()
            .for_each(|(i, (row, p))| match col.number(i) {
                Some(x) => row[j] = x,
                None => *p = false,
            });
    }
    let rows: Vec<usize> = (0..n).filter(|&i| present[i]).collect();
    drop(present);
    let names = || {
        features
            .iter()
            .map(|f| f.column.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if rows.len() < 2 {
        return Err(ClusterError::TooFewCustomers {
            found: rows.len(),
            features: names(),
        });
    }
    if rows.len() < n {
        let (lack, of, cols) = (n - rows.len(), n, names());
        notes.push(Note::new(
            format!("{of} 位客户中有 {lack} 位在 {cols} 上缺值，不参与聚类"),
            format!("{lack} of {of} customers lack a value in {cols} and get no cluster"),
        ));
        // the customers with every feature moved up, in order
        for (w, &r) in rows.iter().enumerate() {
            data.copy_within(r * width..(r + 1) * width, w * width);
        }
        data.truncate(rows.len() * width);
        data.shrink_to_fit();
    }
    let mut kept = Vec::new();
    let mut scaler = Scaler {
        means: Vec::new(),
        sds: Vec::new(),
    };
    // each feature standardised in place; a constant feature's slots are squeezed out at the
    // end
    let mut keep = vec![false; width];
    for (j, f) in features.iter().enumerate() {
        let raw: Vec<f64> = data.par_chunks(width).map(|row| row[j]).collect();
        // element by element on all cores; the sums below stay in row order
        let t = f.transform.apply_all(&raw);
        let first = raw[0];
        drop(raw);
        let n = t.len() as f64;
        let mean = t.iter().sum::<f64>() / n;
        let sd = (t.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
        if sd.is_nan() || sd <= 1e-12 * (1.0 + mean.abs()) {
            let c = &f.column;
            notes.push(Note::new(
                format!("特征 `{c}` 为常数（{first}），已剔除"),
                format!("feature `{c}` is constant ({first}) and was dropped"),
            ));
            continue;
        }
        data.par_chunks_mut(width)
            .zip(t.par_iter())
            .for_each(|(row, x)| row[j] = (x - mean) / sd);
        scaler.means.push(mean);
        scaler.sds.push(sd);
        kept.push(f.clone());
        keep[j] = true;
    }
    if kept.is_empty() {
        return Err(ClusterError::AllFeaturesConstant(names()));
    }
    if kept.len() < width {
        let mut w = 0;
        for r in 0..rows.len() {
            for j in 0..width {
                if keep[j] {
                    data[w] = data[r * width + j];
                    w += 1;
                }
            }
        }
        data.truncate(w);
        data.shrink_to_fit();
    }
    Ok(FeatureMatrix {
        features: kept,
        scaler,
        data,
        rows,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_core::ColumnData;

    /// The looked-up transforms of whole numbers are the function's own, to the bit, and
    /// anything else (fractions, a wide range, NaN, -0.0) goes through the function.
    #[test]
    fn transforms_looked_up_are_the_functions_own() {
        let cases: Vec<Vec<f64>> = vec![
            (0..2000).map(|i| (i % 731) as f64).collect(),
            vec![-3.0, 0.0, 7.0, f64::NAN, 12.0],
            vec![1.5, 2.0, 3.0],
            vec![0.0, 1e9, 5.0],
            vec![-0.0, 1.0],
            vec![],
        ];
        for t in [Transform::Log1p, Transform::None] {
            for xs in &cases {
                let fast = t.apply_all(xs);
                let slow: Vec<f64> = xs.iter().map(|&x| t.apply(x)).collect();
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&slow), "{t:?} {xs:?}");
            }
        }
    }

    fn table() -> CustomerTable {
        let mut t = CustomerTable::new(vec!["a".into(), "b".into(), "c".into()]);
        t.push(
            "recency_days",
            ColumnData::Int(vec![Some(1), Some(30), Some(300)].into()),
        )
        .unwrap();
        t.push(
            "orders",
            ColumnData::Int(vec![Some(9), Some(2), Some(1)].into()),
        )
        .unwrap();
        t.push(
            "monetary",
            ColumnData::Float(vec![Some(900.0), Some(-20.0), None].into()),
        )
        .unwrap();
        t.push(
            "categories",
            ColumnData::Int(vec![Some(2), Some(2), Some(2)].into()),
        )
        .unwrap();
        t
    }

    #[test]
    fn parses_feature_syntax() {
        let f = Feature::parse("log1p(monetary)", Transform::None).unwrap();
        assert_eq!(f.transform, Transform::Log1p);
        assert_eq!(f.label(), "log1p(monetary)");
        let f = Feature::parse(" none( satisfaction ) ", Transform::Log1p).unwrap();
        assert_eq!(
            (f.column.as_str(), f.transform),
            ("satisfaction", Transform::None)
        );
        assert_eq!(
            Feature::parse("orders", Transform::Log1p)
                .unwrap()
                .transform,
            Transform::Log1p
        );
        for bad in ["exp(x)", "log1p(x", "", "log1p()", "a b"] {
            assert!(Feature::parse(bad, Transform::Log1p).is_err(), "{bad}");
        }
    }

    #[test]
    fn log1p_is_sign_symmetric_and_invertible() {
        for x in [-500.0, -1.0, 0.0, 0.5, 1e6] {
            let y = Transform::Log1p.apply(x);
            assert!(y.is_finite());
            assert!((Transform::Log1p.invert(y) - x).abs() <= 1e-9 * (1.0 + x.abs()));
        }
    }

    #[test]
    fn missing_rows_are_left_out_and_constants_dropped() {
        let m = extract(&table(), None, Transform::Log1p).unwrap();
        assert_eq!(m.rows, vec![0, 1]);
        let cols: Vec<&str> = m.features.iter().map(|f| f.column.as_str()).collect();
        assert_eq!(cols, ["recency_days", "orders", "monetary"]);
        assert_eq!(m.notes.len(), 2, "{:?}", m.notes);
        assert!(
            m.notes
                .iter()
                .any(|n| n.en.contains("`categories` is constant"))
        );
        // z-scores: each column has mean 0 and population sd 1.
        for j in 0..3 {
            let (a, b) = (m.data[j], m.data[3 + j]);
            assert!((a + b).abs() < 1e-12 && (a.abs() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn customers_missing_a_feature_anywhere_leave_the_others_matrix_as_it_is_without_them() {
        let ids: Vec<String> = (0..7).map(|i| format!("c{i}")).collect();
        let r = [Some(5), None, Some(40), Some(2), Some(90), Some(7), Some(1)];
        let m = [
            Some(10.5),
            Some(3.0),
            Some(700.0),
            None,
            Some(1.25),
            Some(88.0),
            Some(9.0),
        ];
        let with = |keep: &[usize]| {
            let mut t = CustomerTable::new(keep.iter().map(|&i| ids[i].clone()).collect());
            let pick = |v: &[Option<f64>]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
            let r: Vec<Option<f64>> = r.iter().map(|x| x.map(f64::from)).collect();
            t.push("recency_days", ColumnData::Float(pick(&r).into()))
                .unwrap();
            t.push("monetary", ColumnData::Float(pick(&m).into()))
                .unwrap();
            let o: Vec<Option<f64>> = (0..7).map(|i| Some(f64::from(i % 3 + 1))).collect();
            t.push("orders", ColumnData::Float(pick(&o).into()))
                .unwrap();
            extract(&t, None, Transform::Log1p).unwrap()
        };
        let all = with(&[0, 1, 2, 3, 4, 5, 6]);
        let complete = with(&[0, 2, 4, 5, 6]);
        assert_eq!(all.rows, [0, 2, 4, 5, 6]);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&all.data), bits(&complete.data));
        assert_eq!(all.scaler.means, complete.scaler.means);
        assert!(
            all.notes
                .iter()
                .any(|n| n.en.starts_with("2 of 7 customers lack"))
        );
    }

    #[test]
    fn bad_input_gives_clear_errors() {
        let mut t = table();
        t.set(
            "orders",
            ColumnData::Float(vec![Some(1.0), Some(f64::INFINITY), Some(2.0)].into()),
        )
        .unwrap();
        let e = extract(&t, None, Transform::Log1p).unwrap_err();
        assert!(
            matches!(&e, ClusterError::NonFinite { customer, .. } if customer == "b"),
            "{e}"
        );
        let only_c = [Feature::parse("categories", Transform::Log1p).unwrap()];
        assert!(matches!(
            extract(&table(), Some(&only_c), Transform::Log1p),
            Err(ClusterError::AllFeaturesConstant(_))
        ));
        let one = table().take(&[0]);
        assert!(matches!(
            extract(&one, None, Transform::Log1p),
            Err(ClusterError::TooFewCustomers { found: 1, .. })
        ));
        let no_col = [Feature::parse("profit", Transform::Log1p).unwrap()];
        assert!(matches!(
            extract(&table(), Some(&no_col), Transform::Log1p),
            Err(ClusterError::Table(_))
        ));
    }
}
