//! Lifecycle stage of every customer at an as-of day: potential, new, active, at risk, churned,
//! reactivated (research/segmentation.md §5.1, "recommended canonical model").
//!
//! Rules, first match wins:
//! 1. **potential**: a lead with no purchase.
//! 2. **new**: `as_of − first_purchase ≤ new_days`.
//! 3. **reactivated**: the customer went quiet for longer than the churn threshold before the
//!    last purchase (`last_gap_days`, see [`StageInput`]), and that purchase is recent:
//!    `as_of − last_purchase ≤ reactivated_days`.
//! 4. otherwise the recency rule on `recency = as_of − last_purchase`:
//!    - `mode = "cadence"`: overdue ratio `recency / cadence`, where cadence is the customer's own
//!      average days between purchases (the population median for one-time buyers, at least
//!      `min_cadence_days`): `≤ at_risk_ratio` active, `≤ churn_ratio` at risk, above churned;
//!    - `mode = "fixed"`, or cadence mode when no customer has a cadence at all: `recency ≤
//!      active_days` active, `≤ churn_days` at risk, above churned.
//!
//!    With `p_alive = "instead"` a customer's P(alive), where given, decides instead
//!    (`< p_alive_churned` churned, `< p_alive_at_risk` at risk, else active); with
//!    `p_alive = "stricter"` the worse of the two stages is kept. "Stricter" exists because BG/NBD
//!    gives one-time buyers P(alive) = 1, however long ago they bought.

use clientele_core::columns as col;
use std::collections::BTreeSet;

use clientele_core::{CustomerTable, Day};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::LifecycleError;

pub use clientele_core::Lang;

/// A lifecycle stage. Serialized as its id (`potential`, `new`, `active`, `at_risk`, `churned`,
/// `reactivated`), the ids the playbook uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A lead with no purchase yet.
    Potential,
    /// First purchase within `new_days`.
    New,
    /// Buying at (about) their usual rhythm.
    Active,
    /// Overdue, not yet lost.
    AtRisk,
    /// Silent well beyond their rhythm.
    Churned,
    /// Came back after having been churned.
    Reactivated,
}

impl Stage {
    /// Every stage, in funnel order.
    pub const ALL: [Stage; 6] = [
        Stage::Potential,
        Stage::New,
        Stage::Active,
        Stage::AtRisk,
        Stage::Churned,
        Stage::Reactivated,
    ];

    /// Stable ASCII id for files and APIs.
    pub fn id(self) -> &'static str {
        match self {
            Stage::Potential => "potential",
            Stage::New => "new",
            Stage::Active => "active",
            Stage::AtRisk => "at_risk",
            Stage::Churned => "churned",
            Stage::Reactivated => "reactivated",
        }
    }

    /// The stage for an id from [`Stage::id`].
    pub fn from_id(id: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The stage for its id or its name in either language (a customer table holds names in
    /// the run's language; older runs held ids).
    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|s| [s.id(), s.name(Lang::Zh), s.name(Lang::En)].contains(&text))
    }

    /// Display name.
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Stage::Potential, Lang::Zh) => "潜在客户",
            (Stage::New, Lang::Zh) => "新客户",
            (Stage::Active, Lang::Zh) => "活跃客户",
            (Stage::AtRisk, Lang::Zh) => "风险客户",
            (Stage::Churned, Lang::Zh) => "流失客户",
            (Stage::Reactivated, Lang::Zh) => "回流客户",
            (Stage::Potential, Lang::En) => "Potential",
            (Stage::New, Lang::En) => "New",
            (Stage::Active, Lang::En) => "Active",
            (Stage::AtRisk, Lang::En) => "At risk",
            (Stage::Churned, Lang::En) => "Churned",
            (Stage::Reactivated, Lang::En) => "Reactivated",
        }
    }

    /// Position in [`Stage::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How recency is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageMode {
    /// Relative to each customer's own purchase rhythm (overdue ratio).
    #[default]
    Cadence,
    /// The same day windows for everyone.
    Fixed,
}

/// How P(alive), when given, enters the active / at-risk / churned decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PAliveRule {
    /// Not used.
    #[default]
    Ignore,
    /// P(alive) decides where given; the recency rule for customers without it.
    Instead,
    /// The worse of the recency stage and the P(alive) stage.
    Stricter,
}

/// The `[lifecycle]` TOML section. Unknown keys are errors; values are checked by
/// [`LifecycleModel::new`].
///
/// ```toml
/// [lifecycle]
/// mode = "cadence"          # cadence | fixed
/// new_days = 30             # first purchase at most this many days before as-of → new
/// reactivated_days = 30     # a return purchase at most this many days ago → reactivated
/// at_risk_ratio = 1.5       # cadence: recency / cadence above this → at risk
/// churn_ratio = 2.5         # cadence: above this → churned
/// min_cadence_days = 7.0    # cadence floor, so two purchases a day apart don't churn in 3 days
/// active_days = 90          # fixed (and cadence without any cadence): recency ≤ this → active
/// churn_days = 180          # fixed: recency above this → churned
/// p_alive = "ignore"        # ignore | instead | stricter
/// p_alive_at_risk = 0.5     # P(alive) below this → at risk
/// p_alive_churned = 0.3     # P(alive) below this → churned
/// churn_months = 3          # trends: churned = no purchase in the next N months
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// Cadence-relative or fixed windows.
    pub mode: StageMode,
    /// New-customer window in days.
    pub new_days: u32,
    /// Reactivation window in days (since the last purchase).
    pub reactivated_days: u32,
    /// Overdue ratio above which a customer is at risk (cadence mode).
    pub at_risk_ratio: f64,
    /// Overdue ratio above which a customer is churned (cadence mode).
    pub churn_ratio: f64,
    /// Smallest cadence in days.
    pub min_cadence_days: f64,
    /// Days since the last purchase up to which a customer is active (fixed mode).
    pub active_days: u32,
    /// Days since the last purchase above which a customer is churned (fixed mode).
    pub churn_days: u32,
    /// Use of P(alive).
    pub p_alive: PAliveRule,
    /// P(alive) below this: at risk.
    pub p_alive_at_risk: f64,
    /// P(alive) below this: churned.
    pub p_alive_churned: f64,
    /// Monthly trends: a customer active in a month churns there when they buy nothing in the
    /// next `churn_months` months.
    pub churn_months: u32,
}

impl Default for LifecycleConfig {
    /// Ratios from the cadence rule in segmentation.md §5.1 (≤ 1.5 cooling, > 2.5 likely
    /// churned); windows from the app-analytics practice (churn horizon 60–90 days, doubled for
    /// retail purchase rhythms); P(alive) < 0.3 as seen in practice.
    fn default() -> Self {
        LifecycleConfig {
            mode: StageMode::Cadence,
            new_days: 30,
            reactivated_days: 30,
            at_risk_ratio: 1.5,
            churn_ratio: 2.5,
            min_cadence_days: 7.0,
            active_days: 90,
            churn_days: 180,
            p_alive: PAliveRule::Ignore,
            p_alive_at_risk: 0.5,
            p_alive_churned: 0.3,
            churn_months: 3,
        }
    }
}

impl LifecycleConfig {
    /// Options for [`crate::monthly_trends`] from this section, through the as-of month.
    pub fn trend_config(&self, through: Option<crate::Month>) -> crate::TrendConfig {
        crate::TrendConfig {
            churn_months: self.churn_months,
            through,
        }
    }

    /// Checks every rule; the first broken one is returned.
    pub fn validate(&self) -> Result<(), LifecycleError> {
        let err = |key, zh: String, en: String| {
            Err(LifecycleError::Config {
                key,
                message: clientele_core::Note::new(zh, en),
            })
        };
        let (at_risk, churn) = (self.at_risk_ratio, self.churn_ratio);
        if !(at_risk.is_finite() && at_risk > 0.0) {
            return err(
                "at_risk_ratio",
                format!("应为大于 0 的数，实际为 {at_risk}"),
                format!("must be a number above 0, got {at_risk}"),
            );
        }
        if !(churn.is_finite() && churn > at_risk) {
            return err(
                "churn_ratio",
                format!("应大于 at_risk_ratio（{at_risk}），实际为 {churn}"),
                format!("must be above at_risk_ratio ({at_risk}), got {churn}"),
            );
        }
        let min = self.min_cadence_days;
        if !(min.is_finite() && min > 0.0) {
            return err(
                "min_cadence_days",
                format!("应大于 0，实际为 {min}"),
                format!("must be above 0, got {min}"),
            );
        }
        let (active, churn_days) = (self.active_days, self.churn_days);
        if churn_days <= active {
            return err(
                "churn_days",
                format!("应大于 active_days（{active}），实际为 {churn_days}"),
                format!("must be above active_days ({active}), got {churn_days}"),
            );
        }
        let p_ok = |p: f64| (0.0..=1.0).contains(&p);
        let (p_risk, p_churned) = (self.p_alive_at_risk, self.p_alive_churned);
        if !p_ok(p_risk) {
            return err(
                "p_alive_at_risk",
                format!("应在 0 到 1 之间，实际为 {p_risk}"),
                format!("must be between 0 and 1, got {p_risk}"),
            );
        }
        if !p_ok(p_churned) || p_churned >= p_risk {
            return err(
                "p_alive_churned",
                format!("应在 0 到 p_alive_at_risk（{p_risk}）之间，实际为 {p_churned}"),
                format!("must be between 0 and p_alive_at_risk ({p_risk}), got {p_churned}"),
            );
        }
        if self.churn_months == 0 {
            return err(
                "churn_months",
                "应至少为 1，实际为 0".to_string(),
                "must be at least 1, got 0".to_string(),
            );
        }
        Ok(())
    }
}

/// What the stage rules need to know about one customer (one row of the customer table).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StageInput {
    /// Day of the first purchase.
    pub first_purchase: Day,
    /// Day of the last purchase (on or before as-of).
    pub last_purchase: Day,
    /// Distinct purchase days (at least 1).
    pub purchase_days: u32,
    /// Average days between purchase days; `None` for one-time buyers.
    pub avg_interpurchase_days: Option<f64>,
    /// P(alive) from a CLV model, if one was fitted.
    pub p_alive: Option<f64>,
    /// Days between the last purchase day and the one before it; `None` for one-time buyers.
    /// A gap longer than the churn threshold means the customer had churned and the last
    /// purchase brought them back. (The gap *ending at the last purchase*, not the longest
    /// one ever: a loyal customer with one long break years ago is not "reactivated".)
    pub last_gap_days: Option<i32>,
}

/// Column names [`stage_inputs`] reads. The first four are required; `p_alive` and
/// `last_gap_days` are used when present.
pub const STAGE_COLUMNS: [&str; 6] = [
    col::FIRST_PURCHASE,
    col::LAST_PURCHASE,
    col::PURCHASE_DAYS,
    "avg_interpurchase_days",
    col::P_ALIVE,
    "last_gap_days",
];

/// The stage inputs of every row of a customer table (DESIGN.md §3 column names; see
/// [`STAGE_COLUMNS`]). A missing required column is an error naming it.
pub fn stage_inputs(table: &CustomerTable) -> Result<Vec<StageInput>, LifecycleError> {
    let first = table.dates(col::FIRST_PURCHASE)?;
    let last = table.dates(col::LAST_PURCHASE)?;
    let days = table.number_view(col::PURCHASE_DAYS)?;
    let avg = table.number_view("avg_interpurchase_days")?;
    let optional = |name| match table.get(name) {
        Some(_) => table.number_view(name).map(Some),
        None => Ok(None),
    };
    let p_alive = optional(col::P_ALIVE)?;
    let gap = optional("last_gap_days")?;
    // one allocation of the final size (a `Result` collect grows its vector by copying)
    let mut inputs = Vec::with_capacity(table.len());
    for row in 0..table.len() {
        inputs.push({
            let missing = |what: &str| LifecycleError::BadCustomer {
                row,
                message: format!("`{}` has no {what}", &table.ids()[row]),
            };
            let purchase_days = days.get(row).ok_or_else(|| missing(col::PURCHASE_DAYS))?;
            StageInput {
                first_purchase: first.get(row).ok_or_else(|| missing(col::FIRST_PURCHASE))?,
                last_purchase: last.get(row).ok_or_else(|| missing(col::LAST_PURCHASE))?,
                purchase_days: if purchase_days >= 0.0 && purchase_days <= f64::from(u32::MAX) {
                    purchase_days as u32
                } else {
                    0 // rejected with the row number by `assign`
                },
                avg_interpurchase_days: avg.get(row),
                p_alive: p_alive.as_ref().and_then(|v| v.get(row)),
                last_gap_days: gap.as_ref().and_then(|v| v.get(row)).map(|g| g as i32),
            }
        });
    }
    Ok(inputs)
}

/// Count and share of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StageCount {
    /// The stage.
    pub stage: Stage,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Customers (or leads) in it.
    pub count: u64,
    /// `count / total` (0 when there is nobody).
    pub share: f64,
    /// The playbook's action for it, Chinese (set by the engine, which holds the playbook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_zh: Option<String>,
    /// The same in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_en: Option<String>,
}

/// Stage counts and what the rules used, for summary.json and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StageSummary {
    /// The as-of day.
    pub as_of: Day,
    /// The recency mode used.
    pub mode: StageMode,
    /// Customers with a purchase.
    pub customers: u64,
    /// Distinct leads without a purchase.
    pub leads: u64,
    /// One entry per stage in [`Stage::ALL`] order; counts sum to `customers + leads`.
    pub counts: Vec<StageCount>,
    /// Cadence given to customers without their own (the population median), if any.
    pub fallback_cadence_days: Option<f64>,
    /// Customers without a cadence of their own who were given the fallback cadence.
    pub on_fallback_cadence: u64,
    /// Customers without a cadence of their own judged on fixed windows because nobody had a
    /// cadence (cadence mode).
    pub on_fixed_windows: u64,
}

/// Stages for one as-of day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Stages {
    /// Stage per customer, in input order.
    pub stages: Vec<Stage>,
    /// Overdue ratio (recency / cadence) per customer; `None` where fixed windows were used.
    pub overdue_ratio: Vec<Option<f64>>,
    /// Lead ids (distinct, sorted), all in stage potential.
    pub potential: Vec<String>,
    /// Counts.
    pub summary: StageSummary,
}

/// Validated lifecycle rules.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleModel {
    config: LifecycleConfig,
}

impl LifecycleModel {
    /// Validates the config.
    pub fn new(config: LifecycleConfig) -> Result<LifecycleModel, LifecycleError> {
        config.validate()?;
        Ok(LifecycleModel { config })
    }

    /// The config in use.
    pub fn config(&self) -> &LifecycleConfig {
        &self.config
    }

    /// The stage of every customer at `as_of`, plus `leads` (ids of people without a purchase;
    /// duplicates count once) as potential. Errors when `as_of` is before a last purchase or a
    /// customer's inputs contradict each other.
    pub fn assign(
        &self,
        as_of: Day,
        customers: &[StageInput],
        leads: &[String],
    ) -> Result<Stages, LifecycleError> {
        for (row, c) in customers.iter().enumerate() {
            check_input(row, c, as_of)?;
        }
        self.assign_checked(as_of, customers, leads, median_cadence(customers))
    }

    /// [`Self::assign`] with the fallback cadence of customers without one of their own given
    /// instead of taken from `customers`: a run's [`StageSummary::fallback_cadence_days`], so
    /// that a few customers get the stages that run gave them among all its customers.
    /// `None`, or a value that is not finite and >= 0, means no fallback (fixed windows).
    pub fn assign_with_fallback(
        &self,
        as_of: Day,
        customers: &[StageInput],
        leads: &[String],
        fallback_cadence_days: Option<f64>,
    ) -> Result<Stages, LifecycleError> {
        for (row, c) in customers.iter().enumerate() {
            check_input(row, c, as_of)?;
        }
        let fallback = fallback_cadence_days.filter(|x| x.is_finite() && *x >= 0.0);
        self.assign_checked(as_of, customers, leads, fallback)
    }

    fn assign_checked(
        &self,
        as_of: Day,
        customers: &[StageInput],
        leads: &[String],
        fallback: Option<f64>,
    ) -> Result<Stages, LifecycleError> {
        let mut stages = Vec::with_capacity(customers.len());
        let mut ratios = Vec::with_capacity(customers.len());
        let (mut on_fallback, mut on_fixed) = (0u64, 0u64);
        for c in customers {
            let own = own_cadence(c);
            let cadence = match self.config.mode {
                StageMode::Fixed => None,
                StageMode::Cadence => {
                    if own.is_none() && fallback.is_some() {
                        on_fallback += 1;
                    } else if own.is_none() {
                        on_fixed += 1;
                    }
                    own.or(fallback)
                        .map(|x| x.max(self.config.min_cadence_days))
                }
            };
            let (stage, ratio) = self.stage_of(as_of, c, cadence, fallback);
            stages.push(stage);
            ratios.push(ratio);
        }
        let potential = potential(leads);
        let mut counts = [0u64; 6];
        for s in &stages {
            counts[s.index()] += 1;
        }
        let summary = self.summary(
            as_of,
            Tally {
                counts,
                customers: customers.len() as u64,
                on_fallback,
                on_fixed,
            },
            potential.len() as u64,
            fallback,
        );
        Ok(Stages {
            stages,
            overdue_ratio: ratios,
            potential,
            summary,
        })
    }

    /// The stages of every customer of `table` at `as_of`, a part of the customers at a time
    /// ([`CustomerTable::part_ranges`]; one part for a table in memory), `each` handed each
    /// part's stages in row order (to write them), plus `leads` as potential; the summary of
    /// all of them returned. The same stages and summary as [`Self::assign`] on every
    /// customer's inputs: the fallback cadence (the median of the customers' own) is taken
    /// from every customer first.
    pub fn assign_by_parts<E: From<LifecycleError>>(
        &self,
        as_of: Day,
        table: &CustomerTable,
        leads: &[String],
        mut each: impl FnMut(&[Stage]) -> Result<(), E>,
    ) -> Result<StageSummary, E> {
        let ranges = table.part_ranges();
        if let [rows] = ranges.as_slice() {
            // one part (a table in memory): read once
            let inputs = part_inputs(table, rows.clone())?;
            for (i, c) in inputs.iter().enumerate() {
                check_input(rows.start + i, c, as_of)?;
            }
            let fallback = median_of(inputs.iter().filter_map(own_cadence).collect());
            let stages = self.assign_checked(as_of, &inputs, &[], fallback)?;
            let mut tally = Tally::default();
            tally.add(&stages.summary);
            each(&stages.stages)?;
            let leads = potential(leads).len() as u64;
            return Ok(self.summary(as_of, tally, leads, fallback));
        }
        // Parts of a table kept on disk, as many at a time as there are threads (each read
        // from disk and worked on its own), taken in order: the first part's error first,
        // the stages handed on in row order.
        let at_once = rayon::current_num_threads().max(1);
        let mut own = Vec::new();
        for window in ranges.chunks(at_once) {
            let cadences: Vec<Result<Vec<f64>, LifecycleError>> = window
                .par_iter()
                .map(|rows| {
                    let inputs = part_inputs(table, rows.clone())?;
                    for (i, c) in inputs.iter().enumerate() {
                        check_input(rows.start + i, c, as_of)?;
                    }
                    Ok(inputs.iter().filter_map(own_cadence).collect())
                })
                .collect();
            for c in cadences {
                own.extend(c?);
            }
        }
        let fallback = median_of(own);
        let mut tally = Tally::default();
        for window in ranges.chunks(at_once) {
            let made: Vec<Result<Stages, LifecycleError>> = window
                .par_iter()
                .map(|rows| {
                    let inputs = part_inputs(table, rows.clone())?;
                    self.assign_checked(as_of, &inputs, &[], fallback)
                })
                .collect();
            for stages in made {
                let stages = stages?;
                tally.add(&stages.summary);
                each(&stages.stages)?;
            }
        }
        let leads = potential(leads).len() as u64;
        Ok(self.summary(as_of, tally, leads, fallback))
    }

    /// The summary of customers counted by stage in `tally` and `leads` potential ones.
    fn summary(&self, as_of: Day, tally: Tally, leads: u64, fallback: Option<f64>) -> StageSummary {
        let mut counts = tally.counts;
        counts[Stage::Potential.index()] += leads;
        let total: u64 = counts.iter().sum();
        StageSummary {
            as_of,
            mode: self.config.mode,
            customers: tally.customers,
            leads,
            counts: Stage::ALL
                .iter()
                .map(|&s| StageCount {
                    stage: s,
                    name_zh: s.name(Lang::Zh).to_string(),
                    name_en: s.name(Lang::En).to_string(),
                    count: counts[s.index()],
                    share: if total == 0 {
                        0.0
                    } else {
                        counts[s.index()] as f64 / total as f64
                    },
                    action_zh: None,
                    action_en: None,
                })
                .collect(),
            fallback_cadence_days: match self.config.mode {
                StageMode::Cadence => fallback.map(|x| x.max(self.config.min_cadence_days)),
                StageMode::Fixed => None,
            },
            on_fallback_cadence: tally.on_fallback,
            on_fixed_windows: tally.on_fixed,
        }
    }

    /// One customer's stage; `cadence` is `None` when fixed windows apply.
    fn stage_of(
        &self,
        as_of: Day,
        c: &StageInput,
        cadence: Option<f64>,
        fallback: Option<f64>,
    ) -> (Stage, Option<f64>) {
        let cfg = &self.config;
        let recency = as_of.0 - c.last_purchase.0;
        let ratio = cadence.map(|cad| f64::from(recency) / cad);
        if as_of.0 - c.first_purchase.0 <= cfg.new_days as i32 {
            return (Stage::New, ratio);
        }
        if recency <= cfg.reactivated_days as i32 && self.came_back(c, cadence, fallback) {
            return (Stage::Reactivated, ratio);
        }
        let by_recency = match ratio {
            Some(r) if r <= cfg.at_risk_ratio => Stage::Active,
            Some(r) if r <= cfg.churn_ratio => Stage::AtRisk,
            Some(_) => Stage::Churned,
            None if recency <= cfg.active_days as i32 => Stage::Active,
            None if recency <= cfg.churn_days as i32 => Stage::AtRisk,
            None => Stage::Churned,
        };
        let by_p = c.p_alive.map(|p| {
            if p < cfg.p_alive_churned {
                Stage::Churned
            } else if p < cfg.p_alive_at_risk {
                Stage::AtRisk
            } else {
                Stage::Active
            }
        });
        let stage = match (cfg.p_alive, by_p) {
            (PAliveRule::Instead, Some(p)) => p,
            (PAliveRule::Stricter, Some(p)) => by_recency.max(p), // Active < AtRisk < Churned
            _ => by_recency,
        };
        (stage, ratio)
    }

    /// Whether the longest gap was longer than the churn threshold. In cadence mode the
    /// threshold is `churn_ratio ×` the average of the customer's *other* gaps (the gap itself
    /// would inflate the average it is compared with), or the fallback cadence when there is no
    /// other gap; in fixed mode it is `churn_days`.
    fn came_back(&self, c: &StageInput, cadence: Option<f64>, fallback: Option<f64>) -> bool {
        let Some(gap) = c.last_gap_days else {
            return false;
        };
        let cfg = &self.config;
        if cadence.is_none() {
            return gap > cfg.churn_days as i32;
        }
        let other_gaps = c.purchase_days.checked_sub(2).filter(|&n| n > 0);
        let before = match other_gaps {
            Some(n) => Some(f64::from(c.last_purchase.0 - c.first_purchase.0 - gap) / f64::from(n)),
            None => fallback,
        };
        match before {
            Some(b) => f64::from(gap) / b.max(cfg.min_cadence_days) > cfg.churn_ratio,
            None => gap > cfg.churn_days as i32,
        }
    }
}

fn check_input(row: usize, c: &StageInput, as_of: Day) -> Result<(), LifecycleError> {
    let bad = |message: String| Err(LifecycleError::BadCustomer { row, message });
    if c.last_purchase > as_of {
        return Err(LifecycleError::AsOfBeforeLastPurchase {
            row,
            last_purchase: c.last_purchase,
            as_of,
        });
    }
    if c.first_purchase > c.last_purchase {
        return bad(format!(
            "first purchase {} is after last purchase {}",
            c.first_purchase, c.last_purchase
        ));
    }
    if c.purchase_days == 0 {
        return bad("purchase_days is 0 for a customer with purchases".to_string());
    }
    if let Some(a) = c.avg_interpurchase_days
        && !(a.is_finite() && a >= 0.0)
    {
        return bad(format!("avg_interpurchase_days is {a}"));
    }
    if let Some(p) = c.p_alive
        && !(0.0..=1.0).contains(&p)
    {
        return bad(format!("p_alive is {p}, outside 0..=1"));
    }
    if let Some(g) = c.last_gap_days
        && (g < 0 || g > c.last_purchase.0 - c.first_purchase.0)
    {
        return bad(format!(
            "last_gap_days is {g}, outside 0..={} (last − first purchase)",
            c.last_purchase.0 - c.first_purchase.0
        ));
    }
    Ok(())
}

/// The customer's own cadence: needs two purchase days and a positive average.
fn own_cadence(c: &StageInput) -> Option<f64> {
    c.avg_interpurchase_days
        .filter(|&a| c.purchase_days >= 2 && a > 0.0)
}

/// Customers counted by stage, and by how their cadence was had.
#[derive(Debug, Default)]
struct Tally {
    counts: [u64; 6],
    customers: u64,
    on_fallback: u64,
    on_fixed: u64,
}

impl Tally {
    /// Adds a part's counts.
    fn add(&mut self, s: &StageSummary) {
        for c in &s.counts {
            self.counts[c.stage.index()] += c.count;
        }
        self.customers += s.customers;
        self.on_fallback += s.on_fallback_cadence;
        self.on_fixed += s.on_fixed_windows;
    }
}

/// The leads, distinct and sorted.
fn potential(leads: &[String]) -> Vec<String> {
    leads
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The stage inputs of rows `rows` of `table`; an error names the row in the table.
fn part_inputs(
    table: &CustomerTable,
    rows: std::ops::Range<usize>,
) -> Result<Vec<StageInput>, LifecycleError> {
    let part = table.part(rows.clone(), &STAGE_COLUMNS)?;
    stage_inputs(&part).map_err(|e| match e {
        LifecycleError::BadCustomer { row, message } => LifecycleError::BadCustomer {
            row: row + rows.start,
            message,
        },
        other => other,
    })
}

/// Median of the customers' own cadences (mean of the middle two for an even count).
fn median_cadence(customers: &[StageInput]) -> Option<f64> {
    median_of(customers.iter().filter_map(own_cadence).collect())
}

/// Median of `v` (mean of the middle two for an even count).
fn median_of(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    // the middle value(s) selected, not the whole list sorted: the same values
    let n = v.len();
    let (below, &mut middle, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    Some(if n % 2 == 1 {
        middle
    } else {
        let before = below
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .unwrap_or(middle);
        (before + middle) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AS_OF: Day = Day(10_000);

    fn model() -> LifecycleModel {
        LifecycleModel::new(LifecycleConfig::default()).unwrap()
    }

    fn fixed() -> LifecycleModel {
        LifecycleModel::new(LifecycleConfig {
            mode: StageMode::Fixed,
            ..LifecycleConfig::default()
        })
        .unwrap()
    }

    /// A regular buyer: `n` purchase days every `cadence` days, the last `recency` days ago.
    fn regular(recency: i32, cadence: i32, n: u32) -> StageInput {
        let last = Day(AS_OF.0 - recency);
        StageInput {
            first_purchase: Day(last.0 - cadence * (n as i32 - 1)),
            last_purchase: last,
            purchase_days: n,
            avg_interpurchase_days: Some(f64::from(cadence)),
            p_alive: None,
            last_gap_days: Some(cadence),
        }
    }

    /// A one-time buyer `days_ago` days ago.
    fn once(days_ago: i32) -> StageInput {
        let d = Day(AS_OF.0 - days_ago);
        StageInput {
            first_purchase: d,
            last_purchase: d,
            purchase_days: 1,
            avg_interpurchase_days: None,
            p_alive: None,
            last_gap_days: None,
        }
    }

    fn stage(m: &LifecycleModel, c: StageInput) -> Stage {
        m.assign(AS_OF, &[c], &[]).unwrap().stages[0]
    }

    #[test]
    fn cadence_active_until_exactly_the_at_risk_ratio() {
        // cadence 20 days, at_risk_ratio 1.5 → threshold 30 days
        assert_eq!(stage(&model(), regular(29, 20, 10)), Stage::Active);
        assert_eq!(stage(&model(), regular(30, 20, 10)), Stage::Active);
        assert_eq!(stage(&model(), regular(31, 20, 10)), Stage::AtRisk);
    }

    #[test]
    fn cadence_at_risk_until_exactly_the_churn_ratio() {
        // churn_ratio 2.5 → threshold 50 days
        assert_eq!(stage(&model(), regular(49, 20, 10)), Stage::AtRisk);
        assert_eq!(stage(&model(), regular(50, 20, 10)), Stage::AtRisk);
        assert_eq!(stage(&model(), regular(51, 20, 10)), Stage::Churned);
    }

    #[test]
    fn new_until_exactly_new_days_after_the_first_purchase() {
        // alone, so no fallback cadence: fixed windows after the new window
        assert_eq!(stage(&model(), once(29)), Stage::New);
        assert_eq!(stage(&model(), once(30)), Stage::New);
        assert_eq!(stage(&model(), once(31)), Stage::Active);
    }

    #[test]
    fn new_wins_over_a_fast_cadence() {
        // bought on days −30 and −29: cadence 1 (floored to 7), 29 days silent
        let c = StageInput {
            first_purchase: Day(AS_OF.0 - 30),
            last_purchase: Day(AS_OF.0 - 29),
            purchase_days: 2,
            avg_interpurchase_days: Some(1.0),
            p_alive: None,
            last_gap_days: Some(1),
        };
        assert_eq!(stage(&model(), c), Stage::New);
        let older = StageInput {
            first_purchase: Day(AS_OF.0 - 31),
            ..c
        };
        assert_eq!(stage(&model(), older), Stage::Churned);
    }

    #[test]
    fn fixed_windows_boundaries() {
        let m = fixed();
        assert_eq!(stage(&m, regular(89, 20, 10)), Stage::Active);
        assert_eq!(stage(&m, regular(90, 20, 10)), Stage::Active);
        assert_eq!(stage(&m, regular(91, 20, 10)), Stage::AtRisk);
        assert_eq!(stage(&m, regular(179, 20, 10)), Stage::AtRisk);
        assert_eq!(stage(&m, regular(180, 20, 10)), Stage::AtRisk);
        assert_eq!(stage(&m, regular(181, 20, 10)), Stage::Churned);
        let r = m.assign(AS_OF, &[regular(91, 20, 10)], &[]).unwrap();
        assert_eq!(r.overdue_ratio, [None]);
        assert_eq!(r.summary.fallback_cadence_days, None);
    }

    #[test]
    fn one_time_buyers_use_the_median_cadence() {
        // cadences 10, 20, 30 → median 20: at risk above 30 days, churned above 50
        let pop = [regular(1, 10, 5), regular(1, 20, 5), regular(1, 30, 5)];
        let judge = |days_ago| {
            let mut v = pop.to_vec();
            v.push(once(days_ago));
            model().assign(AS_OF, &v, &[]).unwrap()
        };
        assert_eq!(judge(31).stages[3], Stage::AtRisk); // 30 would be `new`
        assert_eq!(judge(50).stages[3], Stage::AtRisk);
        assert_eq!(judge(51).stages[3], Stage::Churned);
        let r = judge(40);
        assert_eq!(r.summary.fallback_cadence_days, Some(20.0));
        assert_eq!(r.summary.on_fallback_cadence, 1);
        assert_eq!(r.overdue_ratio[3], Some(2.0));
    }

    #[test]
    fn a_customer_alone_gets_the_stage_of_the_population_with_its_fallback_cadence() {
        let pop = [regular(1, 10, 5), regular(1, 20, 5), regular(1, 30, 5)];
        for days_ago in [31, 45, 50, 51, 200] {
            let mut v = pop.to_vec();
            v.push(once(days_ago));
            let all = model().assign(AS_OF, &v, &[]).unwrap();
            let fallback = all.summary.fallback_cadence_days;
            let alone = model()
                .assign_with_fallback(AS_OF, &[once(days_ago)], &[], fallback)
                .unwrap();
            assert_eq!(alone.stages[0], all.stages[3], "{days_ago}");
            // without it, fixed windows: 45 days ago is still active
            let bare = model().assign(AS_OF, &[once(days_ago)], &[]).unwrap();
            assert_eq!(bare.summary.fallback_cadence_days, None);
        }
        let r = model()
            .assign_with_fallback(AS_OF, &[once(45)], &[], Some(f64::NAN))
            .unwrap();
        assert_eq!(r.stages[0], Stage::Active);
        // the inputs are checked as by `assign`
        let after = once(-1);
        assert!(
            model()
                .assign_with_fallback(AS_OF, &[after], &[], Some(20.0))
                .is_err()
        );
    }

    #[test]
    fn cadence_has_a_floor() {
        // cadence 2 days floored to 7: at risk above 10.5 days
        assert_eq!(stage(&model(), regular(10, 2, 30)), Stage::Active);
        assert_eq!(stage(&model(), regular(11, 2, 30)), Stage::AtRisk);
        let m = LifecycleModel::new(LifecycleConfig {
            min_cadence_days: 10.0,
            ..LifecycleConfig::default()
        })
        .unwrap();
        assert_eq!(stage(&m, regular(15, 2, 30)), Stage::Active);
        assert_eq!(stage(&m, regular(16, 2, 30)), Stage::AtRisk);
    }

    /// Three purchase days: other gap 20 days, then a gap of `gap` days, the last one
    /// `recency` days ago.
    fn returner(gap: i32, recency: i32) -> StageInput {
        let last = Day(AS_OF.0 - recency);
        StageInput {
            first_purchase: Day(last.0 - gap - 20),
            last_purchase: last,
            purchase_days: 3,
            avg_interpurchase_days: Some(f64::from(gap + 20) / 2.0),
            p_alive: None,
            last_gap_days: Some(gap),
        }
    }

    #[test]
    fn reactivated_needs_a_gap_above_the_churn_ratio_of_the_other_gaps() {
        // other gap 20 → churn threshold 2.5 × 20 = 50 days
        assert_eq!(stage(&model(), returner(49, 10)), Stage::Active);
        assert_eq!(stage(&model(), returner(50, 10)), Stage::Active);
        assert_eq!(stage(&model(), returner(51, 10)), Stage::Reactivated);
    }

    #[test]
    fn reactivated_only_within_reactivated_days() {
        assert_eq!(stage(&model(), returner(100, 29)), Stage::Reactivated);
        assert_eq!(stage(&model(), returner(100, 30)), Stage::Reactivated);
        // cadence (120 / 2 = 60) → 31 days is still active
        assert_eq!(stage(&model(), returner(100, 31)), Stage::Active);
    }

    #[test]
    fn reactivated_in_fixed_mode_needs_a_gap_above_churn_days() {
        let m = fixed();
        assert_eq!(stage(&m, returner(180, 10)), Stage::Active);
        assert_eq!(stage(&m, returner(181, 10)), Stage::Reactivated);
        assert_eq!(stage(&m, returner(179, 10)), Stage::Active);
    }

    #[test]
    fn two_time_buyer_gap_is_judged_on_the_median_cadence() {
        // its own cadence joins the median: 10, 20, 20, 30, gap → 20, so a single gap above
        // 50 days is a return
        let two = |gap: i32| StageInput {
            first_purchase: Day(AS_OF.0 - 5 - gap),
            last_purchase: Day(AS_OF.0 - 5),
            purchase_days: 2,
            avg_interpurchase_days: Some(f64::from(gap)),
            p_alive: None,
            last_gap_days: Some(gap),
        };
        let judge = |gap| {
            let v = [
                regular(1, 10, 5),
                regular(1, 20, 5),
                regular(1, 20, 5),
                regular(1, 30, 5),
                two(gap),
            ];
            model().assign(AS_OF, &v, &[]).unwrap().stages[4]
        };
        assert_eq!(judge(50), Stage::Active);
        assert_eq!(judge(51), Stage::Reactivated);
    }

    #[test]
    fn p_alive_stricter_takes_the_worse_stage() {
        let m = LifecycleModel::new(LifecycleConfig {
            p_alive: PAliveRule::Stricter,
            ..LifecycleConfig::default()
        })
        .unwrap();
        let with_p = |recency, p| StageInput {
            p_alive: p,
            ..regular(recency, 20, 10)
        };
        assert_eq!(stage(&m, with_p(5, Some(0.5))), Stage::Active);
        assert_eq!(stage(&m, with_p(5, Some(0.49))), Stage::AtRisk);
        assert_eq!(stage(&m, with_p(5, Some(0.3))), Stage::AtRisk);
        assert_eq!(stage(&m, with_p(5, Some(0.29))), Stage::Churned);
        assert_eq!(stage(&m, with_p(60, Some(0.99))), Stage::Churned);
        assert_eq!(stage(&m, with_p(60, None)), Stage::Churned);
    }

    #[test]
    fn p_alive_instead_decides_where_given() {
        let m = LifecycleModel::new(LifecycleConfig {
            p_alive: PAliveRule::Instead,
            ..LifecycleConfig::default()
        })
        .unwrap();
        let c = |p| StageInput {
            p_alive: p,
            ..regular(60, 20, 10)
        };
        assert_eq!(stage(&m, c(Some(0.99))), Stage::Active);
        assert_eq!(stage(&m, c(Some(0.4))), Stage::AtRisk);
        assert_eq!(stage(&m, c(None)), Stage::Churned);
        // ignored by default
        assert_eq!(stage(&model(), c(Some(0.99))), Stage::Churned);
    }

    #[test]
    fn as_of_before_last_purchase_is_an_error() {
        let c = regular(-1, 20, 10);
        let err = model().assign(AS_OF, &[c], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "as-of 1997-05-19 is before the last purchase (1997-05-20) of customer row 0: use \
             an as-of on or after the last purchase in the data"
        );
        assert_eq!(stage(&model(), regular(0, 20, 10)), Stage::Active);
    }

    #[test]
    fn contradictory_inputs_are_errors() {
        let bad = [
            StageInput {
                purchase_days: 0,
                ..once(5)
            },
            StageInput {
                first_purchase: Day(AS_OF.0 - 1),
                ..once(5)
            },
            StageInput {
                p_alive: Some(1.5),
                ..once(5)
            },
            StageInput {
                avg_interpurchase_days: Some(f64::NAN),
                ..once(5)
            },
            StageInput {
                last_gap_days: Some(1000),
                ..regular(5, 20, 10)
            },
        ];
        for c in bad {
            let err = model().assign(AS_OF, &[c], &[]).unwrap_err();
            assert!(
                matches!(err, LifecycleError::BadCustomer { row: 0, .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn leads_are_potential_and_counted_once() {
        let leads = ["x".to_string(), "y".to_string(), "x".to_string()];
        let r = model().assign(AS_OF, &[once(5)], &leads).unwrap();
        assert_eq!(r.potential, ["x", "y"]);
        assert_eq!(r.summary.leads, 2);
        let c = &r.summary.counts;
        assert_eq!(c[Stage::Potential.index()].count, 2);
        assert_eq!(c[Stage::New.index()].count, 1);
        assert_eq!(c[Stage::Potential.index()].name_zh, "潜在客户");
        assert!((c[Stage::New.index()].share - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn stage_names_and_ids() {
        let zh: Vec<_> = Stage::ALL.iter().map(|s| s.name(Lang::Zh)).collect();
        assert_eq!(
            zh,
            [
                "潜在客户",
                "新客户",
                "活跃客户",
                "风险客户",
                "流失客户",
                "回流客户"
            ]
        );
        for s in Stage::ALL {
            assert_eq!(Stage::from_id(s.id()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.id())
            );
        }
    }

    #[test]
    fn config_from_toml_and_unknown_keys() {
        #[derive(Deserialize)]
        struct File {
            lifecycle: LifecycleConfig,
        }
        let f: File = toml::from_str(
            "[lifecycle]\nmode = \"fixed\"\nactive_days = 60\np_alive = \"stricter\"\n",
        )
        .unwrap();
        assert_eq!(f.lifecycle.mode, StageMode::Fixed);
        assert_eq!(f.lifecycle.active_days, 60);
        assert_eq!(f.lifecycle.churn_days, 180);
        assert_eq!(f.lifecycle.p_alive, PAliveRule::Stricter);
        let err = toml::from_str::<File>("[lifecycle]\nchurn_day = 3\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("unknown field `churn_day`"), "{err}");
    }

    #[test]
    fn config_rules_each_rejected() {
        let d = LifecycleConfig::default;
        let cases = [
            (
                LifecycleConfig {
                    at_risk_ratio: 0.0,
                    ..d()
                },
                "lifecycle.at_risk_ratio: must be a number above 0, got 0",
            ),
            (
                LifecycleConfig {
                    churn_ratio: 1.5,
                    ..d()
                },
                "lifecycle.churn_ratio: must be above at_risk_ratio (1.5), got 1.5",
            ),
            (
                LifecycleConfig {
                    min_cadence_days: f64::NAN,
                    ..d()
                },
                "lifecycle.min_cadence_days: must be above 0, got NaN",
            ),
            (
                LifecycleConfig {
                    churn_days: 90,
                    ..d()
                },
                "lifecycle.churn_days: must be above active_days (90), got 90",
            ),
            (
                LifecycleConfig {
                    p_alive_at_risk: 1.2,
                    ..d()
                },
                "lifecycle.p_alive_at_risk: must be between 0 and 1, got 1.2",
            ),
            (
                LifecycleConfig {
                    p_alive_churned: 0.5,
                    ..d()
                },
                "lifecycle.p_alive_churned: must be between 0 and p_alive_at_risk (0.5), got 0.5",
            ),
            (
                LifecycleConfig {
                    churn_months: 0,
                    ..d()
                },
                "lifecycle.churn_months: must be at least 1, got 0",
            ),
        ];
        for (cfg, msg) in cases {
            assert_eq!(LifecycleModel::new(cfg).unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn inputs_from_a_customer_table() {
        use clientele_core::ColumnData;
        let mut t = CustomerTable::new(vec!["a".into(), "b".into()]);
        let d = |x| Some(Day(x));
        t.push(
            "first_purchase",
            ColumnData::Date(vec![d(9000), d(9990)].into()),
        )
        .unwrap();
        t.push(
            "last_purchase",
            ColumnData::Date(vec![d(9990), d(9990)].into()),
        )
        .unwrap();
        t.push(
            "purchase_days",
            ColumnData::Int(vec![Some(10), Some(1)].into()),
        )
        .unwrap();
        let err = stage_inputs(&t).unwrap_err().to_string();
        assert!(err.starts_with("column `avg_interpurchase_days` is not in the customer table"));
        t.push(
            "avg_interpurchase_days",
            ColumnData::Float(vec![Some(110.0), None].into()),
        )
        .unwrap();
        t.push(
            "last_gap_days",
            ColumnData::Int(vec![Some(200), None].into()),
        )
        .unwrap();
        let inputs = stage_inputs(&t).unwrap();
        assert_eq!(inputs[0].last_gap_days, Some(200));
        assert_eq!(inputs[1].p_alive, None);
        let r = model().assign(AS_OF, &inputs, &[]).unwrap();
        assert_eq!(r.stages, [Stage::Active, Stage::New]);
        let cfg = LifecycleConfig::default().trend_config(None);
        assert_eq!(cfg.churn_months, 3);
    }

    fn arb_input() -> impl Strategy<Value = StageInput> {
        (
            0i32..400,
            0i32..400,
            1u32..20,
            any::<bool>(),
            proptest::option::of(0.0f64..=1.0),
        )
            .prop_map(|(recency, span, n, has_gap, p)| {
                let last = Day(AS_OF.0 - recency);
                let span = if n == 1 { 0 } else { span };
                StageInput {
                    first_purchase: Day(last.0 - span),
                    last_purchase: last,
                    purchase_days: n,
                    avg_interpurchase_days: (n > 1).then(|| f64::from(span) / f64::from(n - 1)),
                    p_alive: p,
                    last_gap_days: (n > 1 && has_gap)
                        .then_some(span / 2 + 1)
                        .map(|g| g.min(span)),
                }
            })
    }

    proptest! {
        /// The median selected is the one the sorted list gives, to the bit (signed zeros,
        /// ties and even counts included).
        #[test]
        fn the_median_selected_is_the_sorted_lists(
            v in proptest::collection::vec(
                prop_oneof![Just(0.0), Just(-0.0), Just(7.5), (-1e3f64..1e3)],
                0..40,
            ),
        ) {
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len();
            let want = (n > 0).then(|| if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            });
            prop_assert_eq!(median_of(v).map(f64::to_bits), want.map(f64::to_bits));
        }

        #[test]
        fn stage_counts_sum_to_customers_and_leads(
            customers in proptest::collection::vec(arb_input(), 0..60),
            leads in proptest::collection::vec(0u8..20, 0..20),
            fixed_mode in any::<bool>(),
            rule in 0u8..3,
        ) {
            let leads: Vec<String> = leads.iter().map(|l| format!("L{l}")).collect();
            let distinct: BTreeSet<&String> = leads.iter().collect();
            let m = LifecycleModel::new(LifecycleConfig {
                mode: if fixed_mode { StageMode::Fixed } else { StageMode::Cadence },
                p_alive: [PAliveRule::Ignore, PAliveRule::Instead, PAliveRule::Stricter][rule as usize],
                ..LifecycleConfig::default()
            }).unwrap();
            let r = m.assign(AS_OF, &customers, &leads).unwrap();
            let total: u64 = r.summary.counts.iter().map(|c| c.count).sum();
            prop_assert_eq!(total, (customers.len() + distinct.len()) as u64);
            prop_assert_eq!(r.stages.len(), customers.len());
            prop_assert!(!r.stages.contains(&Stage::Potential));
            if total > 0 {
                let share: f64 = r.summary.counts.iter().map(|c| c.share).sum();
                prop_assert!((share - 1.0).abs() < 1e-9);
            }
        }

        /// Stages of a table kept on disk, a part at a time, are those of one call on every
        /// customer's inputs: the fallback cadence is every customer's median.
        #[test]
        fn stages_by_parts_equal_one_call(
            customers in proptest::collection::vec(arb_input(), 0..60),
            leads in proptest::collection::vec(0u8..20, 0..20),
            fixed_mode in any::<bool>(),
            part_rows in 1usize..9,
        ) {
            use clientele_core::ColumnData;
            let leads: Vec<String> = leads.iter().map(|l| format!("L{l}")).collect();
            let m = LifecycleModel::new(LifecycleConfig {
                mode: if fixed_mode { StageMode::Fixed } else { StageMode::Cadence },
                p_alive: PAliveRule::Stricter,
                ..LifecycleConfig::default()
            }).unwrap();
            let whole = m.assign(AS_OF, &customers, &leads).unwrap();
            let mut t = CustomerTable::new((0..customers.len()).map(|i| format!("c{i}")).collect());
            let dates = |f: &dyn Fn(&StageInput) -> Day| {
                ColumnData::Date(customers.iter().map(|c| Some(f(c))).collect())
            };
            t.push(col::FIRST_PURCHASE, dates(&|c| c.first_purchase)).unwrap();
            t.push(col::LAST_PURCHASE, dates(&|c| c.last_purchase)).unwrap();
            t.push(col::PURCHASE_DAYS, ColumnData::Int(customers.iter().map(|c| Some(i64::from(c.purchase_days))).collect())).unwrap();
            t.push("avg_interpurchase_days", ColumnData::Float(customers.iter().map(|c| c.avg_interpurchase_days).collect())).unwrap();
            t.push(col::P_ALIVE, ColumnData::Float(customers.iter().map(|c| c.p_alive).collect())).unwrap();
            t.push("last_gap_days", ColumnData::Int(customers.iter().map(|c| c.last_gap_days.map(i64::from)).collect())).unwrap();
            let stored = clientele_core::testing::in_parts(&t, part_rows);
            let mut stages = Vec::new();
            let summary = m
                .assign_by_parts(AS_OF, &stored, &leads, |s| -> Result<(), LifecycleError> {
                    stages.extend_from_slice(s);
                    Ok(())
                })
                .unwrap();
            prop_assert_eq!(stages, whole.stages);
            prop_assert_eq!(summary, whole.summary);
        }
    }

    #[test]
    fn a_bad_customer_in_a_later_part_is_named_by_its_row_in_the_table() {
        use clientele_core::ColumnData;
        let n = 10;
        let mut t = CustomerTable::new((0..n).map(|i| format!("c{i}")).collect());
        let d = |x| Some(Day(x));
        t.push(
            col::FIRST_PURCHASE,
            ColumnData::Date((0..n).map(|_| d(9000)).collect()),
        )
        .unwrap();
        t.push(
            col::LAST_PURCHASE,
            ColumnData::Date(
                (0..n)
                    .map(|i| if i == 7 { d(8000) } else { d(9990) })
                    .collect(),
            ),
        )
        .unwrap();
        t.push(
            col::PURCHASE_DAYS,
            ColumnData::Int((0..n).map(|_| Some(3)).collect()),
        )
        .unwrap();
        t.push(
            "avg_interpurchase_days",
            ColumnData::Float((0..n).map(|_| Some(10.0)).collect()),
        )
        .unwrap();
        let stored = clientele_core::testing::in_parts(&t, 4);
        let e = model()
            .assign_by_parts(AS_OF, &stored, &[], |_| -> Result<(), LifecycleError> {
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(e, LifecycleError::BadCustomer { row: 7, .. }),
            "{e}"
        );
    }
}
