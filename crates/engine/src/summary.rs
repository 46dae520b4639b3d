//! The analysis contract: [`Summary`] is everything a surface may show about a run, typed,
//! and `summary.json` is exactly its serialized form. The report, the CLI and the server
//! render it; none of them computes anything from it that the engine could have decided.
//!
//! The shape is versioned ([`SCHEMA_VERSION`]). [`Summary::from_json`] reads the current
//! version and the one before it (upgraded on reading) and refuses others with a line that
//! says what to do.

use clientele_core::{Day, TimeUnit};
use clientele_ingest::{IngestStats, SideTableStats};
use serde::{Deserialize, Serialize};

use crate::analysis::{ColumnInfo, HistoryPoint, Kpis};
use crate::{
    ClusterSection, ClvSection, EngineError, Fault, Lang, LifecycleSection, TargetList, Validation,
    ValueTierSection,
};

/// Version of the [`Summary`] shape. 1 was the untyped summary of clientele 0.1 (no
/// `schema_version` key); 2 added the version, step results and the engine's decisions.
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest version [`Summary::from_json`] still reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// The result of a step that may not run or may fail without stopping the analysis: the
/// rest of the run is still worth having when, say, the CLV model cannot be fitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[schemars(rename = "Step_for_{T}")]
pub enum Step<T> {
    /// The step ran; its result.
    Done(T),
    /// The step was not asked for (turned off in the config, or its input not given).
    #[default]
    Off,
    /// The data does not allow the step (too few customers, no repeat purchases…).
    Skipped {
        /// Why, in the model's words.
        reason: String,
        /// The same in Chinese, where the model crate words it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_zh: Option<String>,
    },
    /// The step failed.
    Failed {
        /// The error.
        error: String,
        /// The same in Chinese, where the model crate words it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_zh: Option<String>,
    },
}

impl<T> Step<T> {
    /// The result, when the step ran.
    pub fn done(&self) -> Option<&T> {
        match self {
            Step::Done(t) => Some(t),
            _ => None,
        }
    }

    /// Why there is no result, when the step was asked for and has none.
    pub fn problem(&self) -> Option<&str> {
        match self {
            Step::Skipped { reason, .. } => Some(reason),
            Step::Failed { error, .. } => Some(error),
            Step::Done(_) | Step::Off => None,
        }
    }

    /// [`Step::problem`] in `lang` (English where no Chinese words were given).
    pub fn problem_in(&self, lang: clientele_core::Lang) -> Option<&str> {
        let zh = match self {
            Step::Skipped { reason_zh, .. } => reason_zh.as_deref(),
            Step::Failed { error_zh, .. } => error_zh.as_deref(),
            Step::Done(_) | Step::Off => None,
        };
        self.problem().map(|en| lang.pick(zh.unwrap_or(en), en))
    }
}

impl<T> Step<T> {
    /// The step's outcome: what the data does not allow ([`Fault::Data`]) is skipped, any
    /// other error failed; either way in the model crate's own words, without a step prefix.
    pub(crate) fn of(result: Result<T, EngineError>) -> Step<T> {
        match result {
            Ok(t) => Step::Done(t),
            Err(e) if e.fault() == Fault::Data => Step::Skipped {
                reason: e.reason(),
                reason_zh: e.reason_zh(),
            },
            Err(e) => Step::Failed {
                error: e.reason(),
                error_zh: e.reason_zh(),
            },
        }
    }
}

/// One of the best customers (by CLV, or by monetary without CLV), with the columns a person
/// looks at first; `None` where the run has no such column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TopCustomer {
    /// Customer id.
    pub customer_id: String,
    /// Σ net amount.
    pub monetary: Option<f64>,
    /// Orders.
    pub orders: Option<i64>,
    /// Days since the last purchase.
    pub recency_days: Option<i64>,
    /// Customer lifetime value.
    pub clv: Option<f64>,
    /// Probability of being alive.
    pub p_alive: Option<f64>,
    /// The 8-class RFM segment, in the run's language.
    pub rfm_segment: Option<String>,
    /// ABC value tier.
    pub value_tier: Option<String>,
    /// Lifecycle stage id.
    pub lifecycle_stage: Option<String>,
    /// K-means segment name.
    pub cluster_name: Option<String>,
}

/// Which grouping a [`NextStep`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// A grading scheme (`[[scheme]]` or a classic preset).
    Grade,
    /// An RFM segment scheme.
    Rfm,
    /// A lifecycle stage.
    Lifecycle,
}

/// A group of customers worth acting on, with the playbook's action and its target list:
/// the "what to do next" of the run, chosen by the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NextStep {
    /// Where the group comes from.
    pub kind: GroupKind,
    /// Scheme name (`behaviour`, `cn8`…; `lifecycle` for stages).
    pub scheme: String,
    /// The group as the customer table names it (in the run's language).
    pub group: String,
    /// Chinese name of the group.
    pub name_zh: String,
    /// English name of the group.
    pub name_en: String,
    /// Customers in the group.
    pub customers: u64,
    /// Share of all customers.
    pub share: Option<f64>,
    /// Share of revenue (`None` for lifecycle stages, which include leads).
    pub revenue_share: Option<f64>,
    /// The playbook's action, Chinese.
    pub action_zh: Option<String>,
    /// The playbook's action, English.
    pub action_en: Option<String>,
    /// Its target list, relative to the output folder.
    pub file: Option<String>,
    /// What is at stake with the group: the sum over its customers of `value_basis` (their
    /// expected CLV, or their past revenue when the run has no CLV). Steps are ordered by it.
    #[serde(default)]
    pub value_at_stake: Option<f64>,
    /// What `value_at_stake` sums.
    #[serde(default)]
    pub value_basis: Option<ValueBasis>,
}

/// What the value at stake of a group sums over its customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueBasis {
    /// Expected customer lifetime value over the CLV horizon (column `clv`).
    Clv,
    /// Past net revenue (column `monetary`), when the run has no CLV.
    Revenue,
}

/// Everything a surface shows about one analysis run; serialized as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// Version of this shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `clientele <version>`.
    pub tool: String,
    /// The as-of date used.
    pub as_of: Day,
    /// Hash of the result-changing settings.
    pub config_hash: String,
    /// Time unit of the CLV-convention columns.
    pub time_unit: TimeUnit,
    /// Language of the labels in the customer table and lists.
    pub lang: Lang,
    /// Row accounting of the transactions.
    pub inputs: IngestStats,
    /// `read N = accepted A + rejected R (+ after as-of E)`.
    pub reconciliation: String,
    /// Side tables joined.
    pub side_tables: Vec<SideTableStats>,
    /// Leads that have not bought yet.
    pub leads_without_purchase: usize,
    /// Headline numbers.
    pub kpis: Kpis,
    /// Columns of the customer table with their types.
    pub columns: Vec<ColumnInfo>,
    /// CLV model fit and totals.
    pub clv: Step<ClvSection>,
    /// Calibration/holdout validation of the CLV model (`[time] calibration_end`).
    pub validation: Step<Validation>,
    /// K-means segments.
    pub clusters: Step<ClusterSection>,
    /// Behaviour: distributions, categories, affinity, breakdowns, seasonality.
    pub behaviour: Step<clientele_behaviour::BehaviourSummary>,
    /// Lifecycle stage counts (with actions), monthly trends and cohort retention.
    pub lifecycle: Option<LifecycleSection>,
    /// RFM thresholds, level counts, segment summaries (with actions) and the R×F grid.
    pub rfm: Option<clientele_rfm::RfmReport>,
    /// Per grading scheme: grades with customers, revenue, means and the playbook action.
    pub grades: Vec<clientele_grade::SchemeSummary>,
    /// Classic presets not applied because the data lacks their columns, with the reason.
    pub skipped_presets: Vec<clientele_core::Note>,
    /// Value tiers: Pareto curve, ABC and HML totals.
    pub value_tiers: Option<ValueTierSection>,
    /// Target lists written under `segments/`.
    pub target_lists: Vec<TargetList>,
    /// The groups to act on first, largest first (at most [`NEXT_STEPS`]).
    pub next_steps: Vec<NextStep>,
    /// The best customers, best first (at most [`TOP_CUSTOMERS`]).
    pub top_customers: Vec<TopCustomer>,
    /// Comparison with a previous run (`--previous`): migration matrices, move counts, drift.
    /// The customers who moved are in `migration/moves.csv`.
    pub migration: Option<clientele_lifecycle::Comparison>,
    /// Back-dated month-end points (`--history monthly`).
    pub history: Vec<HistoryPoint>,
    /// Which of the many migrations, histories and breakdowns to show when there is room for
    /// a few (absent from version 1 summaries, chosen when they are read).
    #[serde(default)]
    pub highlights: Highlights,
}

/// How many migrations and history groupings [`Highlights`] names at most.
pub const HIGHLIGHTS: usize = 4;

/// The parts of long lists worth showing first, chosen by the engine so that every surface
/// shows the same ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Highlights {
    /// Names of the migrations in [`Summary::migration`] that moved, most telling first:
    /// lifecycle, the RFM 8 classes, value tiers, the behaviour and profit grades, clusters,
    /// then the rest (at most [`HIGHLIGHTS`]).
    pub migrations: Vec<String>,
    /// Groupings (size keys) of [`Summary::history`], in the same order (at most
    /// [`HIGHLIGHTS`]).
    pub history: Vec<String>,
    /// Index in the behaviour step's `breakdowns` of the one to show: the first by city,
    /// channel, age or gender, in that order, else the first.
    pub breakdown: Option<usize>,
}

/// How many groups [`Summary::next_steps`] holds at most.
pub const NEXT_STEPS: usize = 12;

/// How many customers [`Summary::top_customers`] holds at most.
pub const TOP_CUSTOMERS: usize = 20;

impl Summary {
    /// The JSON Schema of `summary.json`, published as `docs/summary.schema.json`.
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(Summary)
    }

    /// Reads `summary.json` of this version or an older readable one.
    pub fn from_json(text: &str) -> Result<Summary, EngineError> {
        let bad = |reason: String| EngineError::NotASummary { reason };
        let mut v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Some(obj) = v.as_object() else {
            return Err(bad("not a JSON object".into()));
        };
        let version = match obj.get("schema_version") {
            None if obj.contains_key("config_hash") && obj.contains_key("kpis") => 1,
            None => {
                return Err(bad(
                    "no schema_version and not a clientele 0.1 summary".into()
                ));
            }
            Some(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad(format!("schema_version {n} is not a version number")))?,
        };
        if version > SCHEMA_VERSION {
            return Err(EngineError::SummaryVersion {
                found: version,
                fix: "it was written by a newer clientele: upgrade clientele to read it",
            });
        }
        if version < OLDEST_READABLE_VERSION {
            return Err(EngineError::SummaryVersion {
                found: version,
                fix: "rerun the analysis with this clientele to write a current summary.json",
            });
        }
        if version == 1 {
            upgrade_v1(&mut v);
        }
        let mut summary: Summary = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        if version == 1 {
            summary.highlights = crate::decide::highlights(&summary);
        }
        Ok(summary)
    }
}

/// Version 1 → 2: the version key, step results instead of `<step>` + `<step>_error` pairs,
/// move counts under `count`, and the lists a version 1 summary did not carry left empty.
fn upgrade_v1(v: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let Some(obj) = v.as_object_mut() else { return };
    obj.insert("schema_version".into(), json!(2));
    for (step, error) in [
        ("clv", "clv_error"),
        ("validation", "validation_error"),
        ("clusters", "cluster_error"),
        ("behaviour", "behaviour_error"),
    ] {
        let result = obj.remove(step).filter(|r| !r.is_null());
        let problem = obj.remove(error).filter(|e| !e.is_null());
        let value = match (result, problem) {
            (Some(Value::Object(mut r)), _) => {
                r.insert("status".into(), json!("done"));
                Value::Object(r)
            }
            (_, Some(e)) => json!({"status": "failed", "error": e}),
            _ => json!({"status": "off"}),
        };
        obj.insert(step.into(), value);
    }
    if let Some(m) = obj.get_mut("migration").and_then(Value::as_object_mut) {
        let mut migrations: Vec<&mut Value> = Vec::new();
        for (k, v) in m.iter_mut() {
            match (k.as_str(), v) {
                ("schemes", Value::Array(a)) => migrations.extend(a.iter_mut()),
                ("lifecycle", v @ Value::Object(_)) => migrations.push(v),
                _ => {}
            }
        }
        for mig in migrations {
            let Some(mig) = mig.as_object_mut() else {
                continue;
            };
            let (stayed, moved) = (
                mig.get("stayed").and_then(Value::as_f64),
                mig.get("moved").and_then(Value::as_f64),
            );
            let share = match (stayed, moved) {
                (Some(s), Some(m)) if s + m > 0.0 => json!(m / (s + m)),
                _ => Value::Null,
            };
            mig.insert("moved_share".into(), share);
            for mv in mig
                .get_mut("moves")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object_mut)
            {
                if let Some(n) = mv.remove("customers") {
                    mv.insert("count".into(), n);
                }
            }
        }
    }
    for key in ["next_steps", "top_customers"] {
        obj.entry(key).or_insert_with(|| json!([]));
    }
}
