//! Scoring customers with a finished run's models and rules, without refitting anything: the
//! customers a system sends (`clientele serve`, `POST /api/v1/score`) get the grades, RFM scores
//! and segments, CLV, P(alive), expected purchases, lifecycle stage and cluster that the run
//! would have given them, had they been among its customers.
//!
//! What is fixed to the run, not recomputed on the customers sent:
//! - grading schemes: the `[[scheme]]` rules (or the classic presets the run applied), with
//!   statistics such as `p80(monetary)` at the values the run resolved
//!   ([`clientele_grade::SchemeSummary::resolved`]);
//! - RFM: the run's cut points and segment references (`summary.rfm.thresholds`, the
//!   thresholds `snapshot/snapshot.json` also holds);
//! - CLV: the fitted transaction and spend models, horizon and discount (`summary.clv`);
//! - lifecycle: the as-of date and the fallback cadence of customers without a rhythm of
//!   their own (`summary.lifecycle`);
//! - clusters: the fitted features, scaler and centroids (`summary.clusters.model`).
//!
//! Not scored: **value tiers** (ABC, HML). A tier is a rank among all the run's customers
//! (A while the customers ranked before hold less than 80 % of the value); the run stores no
//! value cut points, so a customer outside it cannot be placed. Grading schemes whose rules
//! read `value_tier`, `hml_tier` or `contribution_share` are left out for the same reason
//! ([`Scorer::omitted`] lists what is left out, and why).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use clientele_clv::{BgBb, BgNbd, ClvOptions, GammaGamma, MbgNbd, Model, ParetoNbd};
use clientele_core::columns as col;
use clientele_core::{ColumnData, CustomerTable, Day, Grouping, Lang, Note, TimeUnit, Values};
use clientele_grade::{ResolvedStat, SchemeConfig};
use clientele_lifecycle::{LifecycleModel, PAliveRule};
use clientele_rfm::{RfmData, RfmModel};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Config, EngineError, Step, Summary};

/// Lifecycle inputs that may be missing for a customer (one-time buyers have neither).
const AVG_INTERPURCHASE_DAYS: &str = "avg_interpurchase_days";
const LAST_GAP_DAYS: &str = "last_gap_days";
/// The CLV-convention columns, derived from the purchase dates (see [`Scorer`]).
const BTYD: [&str; 3] = ["frequency", "recency", "T"];
const MONETARY_VALUE: &str = "monetary_value";

/// The type of an input column, as the run's customer table has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// A whole number (JSON: an integer).
    Int,
    /// A number (JSON: a number).
    Float,
    /// A calendar day (JSON: `"YYYY-MM-DD"`).
    Date,
    /// Text (JSON: a string; a number is taken as its text).
    Text,
}

impl ColumnKind {
    fn of_name(name: &str) -> Option<ColumnKind> {
        match name {
            "int" => Some(ColumnKind::Int),
            "float" => Some(ColumnKind::Float),
            "date" => Some(ColumnKind::Date),
            "text" => Some(ColumnKind::Text),
            _ => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ColumnKind::Int => "a whole number",
            ColumnKind::Float => "a number",
            ColumnKind::Date => "a date (YYYY-MM-DD)",
            ColumnKind::Text => "text",
        }
    }

    /// [`ColumnKind::describe`] in Chinese.
    fn describe_zh(self) -> &'static str {
        match self {
            ColumnKind::Int => "整数",
            ColumnKind::Float => "数字",
            ColumnKind::Date => "日期（YYYY-MM-DD）",
            ColumnKind::Text => "文本",
        }
    }
}

/// A column the customers to score must have: its type and the outputs that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreInput {
    /// Column name, as in the run's customer table (`customers.csv`).
    pub column: String,
    /// Its type.
    pub r#type: ColumnKind,
    /// True when a customer may have no value (JSON `null` or no key): a grading rule then
    /// sees NULL, a customer without a cluster feature gets no cluster.
    pub nullable: bool,
    /// The outputs that need it: `rfm`, `p_alive`, `expected_purchases`, `clv`,
    /// `lifecycle_stage`, `cluster`, `grades.<scheme>`.
    pub used_by: Vec<String>,
}

/// An output of the run that scoring does not give, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Omission {
    /// The output (`value_tier`, `clv`, `grades.<scheme>`…).
    pub output: String,
    /// Why, in both languages.
    pub reason: Note,
}

/// One customer's RFM scores and segments under the run's thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RfmScores {
    /// Recency score (1 = longest ago).
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Monetary score.
    pub m: u8,
    /// The three scores as one code (`"545"`).
    pub code: String,
    /// The 8-class segment (`cn8`) in the run's language, when the run had that scheme.
    pub segment: Option<String>,
    /// Segment per RFM segment scheme of the run (`cn8`, `rf10`, `rfm11`, `pymc`, custom), in
    /// the run's language.
    pub segments: BTreeMap<String, String>,
}

/// One scored customer. A field is `None` when the run has no such output, or scoring leaves
/// it out ([`Scorer::omitted`]). Value tiers are never given (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Scored {
    /// Customer id, as sent.
    pub customer_id: String,
    /// Grade per grading scheme scored ([`Scorer::schemes`]), in the run's language (tags
    /// joined with the scheme's separator); `None` for a customer the scheme leaves ungraded.
    pub grades: BTreeMap<String, Option<String>>,
    /// RFM scores and segments.
    pub rfm: Option<RfmScores>,
    /// Probability of being alive at the run's as-of date.
    pub p_alive: Option<f64>,
    /// Expected purchases over the CLV horizon ([`Scorer::horizon_months`]).
    pub expected_purchases: Option<f64>,
    /// Expected spend per purchase (Gamma-Gamma).
    pub expected_value: Option<f64>,
    /// Discounted customer lifetime value over the horizon.
    pub clv: Option<f64>,
    /// Lifecycle stage, in the run's language.
    pub lifecycle_stage: Option<String>,
    /// Cluster number (1 = the most valuable cluster).
    pub cluster: Option<u32>,
    /// Cluster number and name, in the run's language (`"1: 高价值-高频-活跃"`).
    pub cluster_name: Option<String>,
}

/// Why customers cannot be scored. Every variant is the caller's to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreError {
    /// Columns that the run's outputs need and the customers lack.
    #[error("missing {}: {}", if .0.len() == 1 { "column" } else { "columns" }, render_missing(.0))]
    MissingColumns(Vec<MissingColumn>),
    /// A column of a type that cannot be read as the run's.
    #[error("column `{column}` must be {}, not {found}", expected.describe())]
    ColumnType {
        /// The column.
        column: String,
        /// What it must be.
        expected: ColumnKind,
        /// What it is.
        found: Note,
    },
    /// One customer's value that the run's models cannot use.
    #[error("row {row} (customer `{customer_id}`), `{column}`: {reason}")]
    BadValue {
        /// Position of the customer in the batch, from 0.
        row: usize,
        /// The customer.
        customer_id: String,
        /// The column.
        column: String,
        /// What is wrong and what is expected.
        reason: Note,
    },
    /// A customer without a usable id, or an id given twice.
    #[error("row {row}: {reason}")]
    BadId {
        /// Position of the customer in the batch, from 0.
        row: usize,
        /// What is wrong.
        reason: Note,
    },
    /// The settings given are not the ones the run was made with.
    #[error(
        "the settings are not those of the run (config hash {found}, the run's {expected}): \
         score with the settings recorded in the run's manifest"
    )]
    NotTheRunsSettings {
        /// The run's config hash.
        expected: String,
        /// The hash of the settings given.
        found: String,
    },
    /// A model of the run that rejected the customers after the checks above.
    #[error("{output}: {reason}")]
    Model {
        /// The output (`rfm`, `clv`, `grades.<scheme>`…).
        output: String,
        /// The model's words.
        reason: Note,
    },
}

impl ScoreError {
    /// The message in Chinese (a score request's caller may show it; the English is the
    /// error's `Display`).
    pub fn zh(&self) -> String {
        match self {
            ScoreError::MissingColumns(m) => {
                let cols = m
                    .iter()
                    .map(|c| format!("{}（{} 需要）", c.column, c.used_by.join("、")))
                    .collect::<Vec<_>>()
                    .join("；");
                format!("缺少列：{cols}")
            }
            ScoreError::ColumnType {
                column,
                expected,
                found,
            } => format!(
                "列 `{column}` 应为{}，而不是{}",
                expected.describe_zh(),
                found.zh
            ),
            ScoreError::BadValue {
                row,
                customer_id,
                column,
                reason,
            } => format!(
                "第 {row} 行（客户 `{customer_id}`），`{column}`：{}",
                reason.zh
            ),
            ScoreError::BadId { row, reason } => format!("第 {row} 行：{}", reason.zh),
            ScoreError::NotTheRunsSettings { expected, found } => format!(
                "设置不是本次运行的设置（配置哈希 {found}，本次运行的是 {expected}）：\
                 请用运行清单中记录的设置评分"
            ),
            ScoreError::Model { output, reason } => format!("{output}：{}", reason.zh),
        }
    }
}

/// A column the customers lack, with the outputs that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MissingColumn {
    /// The column.
    pub column: String,
    /// The outputs that need it.
    pub used_by: Vec<String>,
}

fn render_missing(m: &[MissingColumn]) -> String {
    m.iter()
        .map(|c| format!("{} (for {})", c.column, c.used_by.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Config {
    /// The config of a run from the settings its manifest records ([`Config::settings`]):
    /// everything that changes results, without the input paths and dates (which are not
    /// recorded). `serde_json::from_value` alone refuses them: the hashed output format is
    /// written as `""`.
    pub fn from_settings(settings: &Value) -> Result<Config, EngineError> {
        let mut v = settings.clone();
        if let Some(out) = v.get_mut("output").and_then(Value::as_object_mut)
            && out.get("format").and_then(Value::as_str) == Some("")
        {
            out.remove("format");
        }
        serde_json::from_value(v).map_err(|e| EngineError::Config {
            path: "<run settings>".into(),
            message: e.to_string(),
        })
    }
}

/// The scoring steps, in the order the run applied them (a later one may read the columns of
/// an earlier one: rules over `clv`, a stage from `p_alive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `frequency`, `recency`, `T` from the purchase dates (an input to CLV, not an output).
    Btyd,
    /// P(alive) and expected purchases.
    Clv,
    /// Expected spend and CLV.
    Spend,
    Lifecycle,
    Rfm,
    Cluster,
    /// The i-th grading scheme.
    Scheme(usize),
}

/// A grading scheme as the run applied it.
#[derive(Debug, Clone)]
struct GradePart {
    config: SchemeConfig,
    stats: Vec<ResolvedStat>,
    builtin_names: bool,
}

#[derive(Debug, Clone)]
struct ClvPart {
    model: Model,
    horizon: f64,
    options: ClvOptions,
    /// Gamma-Gamma and the spend above which customers keep their own mean.
    spend: Option<(GammaGamma, Option<f64>)>,
}

/// A finished run's models and rules, ready to score customers it did not see. Built once per
/// served run ([`Scorer::new`]), then [`Scorer::score`] any number of batches.
///
/// Inputs ([`Scorer::inputs`]): the customer-table columns the run's outputs read, with the
/// run's types. `frequency`, `recency` and `T` are not inputs: they are derived from
/// `first_purchase`, `last_purchase` and `purchase_days` at the run's as-of date and time
/// unit, exactly as the run derived them (given values are ignored). Every input column must
/// be present (an error names each missing one and the outputs that need it); values may be
/// missing only where [`ScoreInput::nullable`] says so.
///
/// Customers are scored as of the run's as-of date: their purchases must not be later.
#[derive(Debug, Clone)]
pub struct Scorer {
    as_of: Day,
    unit: TimeUnit,
    lang: Lang,
    clv: Option<ClvPart>,
    lifecycle: Option<(LifecycleModel, Option<f64>)>,
    rfm: Option<RfmModel>,
    cluster: Option<(clientele_cluster::FittedKMeans, HashMap<u32, String>)>,
    schemes: Vec<GradePart>,
    /// Steps that run, in order, with their input columns (transitively).
    ready: Vec<(Part, BTreeSet<String>)>,
    inputs: Vec<ScoreInput>,
    omitted: Vec<Omission>,
}

/// The columns scoring computes, and the step that computes each.
fn producer(column: &str, expected: &str, schemes: &[GradePart], before: usize) -> Option<Part> {
    match column {
        "frequency" | "recency" | "T" => Some(Part::Btyd),
        col::P_ALIVE => Some(Part::Clv),
        c if c == expected => Some(Part::Clv),
        col::EXPECTED_VALUE | col::CLV => Some(Part::Spend),
        col::LIFECYCLE_STAGE => Some(Part::Lifecycle),
        col::R_SCORE | col::F_SCORE | col::M_SCORE | col::RFM_CODE | col::RFM_SEGMENT => {
            Some(Part::Rfm)
        }
        col::CLUSTER | col::CLUSTER_NAME => Some(Part::Cluster),
        c => match Grouping::of_column(c) {
            Some(Grouping::Rfm(_)) => Some(Part::Rfm),
            Some(Grouping::Grade(name)) => schemes[..before]
                .iter()
                .position(|s| s.config.name == name)
                .map(Part::Scheme),
            _ => None,
        },
    }
}

/// The columns of the value tiers, which scoring cannot give (module docs).
fn is_value_tier_column(column: &str) -> bool {
    matches!(
        column,
        col::VALUE_TIER | col::HML_TIER | col::CONTRIBUTION_SHARE
    )
}

fn value_tier_reason() -> Note {
    Note::new(
        "价值分层（ABC/HML）是在本次分析全部客户中的排名，分析未保存分界金额，无法为其外的客户分层",
        "value tiers (ABC, HML) rank a customer among all the run's customers; the run keeps no \
         value cut points, so customers outside it cannot be placed",
    )
}

/// The columns a grading scheme reads (rules, statistics and grid axes).
fn scheme_columns(s: &SchemeConfig) -> Vec<String> {
    let Ok(cfg) = s.expanded() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let conds = cfg
        .rules
        .iter()
        .filter_map(|r| clientele_grade::expr::parse(&r.when).ok());
    for c in conds
        .flat_map(|e| clientele_grade::expr::columns(&e))
        .chain(cfg.axes.iter().cloned())
    {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The transaction model of a fit report (parameters in the report's order).
fn rebuild_model(report: &clientele_clv::FitReport) -> Result<Model, String> {
    let p = &report.params;
    let [a, b, c, d] = p[..] else {
        return Err(format!(
            "the {} fit holds {} parameters, not 4",
            report.model,
            p.len()
        ));
    };
    let m = match report.model.as_str() {
        "bg_nbd" => BgNbd::new(a, b, c, d).map(Model::BgNbd),
        "mbg_nbd" => MbgNbd::new(a, b, c, d).map(Model::MbgNbd),
        "pareto_nbd" => ParetoNbd::new(a, b, c, d).map(Model::ParetoNbd),
        "bg_bb" => BgBb::new(a, b, c, d).map(Model::BgBb),
        other => return Err(format!("unknown transaction model `{other}`")),
    };
    m.map_err(|e| e.to_string())
}

/// `output` cannot be scored: the run has no `what` (Chinese, English), for the step's
/// reason in each language (`None`: the step was off).
fn not_in_run(output: &str, what: (&str, &str), problem: (Option<&str>, Option<&str>)) -> Omission {
    let (zh, en) = match problem {
        (zh, Some(en)) => (zh.unwrap_or(en), en),
        _ => ("本次设置中未开启", "off in the run's settings"),
    };
    Omission {
        output: output.to_string(),
        reason: Note::new(
            format!("本次分析没有{}：{zh}", what.0),
            format!("the run has no {}: {en}", what.1),
        ),
    }
}

impl Scorer {
    /// The scorer of a finished run: its summary (as read from `summary.json`) and its config
    /// (as recorded in its manifest, [`Config::from_settings`]). Refuses settings that are not
    /// the run's (their hash differs from the summary's).
    pub fn new(summary: &Summary, config: &Config) -> Result<Scorer, EngineError> {
        let hash = config.hash();
        if hash != summary.config_hash {
            return Err(ScoreError::NotTheRunsSettings {
                expected: summary.config_hash.clone(),
                found: hash,
            }
            .into());
        }
        let lang = summary.lang;
        let mut omitted = Vec::new();
        // the steps of the run, in its order, with the columns each reads
        let mut parts: Vec<(Part, Vec<String>)> = vec![(
            Part::Btyd,
            [col::FIRST_PURCHASE, col::LAST_PURCHASE, col::PURCHASE_DAYS]
                .map(String::from)
                .to_vec(),
        )];

        // CLV: the fitted models, no refit
        let mut clv = None;
        let mut expected_column = String::new();
        match &summary.clv {
            Step::Done(section) => {
                expected_column.clone_from(&section.expected_purchases_column);
                match rebuild_model(&section.model) {
                    Ok(model) => {
                        let spend = section.spend.as_ref().and_then(|s| {
                            let [p, q, v] = s.fit.params[..] else {
                                return None;
                            };
                            GammaGamma::new(p, q, v)
                                .ok()
                                .map(|gg| (gg, s.own_mean_above()))
                        });
                        let horizon =
                            section.options.horizon_months() * section.options.periods_per_month;
                        let direct: Vec<String> = BTYD.iter().map(|s| s.to_string()).collect();
                        parts.push((Part::Clv, direct.clone()));
                        match (&spend, &section.clv_skipped) {
                            (Some(_), None) => {
                                let mut d = direct;
                                d.push(MONETARY_VALUE.into());
                                parts.push((Part::Spend, d));
                            }
                            (_, skipped) => omitted.push(not_in_run(
                                "clv",
                                ("CLV", "CLV"),
                                match skipped {
                                    Some(en) => (
                                        section.clv_skipped_in(clientele_core::Lang::Zh),
                                        Some(en.as_str()),
                                    ),
                                    None => (Some("没有消费模型"), Some("no spend model")),
                                },
                            )),
                        }
                        clv = Some(ClvPart {
                            model,
                            horizon,
                            options: section.options,
                            spend,
                        });
                    }
                    Err(e) => {
                        let why = Note::new(
                            format!("无法重建本次分析的 CLV 模型：{e}"),
                            format!("the run's CLV model cannot be rebuilt: {e}"),
                        );
                        for o in ["p_alive", "expected_purchases", "clv"] {
                            omitted.push(Omission {
                                output: o.into(),
                                reason: why.clone(),
                            });
                        }
                    }
                }
            }
            other => {
                for o in ["p_alive", "expected_purchases", "clv"] {
                    omitted.push(not_in_run(
                        o,
                        ("CLV", "CLV"),
                        (other.problem_in(clientele_core::Lang::Zh), other.problem()),
                    ));
                }
            }
        }
        // lifecycle: the run's as-of date and fallback cadence
        let run_columns: HashMap<&str, &str> = summary
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.r#type.as_str()))
            .collect();
        let mut lifecycle = None;
        if let Some(l) = &summary.lifecycle {
            let model = LifecycleModel::new(config.lifecycle.clone())?;
            let mut d: Vec<String> = [
                col::FIRST_PURCHASE,
                col::LAST_PURCHASE,
                col::PURCHASE_DAYS,
                AVG_INTERPURCHASE_DAYS,
            ]
            .map(String::from)
            .to_vec();
            if run_columns.contains_key(LAST_GAP_DAYS) {
                d.push(LAST_GAP_DAYS.into());
            }
            if clv.is_some() && config.lifecycle.p_alive != PAliveRule::Ignore {
                d.push(col::P_ALIVE.into());
            }
            parts.push((Part::Lifecycle, d));
            lifecycle = Some((model, l.stages.fallback_cadence_days));
        } else {
            omitted.push(not_in_run(
                "lifecycle_stage",
                ("生命周期阶段", "lifecycle stages"),
                (Some("没有客户"), Some("no customers")),
            ));
        }

        // RFM: the run's cut points
        let mut rfm = None;
        if let Some(report) = &summary.rfm {
            let mut cfg = config.rfm.clone();
            cfg.frozen = Some(report.thresholds.clone());
            rfm = Some(RfmModel::new(cfg)?);
            let d = [
                col::RECENCY_DAYS,
                config.rfm.frequency.column(),
                config.rfm.monetary.column(),
            ];
            parts.push((Part::Rfm, d.map(String::from).to_vec()));
        } else {
            omitted.push(not_in_run(
                "rfm",
                ("RFM", "RFM"),
                (Some("没有客户"), Some("no customers")),
            ));
        }

        if summary.value_tiers.is_some() {
            omitted.push(Omission {
                output: "value_tier".into(),
                reason: value_tier_reason(),
            });
        }

        // clusters: the fitted model
        let mut cluster = None;
        match &summary.clusters {
            Step::Done(c) => {
                let names = c
                    .profiles
                    .iter()
                    .map(|p| {
                        let name = lang.pick(&p.name_zh, &p.name_en);
                        (p.label, format!("{}: {name}", p.label))
                    })
                    .collect();
                let features = c.model.features.iter().map(|f| f.column.clone()).collect();
                parts.push((Part::Cluster, features));
                cluster = Some((c.model.clone(), names));
            }
            other => omitted.push(not_in_run(
                "cluster",
                ("聚类", "clusters"),
                (other.problem_in(clientele_core::Lang::Zh), other.problem()),
            )),
        }

        // grading schemes: the configured ones, or the classic presets the run applied
        let configured: Vec<SchemeConfig> = if config.scheme.is_empty() {
            clientele_grade::presets::classic()
                .into_iter()
                .filter(|s| summary.grades.iter().any(|g| g.scheme == s.name))
                .collect()
        } else {
            config.scheme.clone()
        };
        let mut schemes = Vec::new();
        for s in configured {
            let stats = summary
                .grades
                .iter()
                .find(|g| g.scheme == s.name)
                .map(|g| g.resolved.clone())
                .unwrap_or_default();
            let builtin_names = config.scheme.is_empty() || s.preset.is_some();
            let columns = scheme_columns(&s);
            let i = schemes.len();
            schemes.push(GradePart {
                config: s,
                stats,
                builtin_names,
            });
            parts.push((Part::Scheme(i), columns));
        }

        // which steps can run, and the input columns each needs (transitively)
        let template = template_table(&summary.columns);
        let mut ready: Vec<(Part, BTreeSet<String>)> = Vec::new();
        let mut uses_btyd = false;
        for (part, direct) in parts {
            let before = match part {
                Part::Scheme(k) => k,
                _ => 0,
            };
            let mut needs = BTreeSet::new();
            let mut problem: Option<Note> = None;
            for c in &direct {
                if is_value_tier_column(c) {
                    problem = Some(value_tier_reason());
                    break;
                }
                let from = producer(c, &expected_column, &schemes, before).filter(|p| *p != part);
                match from.map(|p| (p, ready.iter().find(|(q, _)| *q == p))) {
                    None => {
                        needs.insert(c.clone());
                    }
                    Some((p, Some((_, inputs)))) => {
                        uses_btyd |= p == Part::Btyd;
                        needs.extend(inputs.iter().cloned());
                    }
                    Some((_, None)) => {
                        problem = Some(Note::new(
                            format!("规则使用的 `{c}` 无法计算"),
                            format!("it reads `{c}`, which is not scored"),
                        ));
                        break;
                    }
                }
            }
            // grading schemes must compile with the run's statistics (a summary.json of an
            // older clientele did not record them)
            if let (None, Part::Scheme(k)) = (&problem, part) {
                let s = &schemes[k];
                if let Err(e) = clientele_grade::compile_with_stats(&s.config, &template, &s.stats)
                {
                    let e = e.to_string();
                    problem = Some(Note::new(format!("无法按本次分析的规则分级：{e}"), e));
                }
            }
            match problem {
                None => ready.push((part, needs)),
                Some(why) => {
                    for output in outputs_of(part, &schemes) {
                        omitted.push(Omission {
                            output,
                            reason: why.clone(),
                        });
                    }
                }
            }
        }
        if !uses_btyd {
            ready.retain(|(p, _)| *p != Part::Btyd);
        }

        let inputs = inputs_of(&ready, &schemes, &run_columns);
        Ok(Scorer {
            as_of: summary.as_of,
            unit: summary.time_unit,
            lang,
            clv,
            lifecycle,
            rfm,
            cluster,
            schemes,
            ready,
            inputs,
            omitted,
        })
    }

    /// The columns the customers to score must have, with their types and what needs them
    /// (for the API's documentation and for [`Scorer::batch_from_rows`]), in name order.
    pub fn inputs(&self) -> &[ScoreInput] {
        &self.inputs
    }

    /// The run's outputs that scoring does not give, and why.
    pub fn omitted(&self) -> &[Omission] {
        &self.omitted
    }

    /// The horizon of `expected_purchases` and `clv`, in months (when the run has CLV):
    /// whole, or with a partial last month (`[clv] horizon = "95 weeks"`).
    pub fn horizon_months(&self) -> Option<f64> {
        self.clv.as_ref().map(|c| c.options.horizon_months())
    }

    /// The run's as-of date: customers are scored as of it.
    pub fn as_of(&self) -> Day {
        self.as_of
    }

    /// The names of the grading schemes scored, in the run's order.
    pub fn schemes(&self) -> Vec<&str> {
        self.ready
            .iter()
            .filter_map(|(p, _)| match p {
                Part::Scheme(k) => Some(self.schemes[*k].config.name.as_str()),
                _ => None,
            })
            .collect()
    }

    fn is_ready(&self, part: Part) -> bool {
        self.ready.iter().any(|(p, _)| *p == part)
    }

    /// The rule that graded the customer at `row` of `table` (a run's own customer table, which
    /// holds every column the schemes read), per grading scheme: the condition of the rule
    /// that gave the grade (for `tags` and `points` schemes every matching rule, joined with
    /// ` · `), or `default` when no rule matched. Schemes the scorer leaves out are absent.
    pub fn rules_of(&self, table: &CustomerTable, row: usize) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if row >= table.len() {
            return out;
        }
        let one = table.take(&[row]);
        for part in &self.ready {
            let Part::Scheme(k) = part.0 else { continue };
            let s = &self.schemes[k];
            let Ok(compiled) = clientele_grade::compile_with_stats(&s.config, &one, &s.stats)
            else {
                continue;
            };
            let Ok(rows) = clientele_grade::preview(&compiled, &one) else {
                continue;
            };
            let rules: Vec<&str> = rows
                .iter()
                .filter(|r| r.taken_customers > 0)
                .filter_map(|r| r.when.as_deref())
                .collect();
            let text = if rules.is_empty() {
                "default".to_string()
            } else {
                rules.join(" · ")
            };
            out.insert(s.config.name.clone(), text);
        }
        out
    }

    /// A batch of customers from JSON objects, one per customer: `customer_id` (a string, or
    /// an integer taken as its text) and the [`Scorer::inputs`] columns typed as the run's
    /// table (dates as `"YYYY-MM-DD"`); other keys are ignored. A key that no customer has
    /// leaves its column out (an error of [`Scorer::score`] names it); a key that some
    /// customers lack, or hold as `null`, is a missing value for them.
    pub fn batch_from_rows(
        &self,
        rows: &[serde_json::Map<String, Value>],
    ) -> Result<CustomerTable, EngineError> {
        let mut ids: Vec<String> = Vec::with_capacity(rows.len());
        for (row, r) in rows.iter().enumerate() {
            let id = match r.get(col::CUSTOMER_ID) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
                Some(Value::Null) | None => {
                    return Err(ScoreError::BadId {
                        row,
                        reason: Note::new("没有 customer_id", "no customer_id"),
                    }
                    .into());
                }
                Some(other) => {
                    return Err(ScoreError::BadId {
                        row,
                        reason: Note::new(
                            format!("customer_id 应为字符串，而不是 {other}"),
                            format!("customer_id must be a string, not {other}"),
                        ),
                    }
                    .into());
                }
            };
            ids.push(id);
        }
        let mut table = CustomerTable::new(ids);
        for input in &self.inputs {
            let name = input.column.as_str();
            if !rows.iter().any(|r| r.contains_key(name)) {
                continue;
            }
            let bad = |row: usize, v: &Value| {
                EngineError::from(ScoreError::BadValue {
                    row,
                    customer_id: table.ids()[row].to_string(),
                    column: name.to_string(),
                    reason: Note::new(
                        format!("应为{}，而不是 {v}", input.r#type.describe_zh()),
                        format!("must be {}, not {v}", input.r#type.describe()),
                    ),
                })
            };
            fn cell<'r>(r: &'r serde_json::Map<String, Value>, name: &str) -> Option<&'r Value> {
                r.get(name).filter(|v| !v.is_null())
            }
            let data = match input.r#type {
                ColumnKind::Int => ColumnData::Int(
                    rows.iter()
                        .enumerate()
                        .map(|(i, r)| {
                            cell(r, name)
                                .map(|v| json_int(v).ok_or_else(|| bad(i, v)))
                                .transpose()
                        })
                        .collect::<Result<Values<i64>, _>>()?,
                ),
                ColumnKind::Float => ColumnData::Float(
                    rows.iter()
                        .enumerate()
                        .map(|(i, r)| {
                            cell(r, name)
                                .map(|v| v.as_f64().ok_or_else(|| bad(i, v)))
                                .transpose()
                        })
                        .collect::<Result<Values<f64>, _>>()?,
                ),
                ColumnKind::Date => ColumnData::Date(
                    rows.iter()
                        .enumerate()
                        .map(|(i, r)| {
                            cell(r, name)
                                .map(|v| {
                                    v.as_str()
                                        .and_then(|s| Day::parse_iso(s.trim()).ok())
                                        .ok_or_else(|| bad(i, v))
                                })
                                .transpose()
                        })
                        .collect::<Result<Values<Day>, _>>()?,
                ),
                ColumnKind::Text => ColumnData::Text(
                    rows.iter()
                        .enumerate()
                        .map(|(i, r)| {
                            cell(r, name)
                                .map(|v| match v {
                                    Value::String(s) => Ok(s.clone()),
                                    Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
                                    other => Err(bad(i, other)),
                                })
                                .transpose()
                        })
                        .collect::<Result<Vec<Option<String>>, _>>()?
                        .into(),
                ),
            };
            table.set(name, data)?;
        }
        Ok(table)
    }

    /// Scores every customer of `batch` (in its row order). An empty batch scores to no
    /// customers. Errors, all the caller's to fix ([`crate::Fault::User`]): a missing input
    /// column (all of them named, with the outputs that need them), a column of another type,
    /// a customer id empty or given twice, a value a model cannot use (named by row, customer
    /// and column: a missing value where none may be, a value not finite, purchases after the
    /// run's as-of date…).
    pub fn score(&self, batch: &CustomerTable) -> Result<Vec<Scored>, EngineError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut table = self.checked(batch)?;
        let n = table.len();
        let mut out: Vec<Scored> = table
            .ids()
            .iter()
            .map(|id| Scored {
                customer_id: id.to_string(),
                grades: BTreeMap::new(),
                rfm: None,
                p_alive: None,
                expected_purchases: None,
                expected_value: None,
                clv: None,
                lifecycle_stage: None,
                cluster: None,
                cluster_name: None,
            })
            .collect();
        let model_err = |output: &str| {
            let output = output.to_string();
            move |e: EngineError| {
                let en = e.reason();
                EngineError::from(ScoreError::Model {
                    output: output.clone(),
                    reason: Note::new(e.reason_zh().unwrap_or_else(|| en.clone()), en),
                })
            }
        };
        let floats = |v: &[f64]| ColumnData::Float(v.iter().map(|&x| Some(x)).collect());

        // CLV-convention columns, exactly as the run's ingest derived them
        if self.is_ready(Part::Btyd) {
            let first = table.dates(col::FIRST_PURCHASE)?.clone();
            let last = table.dates(col::LAST_PURCHASE)?.clone();
            let days = table.ints(col::PURCHASE_DAYS)?.clone();
            let unit = self.unit.days();
            let as_of = f64::from(self.as_of.0);
            let get = |v: Option<f64>| v.unwrap_or(f64::NAN);
            let x: Vec<f64> = days
                .iter()
                .map(|d| get(d.map(|d| (d - 1) as f64)))
                .collect();
            let tx: Vec<f64> = (0..n)
                .map(|i| {
                    get(first
                        .get(i)
                        .zip(last.get(i))
                        .map(|(f, l)| (f64::from(l.0) - f64::from(f.0)) / unit))
                })
                .collect();
            let t: Vec<f64> = (0..n)
                .map(|i| get(first.get(i).map(|f| (as_of - f64::from(f.0)) / unit)))
                .collect();
            for (name, v) in BTYD.iter().zip([&x, &tx, &t]) {
                table.set(*name, floats(v))?;
            }
        }

        if let Some(c) = self.clv.as_ref().filter(|_| self.is_ready(Part::Clv)) {
            let x = table.floats("frequency")?.values().to_vec();
            let tx = table.floats("recency")?.values().to_vec();
            let t = table.floats("T")?.values().to_vec();
            let data = clientele_clv::CalibrationData::new(x.clone(), tx, t)
                .map_err(|e| model_err("p_alive")(e.into()))?;
            let p_alive = c.model.p_alive_all(&data);
            let expected = c.model.expected_purchases_all(c.horizon, &data);
            table.set(col::P_ALIVE, floats(&p_alive))?;
            for i in 0..n {
                out[i].p_alive = Some(p_alive[i]);
                out[i].expected_purchases = Some(expected[i]);
            }
            if let Some((gg, own_above)) = c.spend.filter(|_| self.is_ready(Part::Spend)) {
                let mv = table.floats(MONETARY_VALUE)?.values().to_vec();
                let value = gg
                    .expected_average_values_with(&x, &mv, own_above)
                    .map_err(|e| model_err("clv")(e.into()))?;
                let clv = clientele_clv::clv::clv(&c.model, &data, &value, &c.options)
                    .map_err(|e| model_err("clv")(e.into()))?;
                table.set(col::EXPECTED_VALUE, floats(&value))?;
                table.set(col::CLV, floats(&clv))?;
                for i in 0..n {
                    out[i].expected_value = Some(value[i]);
                    out[i].clv = Some(clv[i]);
                }
            }
        }

        if let Some((model, fallback)) = self
            .lifecycle
            .as_ref()
            .filter(|_| self.is_ready(Part::Lifecycle))
        {
            let err = model_err("lifecycle_stage");
            let inputs = clientele_lifecycle::stage_inputs(&table).map_err(|e| err(e.into()))?;
            let stages = model
                .assign_with_fallback(self.as_of, &inputs, &[], *fallback)
                .map_err(|e| err(e.into()))?;
            let names: Vec<&str> = stages.stages.iter().map(|s| s.name(self.lang)).collect();
            table.set(
                col::LIFECYCLE_STAGE,
                ColumnData::Text(names.iter().map(|s| Some(*s)).collect()),
            )?;
            for (o, s) in out.iter_mut().zip(names) {
                o.lifecycle_stage = Some(s.to_string());
            }
        }

        if let Some(model) = self.rfm.as_ref().filter(|_| self.is_ready(Part::Rfm)) {
            self.score_rfm(model, &mut table, &mut out)?;
        }

        if let Some((model, names)) = self
            .cluster
            .as_ref()
            .filter(|_| self.is_ready(Part::Cluster))
        {
            let labels = model
                .predict(&table)
                .map_err(|e| model_err("cluster")(e.into()))?;
            let named: Vec<Option<String>> = labels
                .iter()
                .map(|l| l.and_then(|l| names.get(&l).cloned()))
                .collect();
            table.set(
                col::CLUSTER,
                ColumnData::Int(labels.iter().map(|l| l.map(i64::from)).collect()),
            )?;
            table.set(col::CLUSTER_NAME, ColumnData::Text(named.clone().into()))?;
            for ((o, l), name) in out.iter_mut().zip(&labels).zip(named) {
                o.cluster = *l;
                o.cluster_name = name;
            }
        }

        for (part, _) in &self.ready {
            let Part::Scheme(k) = *part else { continue };
            let s = &self.schemes[k];
            let err = model_err(&format!("grades.{}", s.config.name));
            let compiled = clientele_grade::compile_with_stats(&s.config, &table, &s.stats)
                .map_err(|e| err(e.into()))?;
            let mut result = compiled.apply(&table).map_err(|e| err(e.into()))?;
            if s.builtin_names {
                result.name_builtin_grades(self.lang);
            }
            for (i, o) in out.iter_mut().enumerate() {
                o.grades.insert(
                    s.config.name.clone(),
                    result.label(i).map(std::borrow::Cow::into_owned),
                );
            }
            table.set(result.column.clone(), result.to_column())?;
        }
        Ok(out)
    }

    fn score_rfm(
        &self,
        model: &RfmModel,
        table: &mut CustomerTable,
        out: &mut [Scored],
    ) -> Result<(), EngineError> {
        let cfg = model.config();
        let number = |name: &str| -> Result<Vec<f64>, EngineError> {
            Ok(table
                .numbers(name)?
                .into_iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect())
        };
        let data = RfmData::new(
            table.ids().to_vec(),
            number(col::RECENCY_DAYS)?,
            number(cfg.frequency.column())?,
            number(cfg.monetary.column())?,
        )
        .map(|d| d.with_definitions(cfg.frequency, cfg.monetary))
        .map_err(|e| ScoreError::Model {
            output: "rfm".into(),
            reason: Note::new(e.zh(), e.to_string()),
        })?;
        let r = model.score(&data);
        let int = |v: &[u8]| ColumnData::Int(v.iter().map(|&s| Some(i64::from(s))).collect());
        table.set(col::R_SCORE, int(&r.r_score))?;
        table.set(col::F_SCORE, int(&r.f_score))?;
        table.set(col::M_SCORE, int(&r.m_score))?;
        table.set(
            col::RFM_CODE,
            ColumnData::Text(r.rfm_code.iter().map(Some).collect()),
        )?;
        for (i, o) in out.iter_mut().enumerate() {
            let segments: BTreeMap<String, String> = r
                .schemes
                .iter()
                .map(|s| (s.name.clone(), s.segment_of(i).name(self.lang).to_string()))
                .collect();
            o.rfm = Some(RfmScores {
                r: r.r_score[i],
                f: r.f_score[i],
                m: r.m_score[i],
                code: r.rfm_code[i].clone(),
                segment: segments.get(col::CN8_SCHEME).cloned(),
                segments,
            });
        }
        for s in &r.schemes {
            let labels = ColumnData::Text(
                (0..table.len())
                    .map(|i| Some(s.segment_of(i).name(self.lang)))
                    .collect(),
            );
            if s.name == col::CN8_SCHEME {
                table.set(col::RFM_SEGMENT, labels.clone())?;
            }
            table.set(Grouping::Rfm(s.name.clone()).column(), labels)?;
        }
        Ok(())
    }

    /// The batch's input columns in the run's types, every value checked; the other columns
    /// are left out (what scoring computes is computed again).
    fn checked(&self, batch: &CustomerTable) -> Result<CustomerTable, EngineError> {
        let mut seen = HashSet::with_capacity(batch.len());
        for (row, id) in batch.ids().iter().enumerate() {
            if id.trim().is_empty() {
                return Err(ScoreError::BadId {
                    row,
                    reason: Note::new("customer_id 为空", "empty customer_id"),
                }
                .into());
            }
            if !seen.insert(id) {
                return Err(ScoreError::BadId {
                    row,
                    reason: Note::new(
                        format!("customer_id `{id}` 出现了两次"),
                        format!("customer_id `{id}` is given twice"),
                    ),
                }
                .into());
            }
        }
        let missing: Vec<MissingColumn> = self
            .inputs
            .iter()
            .filter(|i| batch.get(&i.column).is_none())
            .map(|i| MissingColumn {
                column: i.column.clone(),
                used_by: i.used_by.clone(),
            })
            .collect();
        if !missing.is_empty() {
            return Err(ScoreError::MissingColumns(missing).into());
        }
        let mut table = CustomerTable::from_ids(batch.ids().clone());
        for input in &self.inputs {
            let data = batch.column(&input.column)?;
            let data = convert(&input.column, data, input.r#type, batch)?;
            table.push(input.column.clone(), data)?;
        }
        self.check_values(&table)?;
        Ok(table)
    }

    /// The values the models cannot use, named by row, customer and column.
    fn check_values(&self, t: &CustomerTable) -> Result<(), EngineError> {
        let bad = |row: usize, column: &str, reason: Note| -> EngineError {
            ScoreError::BadValue {
                row,
                customer_id: t.ids()[row].to_string(),
                column: column.to_string(),
                reason,
            }
            .into()
        };
        for input in &self.inputs {
            let Some(data) = t.get(&input.column) else {
                continue;
            };
            for row in 0..t.len() {
                let present = match data {
                    ColumnData::Text(v) => v.get(row).is_some(),
                    ColumnData::Date(v) => v.get(row).is_some(),
                    _ => data.number(row).is_some(),
                };
                if !present && !input.nullable {
                    return Err(bad(
                        row,
                        &input.column,
                        Note::new(
                            format!("没有值；{} 需要它", input.used_by.join("、")),
                            format!(
                                "has no value; {} need{} it",
                                input.used_by.join(", "),
                                if input.used_by.len() == 1 { "s" } else { "" }
                            ),
                        ),
                    ));
                }
                if let ColumnData::Float(v) = data
                    && let Some(x) = v.get(row)
                    && !x.is_finite()
                {
                    return Err(bad(
                        row,
                        &input.column,
                        Note::new(
                            format!("{x} 不是有限数"),
                            format!("{x} is not a finite number"),
                        ),
                    ));
                }
            }
        }
        // the purchase history: what the CLV convention and the lifecycle stages rely on
        let (Ok(first), Ok(last), Ok(days)) = (
            t.dates(col::FIRST_PURCHASE),
            t.dates(col::LAST_PURCHASE),
            t.ints(col::PURCHASE_DAYS),
        ) else {
            return Ok(());
        };
        let gaps = t.ints(LAST_GAP_DAYS).ok();
        let avg = t.floats(AVG_INTERPURCHASE_DAYS).ok();
        for row in 0..t.len() {
            let (Some(f), Some(l), Some(d)) = (first.get(row), last.get(row), days.get(row)) else {
                continue;
            };
            if l > self.as_of {
                return Err(bad(
                    row,
                    col::LAST_PURCHASE,
                    Note::new(
                        format!("{l} 晚于本次运行的基准日 {}：客户按该日评分", self.as_of),
                        format!(
                            "{l} is after the run's as-of date {}: customers are scored as of \
                             that date",
                            self.as_of
                        ),
                    ),
                ));
            }
            if f > l {
                return Err(bad(
                    row,
                    col::FIRST_PURCHASE,
                    Note::new(
                        format!("{f} 晚于 last_purchase {l}"),
                        format!("{f} is after last_purchase {l}"),
                    ),
                ));
            }
            let span = i64::from(l.0) - i64::from(f.0);
            if d < 1 || d > span + 1 {
                return Err(bad(
                    row,
                    col::PURCHASE_DAYS,
                    Note::new(
                        format!("{f} 到 {l} 之间有 {d} 个购买日：应为 1 到 {}", span + 1),
                        format!(
                            "{d} purchase days between {f} and {l}: must be 1 to {}",
                            span + 1
                        ),
                    ),
                ));
            }
            if d == 1 && span != 0 {
                return Err(bad(
                    row,
                    col::PURCHASE_DAYS,
                    Note::new(
                        format!("只有 1 个购买日，但首次（{f}）与末次（{l}）购买不同"),
                        format!(
                            "1 purchase day, but the first ({f}) and last ({l}) purchases differ"
                        ),
                    ),
                ));
            }
            if let Some(g) = gaps.and_then(|g| g.get(row))
                && (g < 0 || g > span)
            {
                return Err(bad(
                    row,
                    LAST_GAP_DAYS,
                    Note::new(
                        format!("{g} 不在 0..={span}（末次 − 首次购买）之内"),
                        format!("{g} is outside 0..={span} (last − first purchase)"),
                    ),
                ));
            }
            if let Some(a) = avg.and_then(|a| a.get(row))
                && a < 0.0
            {
                return Err(bad(
                    row,
                    AVG_INTERPURCHASE_DAYS,
                    Note::new(format!("{a} 为负数"), format!("{a} is negative")),
                ));
            }
        }
        Ok(())
    }
}

/// An integer from JSON: an integer, or a number with no fraction.
fn json_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
            .map(|x| x as i64)
    })
}

/// A column in the run's type: ints and floats convert where no value changes.
fn convert(
    name: &str,
    data: &ColumnData,
    kind: ColumnKind,
    batch: &CustomerTable,
) -> Result<ColumnData, EngineError> {
    let wrong = || -> EngineError {
        ScoreError::ColumnType {
            column: name.to_string(),
            expected: kind,
            found: Note::new(data.type_name_zh(), data.type_name()),
        }
        .into()
    };
    Ok(match (kind, data) {
        (ColumnKind::Int, ColumnData::Int(_))
        | (ColumnKind::Float, ColumnData::Float(_))
        | (ColumnKind::Date, ColumnData::Date(_))
        | (ColumnKind::Text, ColumnData::Text(_)) => data.clone(),
        (ColumnKind::Float, ColumnData::Int(v)) => {
            ColumnData::Float(v.iter().map(|x| x.map(|x| x as f64)).collect())
        }
        (ColumnKind::Int, ColumnData::Float(v)) => {
            let mut out = Values::with_capacity(v.len());
            for (row, x) in v.iter().enumerate() {
                out.push(match x {
                    None => None,
                    Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(x as i64),
                    Some(x) => {
                        return Err(ScoreError::BadValue {
                            row,
                            customer_id: batch.ids()[row].to_string(),
                            column: name.to_string(),
                            reason: Note::new(
                                format!("{x} 不是整数"),
                                format!("{x} is not a whole number"),
                            ),
                        }
                        .into());
                    }
                });
            }
            ColumnData::Int(out)
        }
        _ => return Err(wrong()),
    })
}

/// A table with no rows and every column of the run, typed as the run's: to check that the
/// grading schemes compile before any customer is sent.
fn template_table(columns: &[crate::ColumnInfo]) -> CustomerTable {
    let mut t = CustomerTable::new(Vec::new());
    for c in columns.iter().filter(|c| c.name != col::CUSTOMER_ID) {
        let data = match ColumnKind::of_name(&c.r#type) {
            Some(ColumnKind::Int) => ColumnData::Int(Values::default()),
            Some(ColumnKind::Float) => ColumnData::Float(Values::default()),
            Some(ColumnKind::Date) => ColumnData::Date(Values::default()),
            _ => ColumnData::Text(Vec::<Option<String>>::new().into()),
        };
        let _ = t.push(c.name.clone(), data);
    }
    t
}

/// The type of an input column: the run's, or the customer table's own for a column the run
/// did not list.
fn kind_of(column: &str, run: &HashMap<&str, &str>) -> ColumnKind {
    if let Some(k) = run.get(column).and_then(|t| ColumnKind::of_name(t)) {
        return k;
    }
    match column {
        col::FIRST_PURCHASE | col::LAST_PURCHASE => ColumnKind::Date,
        col::RECENCY_DAYS | col::ORDERS | col::PURCHASE_DAYS | LAST_GAP_DAYS => ColumnKind::Int,
        _ => ColumnKind::Float,
    }
}

/// The outputs of a step, as [`ScoreInput::used_by`] and [`Omission::output`] name them.
fn outputs_of(part: Part, schemes: &[GradePart]) -> Vec<String> {
    match part {
        Part::Btyd => Vec::new(),
        Part::Clv => vec!["p_alive".into(), "expected_purchases".into()],
        Part::Spend => vec!["clv".into()],
        Part::Lifecycle => vec!["lifecycle_stage".into()],
        Part::Rfm => vec!["rfm".into()],
        Part::Cluster => vec!["cluster".into()],
        Part::Scheme(k) => vec![format!("grades.{}", schemes[k].config.name)],
    }
}

/// The input columns of the steps that run, with what needs each.
fn inputs_of(
    ready: &[(Part, BTreeSet<String>)],
    schemes: &[GradePart],
    run: &HashMap<&str, &str>,
) -> Vec<ScoreInput> {
    let mut by_column: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
    for (part, columns) in ready {
        let outputs = outputs_of(*part, schemes);
        // a customer without a cluster feature gets no cluster; a rule sees NULL
        let nullable = matches!(part, Part::Cluster | Part::Scheme(_));
        for c in columns {
            let e = by_column.entry(c.clone()).or_insert((Vec::new(), true));
            for o in &outputs {
                if !e.0.contains(o) {
                    e.0.push(o.clone());
                }
            }
            // a value may be missing only where every output that reads it allows that
            let allowed = nullable || matches!(c.as_str(), AVG_INTERPURCHASE_DAYS | LAST_GAP_DAYS);
            e.1 &= allowed;
        }
    }
    by_column
        .into_iter()
        .map(|(column, (used_by, nullable))| ScoreInput {
            r#type: kind_of(&column, run),
            column,
            nullable,
            used_by,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_back_as_the_config_they_were_written_from() {
        for text in [
            "",
            crate::DEFAULT_CONFIG,
            "[output]\nformat = \"csv\"\nlang = \"en\"\n[source]\ndecimal = \",\"\n\
             encoding = \"GBK\"\n[[scheme]]\nname = \"v\"\nrules = [{ grade = \"a\", when = \
             \"monetary > p80(monetary)\" }]\ndefault = \"b\"\n[rfm]\nbins = 4\n",
        ] {
            let c = Config::from_toml(text, "<t>").unwrap();
            let back = Config::from_settings(&c.settings()).unwrap();
            assert_eq!(back.hash(), c.hash(), "{text}");
            assert_eq!(back.settings(), c.settings(), "{text}");
            assert_eq!(back.scheme, c.scheme);
            assert_eq!(back.output.lang, c.output.lang);
        }
        // what the lead's plain `from_value` refuses
        assert!(serde_json::from_value::<Config>(Config::default().settings()).is_err());
    }

    #[test]
    fn the_scorer_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Scorer>();
    }

    #[test]
    fn missing_columns_are_named_with_what_needs_them() {
        let e = ScoreError::MissingColumns(vec![
            MissingColumn {
                column: "monetary".into(),
                used_by: vec!["rfm".into(), "grades.behaviour".into()],
            },
            MissingColumn {
                column: "first_purchase".into(),
                used_by: vec!["lifecycle_stage".into()],
            },
        ]);
        assert_eq!(
            EngineError::from(e).to_string(),
            "score: missing columns: monetary (for rfm, grades.behaviour); first_purchase (for \
             lifecycle_stage)"
        );
    }
}
