//! Breakdowns of grades, stages and value by a dimension column (city, channel, store, sales
//! rep, attribute bands): customers, revenue (Σ `monetary`) and shares per (value, grade).
//!
//! Text dimensions keep their `max_values` most common values, the rest become "(other)";
//! numeric dimensions are cut into quantile bands ("25–34"); missing values are "(unknown)".

use clientele_core::columns as col;
use clientele_core::{ColumnData, CustomerTable, Texts};
use serde::{Deserialize, Serialize};

use crate::config::BehaviourConfig;
use crate::error::{BehaviourError, Result};
use crate::groups::{Groups, banded, categorical};
use crate::input::Lang;
use crate::stats::{check_finite, div};

/// Customers and revenue of one dimension value or one grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupTotals {
    /// Value or grade label.
    pub label: String,
    /// Customers.
    pub customers: u64,
    /// Share of all customers.
    pub customer_share: f64,
    /// Σ monetary.
    pub revenue: f64,
    /// Share of all revenue.
    pub revenue_share: f64,
}

/// One dimension × one grade column, as matrices indexed `[value][grade]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Breakdown {
    /// Dimension column.
    pub dimension: String,
    /// True when the dimension is numeric and was banded.
    pub banded: bool,
    /// Grade-like column.
    pub grade_column: String,
    /// Rows: dimension values (bands in value order, else by customers), then "(other)", "(unknown)".
    pub values: Vec<GroupTotals>,
    /// Columns: grades.
    pub grades: Vec<GroupTotals>,
    /// Customers per cell.
    pub customers: Vec<Vec<u64>>,
    /// Σ monetary per cell.
    pub revenue: Vec<Vec<f64>>,
    /// Cell customers / value customers (grade mix within a city, say).
    pub share_in_value: Vec<Vec<f64>>,
    /// Cell customers / grade customers (where a grade's customers are).
    pub share_in_grade: Vec<Vec<f64>>,
}

/// A dimension column grouped into labelled values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dimension {
    pub name: String,
    pub banded: bool,
    pub groups: Groups,
}

/// Columns never picked automatically as dimensions: identity, metrics and model outputs.
const NOT_DIMENSIONS: &[&str] = &[
    col::CUSTOMER_ID,
    col::TOP_CATEGORY,
    col::RFM_SEGMENT,
    col::LIFECYCLE_STAGE,
    col::VALUE_TIER,
    col::CLUSTER,
    col::CLUSTER_NAME,
    col::NEXT_BEST_CATEGORY,
];

/// Numeric attributes banded automatically.
const AUTO_NUMERIC: &[&str] = &["age", "income"];

fn auto_excluded(name: &str, grade_columns: &[&str]) -> bool {
    NOT_DIMENSIONS.contains(&name)
        || grade_columns.contains(&name)
        || clientele_core::Grouping::of_column(name).is_some()
}

/// Distinct non-missing texts.
fn distinct(v: &Texts) -> usize {
    v.counts().iter().filter(|&&n| n > 0).count()
}

fn dimension(
    table: &CustomerTable,
    name: &str,
    data: &ColumnData,
    config: &BehaviourConfig,
    lang: Lang,
) -> Result<Dimension> {
    match data {
        ColumnData::Text(_) => Ok(Dimension {
            name: name.to_string(),
            banded: false,
            groups: categorical(data, config.max_values, lang),
        }),
        ColumnData::Int(_) | ColumnData::Float(_) => {
            let v = table.numbers(name)?;
            check_finite(name, &v)?;
            Ok(Dimension {
                name: name.to_string(),
                banded: true,
                groups: banded(&v, config.numeric_bands, lang),
            })
        }
        ColumnData::Date(_) => Err(BehaviourError::DimensionType {
            name: name.to_string(),
            actual: data.type_name(),
        }),
    }
}

/// The configured dimensions, or the automatic choice: text columns (not identity, metrics or
/// grades) with 2..=`max_distinct` distinct values, plus `age` and `income` when numeric.
pub(crate) fn dimensions(
    table: &CustomerTable,
    config: &BehaviourConfig,
    grade_columns: &[&str],
    lang: Lang,
) -> Result<Vec<Dimension>> {
    match &config.dimensions {
        Some(names) => names
            .iter()
            .map(|n| dimension(table, n, &*table.column_once(n)?, config, lang))
            .collect(),
        None => {
            let mut out = Vec::new();
            // by name, so a stored table reads only the text columns and `age`/`income`
            for (name, type_name) in table.column_types() {
                if auto_excluded(name, grade_columns)
                    || type_name == "date"
                    || (type_name != "text" && !AUTO_NUMERIC.contains(&name))
                {
                    continue;
                }
                // read once: a table on disk keeps none of these columns afterwards
                let data = table.column_once(name)?;
                let pick = match &*data {
                    ColumnData::Text(v) => (2..=config.max_distinct).contains(&distinct(v)),
                    ColumnData::Int(_) | ColumnData::Float(_) => AUTO_NUMERIC.contains(&name),
                    ColumnData::Date(_) => false,
                };
                if pick {
                    out.push(dimension(table, name, &data, config, lang)?);
                }
            }
            Ok(out)
        }
    }
}

fn totals(
    labels: &[String],
    customers: &[u64],
    revenue: &[f64],
    n: f64,
    total: f64,
) -> Vec<GroupTotals> {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| GroupTotals {
            label: l.clone(),
            customers: customers[i],
            customer_share: div(customers[i] as f64, n),
            revenue: revenue[i],
            revenue_share: div(revenue[i], total),
        })
        .collect()
}

/// Cross-tabulates one dimension with one grade column; `monetary` has one value per customer
/// (missing counts as 0 revenue).
pub(crate) fn breakdown(
    dim: &Dimension,
    grade_column: &str,
    grades: &Groups,
    monetary: &[Option<f64>],
) -> Breakdown {
    let (nv, ng) = (dim.groups.labels.len(), grades.labels.len());
    let mut cust = vec![0u64; nv * ng];
    let mut rev = vec![0.0; nv * ng];
    for ((&v, &g), m) in dim.groups.codes.iter().zip(&grades.codes).zip(monetary) {
        let i = v as usize * ng + g as usize;
        cust[i] += 1;
        rev[i] += m.unwrap_or(0.0);
    }
    let rows = |v: &[u64]| -> Vec<Vec<u64>> { v.chunks(ng.max(1)).map(<[u64]>::to_vec).collect() };
    let vc: Vec<u64> = (0..nv)
        .map(|v| cust[v * ng..(v + 1) * ng].iter().sum())
        .collect();
    let vr: Vec<f64> = (0..nv)
        .map(|v| rev[v * ng..(v + 1) * ng].iter().sum())
        .collect();
    let gc: Vec<u64> = (0..ng)
        .map(|g| (0..nv).map(|v| cust[v * ng + g]).sum())
        .collect();
    let gr: Vec<f64> = (0..ng)
        .map(|g| (0..nv).map(|v| rev[v * ng + g]).sum())
        .collect();
    let n = vc.iter().sum::<u64>() as f64;
    let total: f64 = vr.iter().sum();
    let customers = if ng == 0 {
        vec![Vec::new(); nv]
    } else {
        rows(&cust)
    };
    let revenue: Vec<Vec<f64>> = if ng == 0 {
        vec![Vec::new(); nv]
    } else {
        rev.chunks(ng).map(<[f64]>::to_vec).collect()
    };
    let share_in_value = customers
        .iter()
        .enumerate()
        .map(|(v, r)| r.iter().map(|&c| div(c as f64, vc[v] as f64)).collect())
        .collect();
    let share_in_grade = customers
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(g, &c)| div(c as f64, gc[g] as f64))
                .collect()
        })
        .collect();
    Breakdown {
        dimension: dim.name.clone(),
        banded: dim.banded,
        grade_column: grade_column.to_string(),
        values: totals(&dim.groups.labels, &vc, &vr, n, total),
        grades: totals(&grades.labels, &gc, &gr, n, total),
        customers,
        revenue,
        share_in_value,
        share_in_grade,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &[Option<&str>]) -> ColumnData {
        ColumnData::Text(v.iter().copied().collect())
    }

    fn table() -> CustomerTable {
        let mut t = CustomerTable::new((0..6).map(|i| i.to_string()).collect());
        let city = [
            Some("北京"),
            Some("上海"),
            Some("北京"),
            None,
            Some("广州"),
            Some("北京"),
        ];
        t.push("city", text(&city)).unwrap();
        t.push("id_like", text(&["a", "b", "c", "d", "e", "f"].map(Some)))
            .unwrap();
        t.push("one_value", text(&[Some("x"); 6])).unwrap();
        t.push(
            "grade_behaviour",
            text(&[
                Some("VIP"),
                Some("普通"),
                Some("普通"),
                Some("VIP"),
                Some("普通"),
                None,
            ]),
        )
        .unwrap();
        t.push(
            "age",
            ColumnData::Int(vec![Some(20), Some(30), Some(40), Some(50), None, Some(60)].into()),
        )
        .unwrap();
        t.push("orders", ColumnData::Int(vec![Some(1); 6].into()))
            .unwrap();
        t.push(
            "monetary",
            ColumnData::Float(
                vec![
                    Some(10.0),
                    Some(20.0),
                    None,
                    Some(5.0),
                    Some(1.0),
                    Some(4.0),
                ]
                .into(),
            ),
        )
        .unwrap();
        t
    }

    #[test]
    fn auto_dimensions_pick_attributes() {
        let t = table();
        let cfg = BehaviourConfig {
            max_distinct: 5,
            ..BehaviourConfig::default()
        };
        let d = dimensions(&t, &cfg, &["grade_behaviour"], Lang::En).unwrap();
        let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["city", "age"]);
        assert_eq!(d[0].groups.labels, ["北京", "上海", "广州", "(unknown)"]);
        assert!(d[1].banded);
    }

    #[test]
    fn explicit_dimensions_and_errors() {
        let t = table();
        let cfg = BehaviourConfig {
            dimensions: Some(vec!["orders".into()]),
            ..BehaviourConfig::default()
        };
        assert_eq!(
            dimensions(&t, &cfg, &[], Lang::En).unwrap()[0]
                .groups
                .labels,
            ["1"]
        );
        let bad = BehaviourConfig {
            dimensions: Some(vec!["nope".into()]),
            ..BehaviourConfig::default()
        };
        assert!(matches!(
            dimensions(&t, &bad, &[], Lang::En),
            Err(BehaviourError::Column(_))
        ));
    }

    #[test]
    fn cross_tab_sums() {
        let t = table();
        let cfg = BehaviourConfig::default();
        let d = dimension(&t, "city", t.column("city").unwrap(), &cfg, Lang::Zh).unwrap();
        let g = categorical(t.column("grade_behaviour").unwrap(), 20, Lang::Zh);
        assert_eq!(g.labels, ["普通", "VIP", "(未知)"]);
        let m = t.numbers("monetary").unwrap();
        let b = breakdown(&d, "grade_behaviour", &g, &m);
        assert_eq!(b.values[0].label, "北京");
        assert_eq!(b.values[0].customers, 3);
        assert_eq!(b.values[0].revenue, 14.0);
        // 北京: VIP (row 0), 普通 (row 2), unknown (row 5)
        assert_eq!(b.customers[0], [1, 1, 1]);
        assert_eq!(b.revenue[0], [0.0, 10.0, 4.0]);
        assert_eq!(b.share_in_value[0][1], 1.0 / 3.0);
        assert_eq!(b.share_in_grade[0][1], 0.5);
        assert_eq!(b.grades[1].customers, 2);
        assert_eq!(b.values.last().unwrap().label, "(未知)");
        let total: u64 = b.values.iter().map(|v| v.customers).sum();
        assert_eq!(total, 6);
        assert!((b.values.iter().map(|v| v.revenue_share).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn empty_table() {
        let t = CustomerTable::new(vec![]);
        let d = Dimension {
            name: "city".into(),
            banded: false,
            groups: categorical(&ColumnData::Text(Texts::default()), 5, Lang::En),
        };
        let g = categorical(&ColumnData::Text(Texts::default()), 5, Lang::En);
        let b = breakdown(&d, "g", &g, &[]);
        assert!(b.values.is_empty() && b.grades.is_empty());
        assert!(
            dimensions(&t, &BehaviourConfig::default(), &[], Lang::En)
                .unwrap()
                .is_empty()
        );
    }
}
