//! The model steps of an analysis, in order: CLV (so rules can use `clv` and `p_alive`),
//! RFM scores and segments, value tiers, then the grading schemes. Each step adds columns to
//! the customer table and a serializable section to the [`crate::Analysis`].

use clientele_core::columns as col;
use clientele_core::{ColumnData, CustomerTable, Grouping, Note};
use clientele_grade::{
    Playbook, SchemeConfig, SchemeSummary, TableSchema, check, compile, presets, summarize,
    value_tiers,
};
use clientele_rfm::{RfmModel, RfmReport};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Lang};
use crate::customer_value::ClvSection;
use crate::customer_value::clv_step;
use crate::{EngineError, Step};
use clientele_behaviour::BehaviourSummary;

/// Value tiers without the per-customer rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ValueTierSection {
    /// Value column used.
    pub column: String,
    /// Σ positive value.
    pub total_positive: f64,
    /// The smallest share of customers, best first, holding 80 % of the positive value
    /// (absent from version 1 summaries).
    #[serde(default)]
    pub customers_for_80_percent: Option<f64>,
    /// Pareto curve (≤ 201 points).
    pub pareto: Vec<clientele_grade::ParetoPoint>,
    /// Per ABC tier.
    pub abc: Vec<clientele_grade::TierSummary>,
    /// Per HML tier.
    pub hml: Vec<clientele_grade::TierSummary>,
}

/// A target list file: customers of one grade of one scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetList {
    /// Scheme name.
    pub scheme: String,
    /// Customer-table column holding the grade.
    pub column: String,
    /// Grade.
    pub grade: String,
    /// Path relative to the output directory.
    pub file: String,
    /// Customers in the list.
    pub customers: usize,
    /// Separator when the column holds several tags (a customer is in the list of each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_separator: Option<String>,
}

/// K-means segments without the per-customer labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClusterSection {
    /// The fitted model (features, scaler, centroids): enough to label new customers.
    pub model: clientele_cluster::FittedKMeans,
    /// One profile per cluster, cluster 1 = most valuable.
    pub profiles: Vec<clientele_cluster::ClusterProfile>,
    /// Inertia, silhouette, Calinski-Harabasz, Davies-Bouldin for every k tried.
    pub k_scores: Vec<clientele_cluster::KScore>,
    /// Dropped features, left-out customers and similar remarks.
    pub notes: Vec<Note>,
}

/// Lifecycle stages, monthly trends and the cohort matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LifecycleSection {
    /// Stage counts (customers + leads).
    pub stages: clientele_lifecycle::StageSummary,
    /// One row per calendar month from the first purchase to as-of.
    pub trends: Vec<clientele_lifecycle::MonthTrend>,
    /// Retention by first-purchase month.
    pub cohorts: clientele_lifecycle::CohortMatrix,
}

/// Everything the model steps produce besides the new columns.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelOutputs {
    pub clusters: Step<ClusterSection>,
    pub lifecycle: Option<LifecycleSection>,
    pub behaviour: Step<BehaviourSummary>,
    pub clv: Step<ClvSection>,
    pub rfm: Option<RfmReport>,
    pub grades: Vec<SchemeSummary>,
    pub skipped_presets: Vec<Note>,
    pub value_tiers: Option<ValueTierSection>,
    pub timings: Vec<crate::StepTiming>,
    /// Target lists, next steps and best customers, when made beside behaviour.
    pub decided: Option<Decided>,
}

/// The playbook's action in each language for a group known by any of `names` (the first
/// name with an action wins), so every surface shows the same "what to do".
fn actions(playbook: &Playbook, names: &[&str]) -> (Option<String>, Option<String>) {
    let find = |lang| {
        names
            .iter()
            .find_map(|n| playbook.action(n, lang))
            .map(str::to_string)
    };
    (
        find(clientele_grade::Lang::Zh),
        find(clientele_grade::Lang::En),
    )
}

/// What the model steps need besides the table.
#[derive(Debug)]
pub(crate) struct ModelInputs<'a> {
    pub as_of: clientele_core::Day,
    pub leads: &'a [String],
    /// Owned: the lifecycle step converts them in place and drops them, so they are not held
    /// through K-means and behaviour (1.3 GB at 100M rows); a run by parts keeps them on disk
    /// until then.
    pub months: crate::deferred::Deferred<clientele_ingest::MonthActivity>,
    /// Owned: the behaviour step reads them a chunk at a time (on disk in a run by parts) and
    /// lets them go.
    pub category_spend: crate::deferred::Deferred<clientele_ingest::CategorySpend>,
    pub categories: &'a [String],
    pub seasonality: Option<&'a (
        [clientele_ingest::PeriodTotals; 7],
        [clientele_ingest::PeriodTotals; 12],
    )>,
    /// Run the behaviour step (distributions, categories): not for a month end of
    /// `--history monthly`, whose snapshot and sizes do not use it.
    pub behaviour: bool,
    /// Make the target lists, next steps and best customers beside the behaviour step
    /// ([`ModelOutputs::decided`]); the analysis makes them afterwards otherwise.
    pub decide: bool,
    /// With `[clv] model = "auto"` and a calibration end: the holdout comparison that chose
    /// the model (without it, auto compares by BIC on the whole data).
    pub holdout_choice: Option<&'a clientele_clv::ModelComparison>,
}

/// Runs all model steps on `table` (adding columns) and returns their summaries. A step's
/// error on a table kept on disk whose column could not be read is that read's error: the
/// step saw the column as absent.
pub(crate) fn run_models(
    table: &mut CustomerTable,
    config: &Config,
    inputs: ModelInputs<'_>,
) -> Result<ModelOutputs, EngineError> {
    let out = run_steps(table, config, inputs);
    match (out, table.store_failure()) {
        (Err(_), Some(e)) => Err(e.into()),
        (out, _) => out,
    }
}

fn run_steps(
    table: &mut CustomerTable,
    config: &Config,
    mut inputs: ModelInputs<'_>,
) -> Result<ModelOutputs, EngineError> {
    let mut out = ModelOutputs::default();
    if table.is_empty() {
        return Ok(out);
    }
    let mut laps = Laps::new();
    let mut graded = None;
    // what the gradings ran beside, when they did
    let mut graded_beside = Note::new("与 K-means 同时进行", "alongside K-means");
    let schemes;
    match k_means_side(table, config)? {
        Some(side) => {
            (schemes, graded) =
                clv_and_middle_beside(table, side, config, &mut inputs, &mut out, &mut laps)?;
        }
        None => {
            if config.clv.enabled {
                // A failed fit must not hide the rest of the analysis; the reason is reported
                // in the clv crate's words (the CLI and report say "CLV not computed: …").
                out.clv = Step::of(clv_of(table, config, &inputs, &mut laps));
                settle(table)?;
            }
            // the presets that apply read only the fold's columns, so they are chosen here as
            // after the steps below
            schemes = schemes_for(table, config, &mut out.skipped_presets);
            if side_by_side(table, config) {
                graded =
                    middle_side_by_side(table, config, &schemes, &mut inputs, &mut out, &mut laps)?;
            } else {
                if table.is_stored() {
                    // a table kept on disk: the gradings (one thread's work, on the table as
                    // it stands before lifecycle) beside the lifecycle stages
                    let shared: &CustomerTable = table;
                    let (life, beside) = rayon::join(
                        || lifecycle_stages(shared, config, inputs.as_of, inputs.leads),
                        || timed(|| grades_beside(shared, config, &schemes)),
                    );
                    lifecycle_trends_step(table, config, &mut inputs, &mut out, life?)?;
                    if let (Some(done), seconds) = beside {
                        graded = Some((done, seconds));
                        graded_beside = Note::new("与生命周期同时进行", "alongside lifecycle");
                    }
                } else {
                    lifecycle_step(table, config, &mut inputs, &mut out)?;
                }
                settle(table)?;
                laps.lap(lifecycle_note(), None);
                if table.is_stored() && !written_in_the_middle(&config.value_tiers.column) {
                    // a table kept on disk: RFM and value tiers (one thread's work each, the
                    // tiers reading none of RFM's columns) side by side, their columns read
                    // for both before they are let go
                    let shared: &CustomerTable = table;
                    let ((rfm, t_rfm), (tiers, t_tiers)) = rayon::join(
                        || timed(|| rfm_of(shared, config)),
                        || timed(|| tiers_of(shared, config)),
                    );
                    rfm?.apply(table, &mut out.rfm)?;
                    let beside = Note::new("与价值分层同时进行", "alongside value tiers");
                    laps.record(rfm_note(), t_rfm, Some(beside));
                    tiers?.apply(table, &mut out.value_tiers)?;
                    let beside = Note::new("与 RFM 同时进行", "alongside RFM");
                    laps.record(tiers_note(), t_tiers, Some(beside));
                    settle(table)?;
                } else {
                    rfm_of(table, config)?.apply(table, &mut out.rfm)?;
                    settle(table)?;
                    laps.lap(rfm_note(), None);
                    tiers_of(table, config)?.apply(table, &mut out.value_tiers)?;
                    settle(table)?;
                    laps.lap(tiers_note(), None);
                }
                if config.cluster.enabled {
                    // Too few or identical customers is a property of the data, not a failed run.
                    out.clusters =
                        Step::of(cluster_of(table, config).and_then(|c| c.set_columns(table)));
                    settle(table)?;
                    laps.lap(cluster_note(), k_chosen(&out));
                }
            }
        }
    }
    let n = schemes.len();
    let schemes_note = Some(Note::new(format!("{n} 个方案"), format!("{n} schemes")));
    match graded {
        Some((done, seconds)) => {
            for (made, summary) in done {
                table.set_parts(made)?;
                out.grades.push(summary);
            }
            let note = Note::new(
                format!("{n} 个方案，{}", graded_beside.zh),
                format!("{n} schemes, {}", graded_beside.en),
            );
            laps.record(Note::new("分级", "gradings"), seconds, Some(note));
        }
        None => {
            grade_step(table, config, &schemes, &mut out)?;
            settle(table)?;
            laps.lap(Note::new("分级", "gradings"), schemes_note);
        }
    }
    if let Step::Done(clv) = &mut out.clv {
        clv.buy_next = crate::customer_value::buy_next(table, clv);
    }
    settle(table)?;
    if inputs.behaviour {
        let spend = std::mem::take(&mut inputs.category_spend);
        let (categories, seasonality) = (inputs.categories, inputs.seasonality);
        // the lists and next steps beside it; a table kept on disk reads each column once
        // for both (they read the same grade columns) and lets go of them after
        let beside = inputs.decide;
        let shared: &CustomerTable = table;
        let (made, decided) = rayon::join(
            || behaviour_of(shared, config, spend, categories, seasonality, &out),
            || beside.then(|| decisions(shared, &out)),
        );
        out.behaviour = Step::of(made.and_then(|m| apply_behaviour(table, m)));
        out.decided = decided;
        settle(table)?;
        laps.lap(
            Note::new(
                "购买行为（分布、品类）",
                "behaviour (distributions, categories)",
            ),
            None,
        );
    }
    out.timings = laps.timings;
    Ok(out)
}

/// The CLV step on `table`, its substeps timed in `laps` (and a failed fit noted there).
fn clv_of(
    table: &mut CustomerTable,
    config: &Config,
    inputs: &ModelInputs<'_>,
    laps: &mut Laps,
) -> Result<ClvSection, EngineError> {
    let made = clv_step(
        table,
        &config.clv,
        config.time.unit,
        inputs.as_of,
        inputs.holdout_choice,
        crate::customer_value::Predictions {
            full: inputs.behaviour,
        },
        laps,
    );
    if made.is_err() {
        laps.lap(Note::new("CLV（未计算）", "CLV (not computed)"), None);
    }
    made
}

/// The columns K-means reads, copied out of `table` (a few of its columns, for the ids it
/// already has), when K-means can run beside CLV and the steps after it: the steps run side
/// by side ([`side_by_side`]), CLV runs, and every column K-means reads is in the table
/// before CLV (a feature made by CLV or later waits for it). `None` otherwise.
fn k_means_side(
    table: &CustomerTable,
    config: &Config,
) -> Result<Option<CustomerTable>, EngineError> {
    if !config.clv.enabled || !side_by_side(table, config) {
        return Ok(None);
    }
    let Ok(Some(read)) = clientele_cluster::columns_read(&config.cluster) else {
        return Ok(None); // a frozen segmentation, or a config the step reports in order
    };
    // a named feature the fold did not make: CLV or a later step may make it
    let named = config.cluster.validate().ok().flatten().unwrap_or_default();
    if named.iter().any(|f| !table.has_column(&f.column)) {
        return Ok(None);
    }
    let mut side = CustomerTable::from_ids(table.ids().clone());
    for name in &read {
        if let Some(data) = table.get(name) {
            side.push(name.clone(), data.clone())?;
        }
    }
    Ok(Some(side))
}

/// The CLV step and then gradings, lifecycle, RFM and value tiers (one thread's work after
/// CLV's own parallel parts) while K-means runs beside them on `side`, its columns copied
/// out of `table` ([`k_means_side`]): K-means reads only the fold's columns, and each side
/// fills the other's idle core. The columns are set afterwards in the usual order (CLV's
/// as it makes them, then lifecycle, RFM, value tiers, K-means, gradings), the same table
/// as one step after another. The schemes chosen and the gradings made beside.
fn clv_and_middle_beside(
    table: &mut CustomerTable,
    side: CustomerTable,
    config: &Config,
    inputs: &mut ModelInputs<'_>,
    out: &mut ModelOutputs,
    laps: &mut Laps,
) -> Result<(Vec<SchemeConfig>, Option<GradedBeside>), EngineError> {
    // converted on the lifecycle step's own thread
    let mut months = std::mem::take(&mut inputs.months);
    let (as_of, leads) = (inputs.as_of, inputs.leads);
    let ins: &ModelInputs<'_> = inputs;
    let (after_clv, (clusters, t_clusters)) = rayon::join(
        || {
            let clv = Step::of(clv_of(table, config, ins, laps));
            let shared: &CustomerTable = table;
            let mut skipped = Vec::new();
            let schemes = schemes_for(shared, config, &mut skipped);
            // each one thread's work, read from the table as CLV left it: two by two, so
            // that a core K-means has let go of takes half
            let ((graded, life), (rfm, tiers)) = rayon::join(
                || {
                    rayon::join(
                        || timed(|| grades_beside(shared, config, &schemes)),
                        || timed(|| lifecycle_of(shared, config, as_of, leads, &mut months)),
                    )
                },
                || {
                    rayon::join(
                        || timed(|| rfm_of(shared, config)),
                        || timed(|| tiers_of(shared, config)),
                    )
                },
            );
            (clv, skipped, schemes, graded, life, rfm, tiers)
        },
        || timed(|| cluster_of(&side, config)),
    );
    let (clv, skipped, schemes, (graded, t_graded), life, rfm, tiers) = after_clv;
    out.clv = clv;
    out.skipped_presets.extend(skipped);
    let middle = Middle {
        life,
        rfm,
        tiers,
        clusters: (clusters, t_clusters),
    };
    middle.set(table, out, laps, |k| {
        Note::new(
            format!("{}，与 CLV 及其后各步同时进行", k.zh),
            format!("{}, alongside CLV and the steps after it", k.en),
        )
    })?;
    Ok((schemes, graded.map(|g| (g, t_graded))))
}

/// A result and the seconds it took.
type Timed<T> = (Result<T, EngineError>, f64);

/// Lifecycle, RFM, value tiers and K-means made side by side, each with its own time.
struct Middle {
    life: Timed<Made<LifecycleSection>>,
    rfm: Timed<Made<RfmReport>>,
    tiers: Timed<Made<ValueTierSection>>,
    clusters: Timed<Made<ClusterSection>>,
}

impl Middle {
    /// Their columns into the table in the order of one step after another (lifecycle,
    /// RFM, value tiers, K-means), their sections into `out` and their times into `laps`;
    /// `k_note` words K-means' detail from the k chosen.
    fn set(
        self,
        table: &mut CustomerTable,
        out: &mut ModelOutputs,
        laps: &mut Laps,
        k_note: impl Fn(Note) -> Note,
    ) -> Result<(), EngineError> {
        let beside = || Some(Note::new("与 K-means 同时进行", "alongside K-means"));
        let (life, t_life) = self.life;
        life?.apply(table, &mut out.lifecycle)?;
        laps.record(lifecycle_note(), t_life, beside());
        let (rfm, t_rfm) = self.rfm;
        rfm?.apply(table, &mut out.rfm)?;
        laps.record(rfm_note(), t_rfm, beside());
        let (tiers, t_tiers) = self.tiers;
        tiers?.apply(table, &mut out.value_tiers)?;
        laps.record(tiers_note(), t_tiers, beside());
        let (clusters, t_clusters) = self.clusters;
        out.clusters = Step::of(clusters.and_then(|c| c.set_columns(table)));
        laps.record(cluster_note(), t_clusters, k_chosen(out).map(k_note));
        Ok(())
    }
}

/// `f`'s result and the seconds it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let clock = std::time::Instant::now();
    let t = f();
    (t, clock.elapsed().as_secs_f64())
}

/// After a step on a stored table (a run by parts): the columns it read are let go, so the
/// next step holds only its own; and a column that could not be read fails the run, since
/// the step saw it as absent. Nothing for a table in memory.
fn settle(table: &mut CustomerTable) -> Result<(), EngineError> {
    table.release();
    match table.store_failure() {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// The wall-clock time of each step as it ends, for `--timings`.
pub(crate) struct Laps {
    clock: std::time::Instant,
    timings: Vec<crate::StepTiming>,
}

impl Laps {
    pub(crate) fn new() -> Laps {
        Laps {
            clock: std::time::Instant::now(),
            timings: Vec::new(),
        }
    }

    /// `seconds` measured by the step itself (one of several run side by side); the next
    /// lap counts from now.
    fn record(&mut self, step: Note, seconds: f64, detail: Option<Note>) {
        self.timings.push(crate::StepTiming {
            step,
            detail,
            seconds,
        });
        self.clock = std::time::Instant::now();
    }

    /// The time since the previous lap (or the start), under `step`.
    pub(crate) fn lap(&mut self, step: Note, detail: Option<Note>) {
        self.timings.push(crate::StepTiming {
            step,
            detail,
            seconds: self.clock.elapsed().as_secs_f64(),
        });
        self.clock = std::time::Instant::now();
    }
}

/// The behaviour step's summary and columns, from the table as it stands (it writes nothing
/// there itself) and the fold's category spend (consumed).
fn behaviour_of(
    table: &CustomerTable,
    config: &Config,
    spend: crate::deferred::Deferred<clientele_ingest::CategorySpend>,
    categories: &[String],
    seasonality: Option<&(
        [clientele_ingest::PeriodTotals; 7],
        [clientele_ingest::PeriodTotals; 12],
    )>,
    out: &ModelOutputs,
) -> Result<(BehaviourSummary, Vec<clientele_core::Column>), EngineError> {
    use clientele_behaviour::{BehaviourInput, PeriodTotals, Seasonality, analyze_behaviour};
    // read a chunk at a time where they are (on disk in a run by parts), never all at once
    let rows = SpendRows {
        spend: &spend,
        failure: std::cell::RefCell::new(None),
    };
    let conv = |p: &clientele_ingest::PeriodTotals| PeriodTotals {
        revenue: p.revenue,
        orders: p.orders,
        customers: p.customers,
    };
    let season = seasonality.map(|(w, m)| Seasonality {
        weekday: w.map(|p| conv(&p)),
        month: m.map(|p| conv(&p)),
    });
    let mut grade_columns: Vec<String> = out.grades.iter().map(|g| g.column.clone()).collect();
    for g in [
        Grouping::Rfm(col::CN8_SCHEME.to_string()),
        Grouping::ValueTier,
        Grouping::Lifecycle,
        Grouping::Cluster,
    ] {
        let c = g.column();
        if table.has_column(&c) {
            grade_columns.push(c);
        }
    }
    let refs: Vec<&str> = grade_columns.iter().map(String::as_str).collect();
    let input = BehaviourInput {
        table,
        customer_categories: &rows,
        categories,
        seasonality: season.as_ref(),
        grade_columns: &refs,
        lang: config.output.lang,
    };
    let result = analyze_behaviour(&input, &config.behaviour);
    let failure = rows.failure.take();
    spend.discard();
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(result?)
}

/// The behaviour step's columns into the table; its summary back.
fn apply_behaviour(
    table: &mut CustomerTable,
    (summary, columns): (BehaviourSummary, Vec<clientele_core::Column>),
) -> Result<BehaviourSummary, EngineError> {
    for c in columns {
        table.set(c.name, c.data)?;
    }
    Ok(summary)
}

/// Target lists, next steps and best customers made beside the behaviour step (they read
/// none of its columns), with the seconds they took.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    pub groups: Vec<TargetList>,
    pub next_steps: Vec<crate::NextStep>,
    pub top_customers: Vec<crate::TopCustomer>,
    pub seconds: f64,
}

/// The groups with customers (every grade of every scheme, RFM segment scheme, value tier,
/// stage and cluster), the next steps for them and the best customers.
pub(crate) fn decisions(table: &CustomerTable, out: &ModelOutputs) -> Decided {
    let clock = std::time::Instant::now();
    let groups = target_lists(table, out);
    let next_steps = crate::decide::next_steps(table, out, &groups);
    let top_customers = crate::decide::top_customers(table, crate::TOP_CUSTOMERS);
    Decided {
        groups,
        next_steps,
        top_customers,
        seconds: clock.elapsed().as_secs_f64(),
    }
}

/// The fold's category spend as the behaviour step's rows, a chunk at a time; a failed read
/// is kept, to be reported as what it is (a file of the run's spill folder).
#[derive(Debug)]
struct SpendRows<'a> {
    spend: &'a crate::deferred::Deferred<clientele_ingest::CategorySpend>,
    failure: std::cell::RefCell<Option<EngineError>>,
}

/// Why a pass over [`SpendRows`] stopped.
enum SpendStop {
    Read(EngineError),
    Step(clientele_behaviour::BehaviourError),
}

impl From<EngineError> for SpendStop {
    fn from(e: EngineError) -> SpendStop {
        SpendStop::Read(e)
    }
}

impl clientele_behaviour::CategoryRows for SpendRows<'_> {
    fn for_each_chunk(
        &self,
        f: &mut dyn FnMut(
            &[clientele_behaviour::CustomerCategory],
        ) -> clientele_behaviour::Result<()>,
    ) -> clientele_behaviour::Result<()> {
        let mut rows = Vec::new();
        let pass = self.spend.for_each_chunk(|chunk| {
            rows.clear();
            rows.extend(chunk.iter().map(|c| clientele_behaviour::CustomerCategory {
                customer: c.customer,
                category: c.category,
                revenue: c.revenue,
                orders: c.orders,
            }));
            f(&rows).map_err(SpendStop::Step)
        });
        pass.map_err(|stop| match stop {
            SpendStop::Step(e) => e,
            SpendStop::Read(e) => {
                let reason = e.to_string();
                *self.failure.borrow_mut() = Some(e);
                clientele_behaviour::BehaviourError::CategoryRowsUnreadable { reason }
            }
        })
    }
}

fn lifecycle_note() -> Note {
    Note::new(
        "生命周期阶段、趋势、同期群",
        "lifecycle stages, trends, cohorts",
    )
}

fn rfm_note() -> Note {
    Note::new("RFM 评分与分群", "RFM scores and segments")
}

fn tiers_note() -> Note {
    Note::new("价值分层", "value tiers")
}

fn cluster_note() -> Note {
    Note::new(
        "K-means（选 k、拟合、画像）",
        "K-means (choice of k, fit, profiles)",
    )
}

fn k_chosen(out: &ModelOutputs) -> Option<Note> {
    out.clusters.done().map(|c| {
        let k = c.model.k;
        Note::new(format!("选定 k = {k}"), format!("k = {k} chosen"))
    })
}

/// Whether lifecycle, RFM and value tiers run beside K-means: for a table in memory (a table
/// kept on disk holds what each step reads, so its steps run one at a time), when none of
/// them reads a column another of them writes. They read the fold's columns (and CLV's);
/// only a configured K-means feature or value-tier column could name one of theirs. Each is
/// one thread's work, K-means takes the others: 1.3 s less at 1.8M customers on 2 cores.
fn side_by_side(table: &CustomerTable, config: &Config) -> bool {
    if table.is_stored() || !config.cluster.enabled {
        return false;
    }
    let theirs = written_in_the_middle;
    let features = match config.cluster.validate() {
        Ok(f) => f.unwrap_or_default(),
        Err(_) => return false, // the step reports it, in order
    };
    !theirs(&config.value_tiers.column) && !features.iter().any(|f| theirs(&f.column))
}

/// Whether lifecycle, RFM, value tiers or K-means write column `c`.
fn written_in_the_middle(c: &str) -> bool {
    [
        col::LIFECYCLE_STAGE,
        col::R_SCORE,
        col::F_SCORE,
        col::M_SCORE,
        col::RFM_CODE,
        col::RFM_SEGMENT,
        col::CONTRIBUTION_SHARE,
        col::VALUE_TIER,
        col::HML_TIER,
        col::CLUSTER,
        col::CLUSTER_NAME,
    ]
    .contains(&c)
        || c.starts_with(&Grouping::Rfm(String::new()).column())
}

/// The grading schemes' columns (in scheme order) and summaries, made beside K-means.
type Graded = Vec<(clientele_core::PartColumns, SchemeSummary)>;

/// Gradings made beside K-means, with the seconds they took.
type GradedBeside = (Graded, f64);

/// The gradings made on `table` as it stands before lifecycle, RFM, value tiers and K-means,
/// when that is how they grade after them: the table holds none of the columns those steps
/// or the schemes write, so a scheme that reads one (in a rule or a statistic) fails to
/// compile here and every column a scheme reads is the one it would read after them. `None`
/// when a scheme fails here for any reason: the gradings then run after K-means as usual
/// (and report their own errors there).
fn grades_beside(
    table: &CustomerTable,
    config: &Config,
    schemes: &[SchemeConfig],
) -> Option<Graded> {
    let outputs: Vec<String> = schemes.iter().map(SchemeConfig::column).collect();
    let clash = table
        .column_types()
        .into_iter()
        .any(|(c, _)| written_in_the_middle(c) || outputs.iter().any(|o| o == c));
    if clash {
        return None;
    }
    let playbook = Playbook::with_overrides(&config.playbook);
    let mut done = Vec::with_capacity(schemes.len());
    for s in schemes {
        let mut compiled = compile(s, table).ok()?;
        if config.scheme.is_empty() || s.preset.is_some() {
            compiled.name_builtin_grades(config.output.lang);
        }
        let mut made = table.part_columns();
        let result = compiled
            .apply_by_parts(table, |part| {
                made.append(&part.column, part.to_column())
                    .map_err(EngineError::from)
            })
            .ok()?;
        done.push((made, summarize(&result, table, &playbook)));
    }
    Some(done)
}

/// Lifecycle, RFM and value tiers one after another on one thread while K-means runs beside
/// them ([`side_by_side`]); their columns are set afterwards in the usual order, and each
/// step's time is its own.
fn middle_side_by_side(
    table: &mut CustomerTable,
    config: &Config,
    schemes: &[SchemeConfig],
    inputs: &mut ModelInputs<'_>,
    out: &mut ModelOutputs,
    laps: &mut Laps,
) -> Result<Option<GradedBeside>, EngineError> {
    let mut months = std::mem::take(&mut inputs.months);
    let (as_of, leads) = (inputs.as_of, inputs.leads);
    let shared: &CustomerTable = table;
    let (serial, (clusters, t_clusters)) = rayon::join(
        || {
            // the gradings first: they read the table as it stands, which the others leave
            let graded = timed(|| grades_beside(shared, config, schemes));
            let life = timed(|| lifecycle_of(shared, config, as_of, leads, &mut months));
            let rfm = timed(|| rfm_of(shared, config));
            (graded, life, rfm, timed(|| tiers_of(shared, config)))
        },
        || timed(|| cluster_of(shared, config)),
    );
    let ((graded, t_graded), life, rfm, tiers) = serial;
    let middle = Middle {
        life,
        rfm,
        tiers,
        clusters: (clusters, t_clusters),
    };
    middle.set(table, out, laps, |k| k)?;
    Ok(graded.map(|g| (g, t_graded)))
}

/// The stages, then trends and cohorts from the fold's `months` (consumed).
fn lifecycle_of(
    table: &CustomerTable,
    config: &Config,
    as_of: clientele_core::Day,
    leads: &[String],
    months: &mut crate::deferred::Deferred<clientele_ingest::MonthActivity>,
) -> Result<Made<LifecycleSection>, EngineError> {
    let (stages, columns, first) = lifecycle_stages(table, config, as_of, leads)?;
    let activity = months.take_as(customer_month)?;
    Ok(Made {
        columns,
        section: lifecycle_trends(config, as_of, stages, first, activity)?,
    })
}

/// The lifecycle stages: their summary, their columns (not yet set) and each customer's
/// first month (for the cohorts).
type Stages = (
    clientele_lifecycle::StageSummary,
    clientele_core::PartColumns,
    Vec<clientele_lifecycle::Month>,
);

/// Each customer's stage (the column, made a part of the customers at a time) and first
/// purchase month.
fn lifecycle_stages(
    table: &CustomerTable,
    config: &Config,
    as_of: clientele_core::Day,
    leads: &[String],
) -> Result<Stages, EngineError> {
    use clientele_lifecycle::{LifecycleModel, Month};
    let model = LifecycleModel::new(config.lifecycle.clone())?;
    let lang = config.output.lang;
    let mut made = table.part_columns();
    let summary =
        model.assign_by_parts(as_of, table, leads, |stages| -> Result<(), EngineError> {
            use clientele_lifecycle::Stage;
            let labels = Stage::ALL.map(|s| s.name(lang));
            let names = stages
                .iter()
                .map(|s| Stage::ALL.iter().position(|a| a == s));
            made.append(
                col::LIFECYCLE_STAGE,
                ColumnData::Text(clientele_core::Texts::from_indices(&labels, names)),
            )?;
            Ok(())
        })?;
    let first: Vec<Month> = {
        use rayon::prelude::*;
        let dates = table.dates(col::FIRST_PURCHASE)?;
        (0..dates.len())
            .into_par_iter()
            .map(|i| dates.get(i).map_or_else(|| Month::from(as_of), Month::from))
            .collect()
    };
    Ok((summary, made, first))
}

fn lifecycle_step(
    table: &mut CustomerTable,
    config: &Config,
    inputs: &mut ModelInputs<'_>,
    out: &mut ModelOutputs,
) -> Result<(), EngineError> {
    let stages = lifecycle_stages(table, config, inputs.as_of, inputs.leads)?;
    lifecycle_trends_step(table, config, inputs, out, stages)
}

/// The lifecycle step after its stages: their columns set, then the trends and cohorts.
fn lifecycle_trends_step(
    table: &mut CustomerTable,
    config: &Config,
    inputs: &mut ModelInputs<'_>,
    out: &mut ModelOutputs,
    (stages, made, first): Stages,
) -> Result<(), EngineError> {
    table.set_parts(made)?;
    // a table kept on disk lets go of the columns read so far (a gigabyte at 18M customers)
    table.release();
    let months = inputs.months.take_as(customer_month)?;
    out.lifecycle = Some(lifecycle_trends(
        config,
        inputs.as_of,
        stages,
        first,
        months,
    )?);
    Ok(())
}

/// A month of the fold's activity as the lifecycle crate counts it; `None` for a month
/// number out of range, which the fold does not make.
fn customer_month(
    m: &clientele_ingest::MonthActivity,
) -> Option<clientele_lifecycle::CustomerMonth> {
    Some(clientele_lifecycle::CustomerMonth {
        customer: m.customer,
        month: clientele_lifecycle::Month::new(m.year, m.month)?,
        revenue: m.revenue,
        orders: m.orders,
    })
}

/// Trends and cohorts from the fold's months (`activity`, converted as they were taken:
/// [`customer_month`]), with the playbook's action per stage.
fn lifecycle_trends(
    config: &Config,
    as_of: clientele_core::Day,
    mut stages: clientele_lifecycle::StageSummary,
    first: Vec<clientele_lifecycle::Month>,
    activity: Vec<clientele_lifecycle::CustomerMonth>,
) -> Result<LifecycleSection, EngineError> {
    use clientele_lifecycle::{Month, trends_and_cohorts};
    let through = Some(Month::from(as_of));
    let (trends, cohorts) =
        trends_and_cohorts(activity, &first, &config.lifecycle.trend_config(through))?;
    let playbook = Playbook::with_overrides(&config.playbook);
    for c in &mut stages.counts {
        let names = [c.stage.id(), c.name_zh.as_str(), c.name_en.as_str()];
        (c.action_zh, c.action_en) = actions(&playbook, &names);
    }
    Ok(LifecycleSection {
        stages,
        trends,
        cohorts,
    })
}

/// Columns made by a step (written as they were made, for a table kept on disk), to be set
/// in the table, and the step's section.
struct Made<T> {
    columns: clientele_core::PartColumns,
    section: T,
}

impl<T> Made<T> {
    /// The columns into the table, in their order; the section back.
    fn set_columns(self, table: &mut CustomerTable) -> Result<T, EngineError> {
        table.set_parts(self.columns)?;
        Ok(self.section)
    }

    /// The columns into the table and the section into its place in the analysis.
    fn apply(self, table: &mut CustomerTable, into: &mut Option<T>) -> Result<(), EngineError> {
        *into = Some(self.set_columns(table)?);
        Ok(())
    }
}

/// K-means segments: the clusters are fitted on every customer (Lloyd's iterations pass over
/// all of them, and the last one labels each); the columns are written a part of the
/// customers at a time.
fn cluster_of(table: &CustomerTable, config: &Config) -> Result<Made<ClusterSection>, EngineError> {
    let seg = clientele_cluster::segment(table, &config.cluster)?;
    let names: std::collections::HashMap<u32, String> = seg
        .profiles
        .iter()
        .map(|p| {
            (
                p.label,
                if config.output.lang == Lang::En {
                    p.name_en.clone()
                } else {
                    p.name_zh.clone()
                },
            )
        })
        .collect();
    // "label: name" of each named label, and where it is in that list
    let mut shown: Vec<String> = Vec::new();
    let mut at: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for (&l, n) in &names {
        at.insert(l, shown.len());
        shown.push(format!("{l}: {n}"));
    }
    let mut made = table.part_columns();
    for rows in table.part_ranges() {
        let labels = &seg.labels[rows];
        made.append(
            col::CLUSTER,
            ColumnData::Int(labels.iter().map(|l| l.map(i64::from)).collect()),
        )?;
        let named = labels.iter().map(|l| l.and_then(|l| at.get(&l).copied()));
        made.append(
            col::CLUSTER_NAME,
            ColumnData::Text(clientele_core::Texts::from_indices(&shown, named)),
        )?;
    }
    Ok(Made {
        columns: made,
        section: ClusterSection {
            model: seg.model,
            profiles: seg.profiles,
            k_scores: seg.scores,
            notes: seg.notes,
        },
    })
}

/// RFM scores and segments, a part of the customers at a time with the cut points of all.
fn rfm_of(table: &CustomerTable, config: &Config) -> Result<Made<RfmReport>, EngineError> {
    let model = RfmModel::new(config.rfm.clone())?;
    let lang = config.output.lang;
    let mut made = table.part_columns();
    let mut report = model.score_table_by_parts(table, |r| -> Result<(), EngineError> {
        let int = |v: &[u8]| ColumnData::Int(v.iter().map(|&s| Some(i64::from(s))).collect());
        made.append(col::R_SCORE, int(&r.r_score))?;
        made.append(col::F_SCORE, int(&r.f_score))?;
        made.append(col::M_SCORE, int(&r.m_score))?;
        made.append(col::RFM_CODE, ColumnData::Text(r.code_column()))?;
        for (k, (name, _)) in r.schemes.iter().enumerate() {
            let labels = ColumnData::Text(r.segment_column(k, lang));
            if name == col::CN8_SCHEME {
                made.append(col::RFM_SEGMENT, labels.clone())?;
            }
            made.append(&Grouping::Rfm(name.clone()).column(), labels)?;
        }
        Ok(())
    })?;
    let playbook = Playbook::with_overrides(&config.playbook);
    for seg in report
        .schemes
        .iter_mut()
        .flat_map(|s| s.segments.iter_mut())
    {
        let names = [seg.zh.as_str(), seg.en.as_str(), seg.id.as_str()];
        (seg.action_zh, seg.action_en) = actions(&playbook, &names);
    }
    Ok(Made {
        columns: made,
        section: report,
    })
}

/// Value tiers: each customer's tier is its rank among all customers by value (the ranking is
/// the step's fit); the columns are written a part of the customers at a time.
fn tiers_of(table: &CustomerTable, config: &Config) -> Result<Made<ValueTierSection>, EngineError> {
    let tiers = value_tiers(table, &config.value_tiers)?;
    let mut made = table.part_columns();
    for rows in table.part_ranges() {
        made.append(col::CONTRIBUTION_SHARE, tiers.share_column_of(rows.clone()))?;
        made.append(col::VALUE_TIER, tiers.abc_column_of(rows.clone()))?;
        made.append(col::HML_TIER, tiers.hml_column_of(rows))?;
    }
    Ok(Made {
        columns: made,
        section: ValueTierSection {
            column: tiers.column.clone(),
            total_positive: tiers.total_positive,
            customers_for_80_percent: tiers.customers_for_80_percent,
            pareto: tiers.pareto.clone(),
            abc: tiers.abc_summary.clone(),
            hml: tiers.hml_summary.clone(),
        },
    })
}

/// The schemes to apply: the configured ones, or else the classic presets whose columns the
/// data has (a shop without attributes simply gets no attribute grading).
fn schemes_for(
    table: &CustomerTable,
    config: &Config,
    skipped: &mut Vec<Note>,
) -> Vec<SchemeConfig> {
    if !config.scheme.is_empty() {
        return config.scheme.clone();
    }
    let schema = TableSchema::of(table);
    presets::classic()
        .into_iter()
        .filter(|s| {
            let errors: Vec<clientele_grade::Diagnostic> = check(s, &schema)
                .into_iter()
                .filter(|d| d.severity == clientele_grade::Severity::Error)
                .collect();
            if !errors.is_empty() {
                // the missing columns, once each
                let mut missing: Vec<&str> =
                    errors.iter().filter_map(|d| d.column.as_deref()).collect();
                missing.sort_unstable();
                missing.dedup();
                let name_zh = presets::classic_title_zh(&s.name).unwrap_or(&s.name);
                skipped.push(if missing.is_empty() {
                    let said = |lang| {
                        errors
                            .iter()
                            .map(|d| d.message_in(lang))
                            .collect::<Vec<_>>()
                    };
                    Note::new(
                        format!("{name_zh}（{}）：{}", s.name, said(Lang::Zh).join("；")),
                        format!("{}: {}", s.name, said(Lang::En).join("; ")),
                    )
                } else {
                    let cols = missing.join(", ");
                    Note::new(
                        format!("{name_zh}（{}）：数据中没有 {cols} 列", s.name),
                        format!("{}: the data has no {cols} column", s.name),
                    )
                });
            }
            errors.is_empty()
        })
        .collect()
}

fn grade_step(
    table: &mut CustomerTable,
    config: &Config,
    schemes: &[SchemeConfig],
    out: &mut ModelOutputs,
) -> Result<(), EngineError> {
    let playbook = Playbook::with_overrides(&config.playbook);
    for s in schemes {
        // the statistics its rules use (`p80(monetary)`) resolved on every customer, then
        // the customers graded a part at a time
        let mut compiled = compile(s, table)?;
        // the classic presets (applied when no scheme is configured) and configured presets
        // name their grades in the run's language
        if config.scheme.is_empty() || s.preset.is_some() {
            compiled.name_builtin_grades(config.output.lang);
        }
        let mut made = table.part_columns();
        let result = compiled.apply_by_parts(table, |part| {
            made.append(&part.column, part.to_column())
                .map_err(EngineError::from)
        })?;
        table.set_parts(made)?;
        out.grades.push(summarize(&result, table, &playbook));
    }
    Ok(())
}

/// The target lists an analysis writes: every grade of every grading scheme, RFM segment
/// scheme and value tier.
pub(crate) fn target_lists(table: &CustomerTable, out: &ModelOutputs) -> Vec<TargetList> {
    let mut specs: Vec<(String, String, Option<String>)> = Vec::new();
    for g in &out.grades {
        specs.push((g.scheme.clone(), g.column.clone(), g.separator.clone()));
    }
    for (name, _) in table.column_types() {
        if let Some(g @ Grouping::Rfm(_)) = Grouping::of_column(name) {
            specs.push((g.key(), name.to_string(), None));
        }
    }
    for g in [Grouping::ValueTier, Grouping::Lifecycle, Grouping::Cluster] {
        specs.push((g.key(), g.column(), None));
    }
    let mut lists = Vec::new();
    let mut used = std::collections::HashSet::new();
    for (scheme, column, sep) in specs {
        let Ok(values) = table.texts(&column) else {
            continue;
        };
        for (grade, n) in grade_counts(values, sep.as_deref()) {
            // two names that read the same as files (`a/b`, `a_b`; `VIP`, `vip` on a
            // case-insensitive disk) get distinct files instead of one overwriting the other
            let base = format!("segments/{}/{}", file_safe(&scheme), file_safe(&grade));
            let mut file = format!("{base}.csv");
            let mut k = 2;
            while !used.insert(file.to_lowercase()) {
                file = format!("{base}-{k}.csv");
                k += 1;
            }
            lists.push(TargetList {
                file,
                scheme: scheme.clone(),
                column: column.clone(),
                grade,
                customers: n,
                tag_separator: sep.clone(),
            });
        }
    }
    lists
}

/// Customers per grade of a grade column (per tag with a tag separator), by distinct value:
/// a tag counts the customers of every value that carries it.
fn grade_counts(
    values: &clientele_core::Texts,
    sep: Option<&str>,
) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for (label, n) in values.labels().iter().zip(values.counts()) {
        if n == 0 {
            continue;
        }
        match sep {
            Some(s) => {
                for t in label.split(s).filter(|t| !t.is_empty()) {
                    *counts.entry(t.to_string()).or_default() += n;
                }
            }
            None => *counts.entry(label.clone()).or_default() += n,
        }
    }
    counts
}

/// A grade name as a file name: path separators and characters Windows rejects become `_`;
/// names that would be no file of their own (empty, `.`, `..`, hidden, Windows device names)
/// get a leading `_`; at most 100 characters.
fn file_safe(s: &str) -> String {
    let name: String = s
        .chars()
        .take(100)
        .map(|c| {
            if matches!(
                c,
                '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | ' '
            ) || c.is_control()
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.ends_with(|c: char| c.is_ascii_digit()));
    if name.is_empty() || name.starts_with('.') || device {
        format!("_{name}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClvConfig;
    use crate::customer_value::clv_bins;
    use clientele_core::TimeUnit;

    /// Lifecycle, RFM and value tiers run beside K-means only when none reads what another
    /// writes; the runs' equality either way is `spill::tests` (a stored table runs them one
    /// after another, a table in memory side by side).
    #[test]
    fn steps_run_side_by_side_only_when_none_reads_another_ones_columns() {
        let t = table(&[0.0, 1.0], &[0.0, 2.0], &[3.0, 4.0], &[0.0, 5.0]);
        let at = |text: &str| side_by_side(&t, &Config::from_toml(text, "c.toml").unwrap());
        assert!(at(""));
        assert!(at("[cluster]\nfeatures = [\"monetary\", \"clv\"]\n"));
        assert!(!at("[cluster]\nenabled = false\n"));
        assert!(!at("[cluster]\nfeatures = [\"monetary\", \"r_score\"]\n"));
        assert!(!at("[cluster]\nfeatures = [\"segment_cn8\", \"orders\"]\n"));
        assert!(!at("[value_tiers]\ncolumn = \"contribution_share\"\n"));
        assert!(!at("[value_tiers]\ncolumn = \"m_score\"\n"));
    }

    /// K-means runs beside CLV on a copy of the columns it reads when every feature is in
    /// the table before CLV; a feature CLV makes (or a frozen segmentation, or no CLV) keeps
    /// it after CLV. The runs' equality with one step after another is `spill::tests`.
    #[test]
    fn k_means_runs_beside_clv_only_on_the_folds_columns() {
        let mut t = table(&[0.0, 1.0], &[0.0, 2.0], &[3.0, 4.0], &[0.0, 5.0]);
        for name in ["recency_days", "orders", "monetary", "profit"] {
            let col = ColumnData::Float([Some(1.0), Some(2.0)].into_iter().collect());
            t.push(name, col).unwrap();
        }
        let side = |text: &str| {
            k_means_side(&t, &Config::from_toml(text, "c.toml").unwrap())
                .unwrap()
                .map(|s| s.column_names().join(" "))
        };
        assert_eq!(
            side("").as_deref(),
            Some("customer_id recency_days orders monetary")
        );
        let named = "[cluster]\nfeatures = [\"profit\", \"T\"]\n";
        assert_eq!(
            side(named).as_deref(),
            Some("customer_id profit T recency_days orders monetary")
        );
        assert_eq!(
            side("[cluster]\nfeatures = [\"monetary\", \"clv\"]\n"),
            None
        );
        assert_eq!(side("[clv]\nenabled = false\n"), None);
        assert_eq!(side("[cluster]\nenabled = false\n"), None);
        assert_eq!(side("[value_tiers]\ncolumn = \"m_score\"\n"), None);
    }

    /// The lifecycle step converts the fold's months without a second copy (a `Vec` collected
    /// from its own `into_iter` keeps its allocation when the row types have the same size and
    /// alignment): 1.3 GB of months at 100M rows. (Behaviour reads its rows a chunk at a time.)
    #[test]
    fn detail_rows_convert_in_place() {
        use clientele_ingest::MonthActivity;
        use clientele_lifecycle::CustomerMonth;
        use std::mem::{align_of, size_of};
        assert_eq!(size_of::<MonthActivity>(), size_of::<CustomerMonth>());
        assert_eq!(align_of::<MonthActivity>(), align_of::<CustomerMonth>());
    }

    /// Counting by distinct value gives what counting every customer's text gives.
    #[test]
    fn grade_counts_by_value_are_the_counts_by_customer() {
        let rows = [
            Some("A|B"),
            Some("B"),
            None,
            Some("A|B"),
            Some(""),
            Some("C||A"),
            Some("B"),
        ];
        let values: clientele_core::Texts = rows.iter().map(|r| r.map(str::to_string)).collect();
        for sep in [Some("|"), None] {
            let mut want = std::collections::BTreeMap::<String, usize>::new();
            for v in rows.iter().flatten() {
                match sep {
                    Some(s) => v
                        .split(s)
                        .filter(|t| !t.is_empty())
                        .for_each(|t| *want.entry(t.to_string()).or_default() += 1),
                    None => *want.entry(v.to_string()).or_default() += 1,
                }
            }
            assert_eq!(grade_counts(&values, sep), want, "{sep:?}");
        }
    }

    #[test]
    fn grade_names_stay_inside_their_folder_as_files_of_their_own() {
        assert_eq!(file_safe(".."), "_..");
        assert_eq!(file_safe(""), "_");
        assert_eq!(file_safe("../../etc/passwd"), "_.._.._etc_passwd");
        assert_eq!(file_safe("a/b"), "a_b");
        assert_eq!(file_safe("nul"), "_nul");
        assert_eq!(file_safe("COM1.txt"), "_COM1.txt");
        assert_eq!(file_safe("重要价值客户"), "重要价值客户");
        assert_eq!(file_safe(&"x".repeat(300)).len(), 100);
    }

    /// Columns of a CSV fixture of the clv crate (header skipped).
    fn fixture(name: &str) -> Vec<Vec<f64>> {
        let dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        );
        let text = std::fs::read_to_string(dir.join("../clv/tests/data").join(name)).unwrap();
        let mut cols: Vec<Vec<f64>> = Vec::new();
        for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            for (i, f) in line.split(',').enumerate() {
                if cols.len() <= i {
                    cols.push(Vec::new());
                }
                cols[i].push(f.trim().parse().unwrap());
            }
        }
        cols
    }

    fn table(x: &[f64], tx: &[f64], t: &[f64], m: &[f64]) -> CustomerTable {
        let mut table = CustomerTable::new((0..x.len()).map(|i| format!("c{i}")).collect());
        for (name, v) in [
            ("frequency", x),
            ("recency", tx),
            ("T", t),
            ("monetary_value", m),
        ] {
            let col = ColumnData::Float(v.iter().map(|&a| Some(a)).collect());
            table.push(name, col).unwrap();
        }
        table
    }

    fn clv_outputs(table: &mut CustomerTable) -> ModelOutputs {
        clv_outputs_with(table, &ClvConfig::default())
    }

    fn clv_outputs_with(table: &mut CustomerTable, config: &ClvConfig) -> ModelOutputs {
        ModelOutputs {
            clv: Step::of(clv_step(
                table,
                config,
                TimeUnit::Days,
                clientele_core::Day(0),
                None,
                crate::customer_value::Predictions { full: true },
                &mut Laps::new(),
            )),
            ..ModelOutputs::default()
        }
    }

    #[test]
    fn clv_bins_never_panic_on_degenerate_values() {
        // Regression: a NaN (sorted last) made the 99th percentile NaN, no bin was made and
        // the first customer indexed `bins[usize::MAX]` ("index out of bounds").
        for v in [
            vec![0.0, 1.0, f64::NAN],
            vec![f64::NAN; 5],
            vec![f64::NEG_INFINITY, 0.0, f64::INFINITY],
            vec![0.0; 100],
            vec![-1e-20; 100],
            vec![5e-324, 1e-300],
            vec![-1e308, 1e308],
            vec![0.1, 0.2, 0.3, 0.3, 0.3],
            Vec::new(),
        ] {
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let bins = clv_bins(&sorted);
            let finite = v.iter().filter(|a| a.is_finite()).count();
            assert_eq!(
                bins.iter().map(|b| b.customers).sum::<usize>(),
                finite,
                "{v:?}"
            );
            assert_eq!(bins.is_empty(), finite == 0, "{v:?}");
        }
    }

    #[test]
    fn no_repeat_purchases_skips_clv_with_the_clv_crates_reason() {
        let n = 200;
        let t: Vec<f64> = (0..n).map(|i| f64::from(10 + i % 300)).collect();
        let zeros = vec![0.0; n as usize];
        let mut table = table(&zeros, &zeros, &t, &zeros);
        let out = clv_outputs(&mut table);
        // the data does not allow the step: skipped, not failed
        assert!(matches!(out.clv, Step::Skipped { .. }), "{:?}", out.clv);
        assert_eq!(
            out.clv.problem(),
            Some(
                "no customer bought more than once (200 customers): the purchase models need \
                 repeat purchases"
            )
        );
    }

    #[test]
    fn one_heavy_buyer_does_not_drop_clv_for_everyone() {
        // 200 repeat customers drawn from the Gamma-Gamma model (p 6, q 4, γ 15), 300 who
        // bought once, and one customer with 100 orders of 1,000,000.
        let gg = fixture("recovery_100k_gg.csv");
        let (mut x, mut m) = (gg[0][..200].to_vec(), gg[1][..200].to_vec());
        let mut tx: Vec<f64> = x.iter().map(|&x| (x * 20.0).min(290.0)).collect();
        for _ in 0..300 {
            x.push(0.0);
            tx.push(0.0);
            m.push(0.0);
        }
        x.push(99.0);
        tx.push(298.0);
        m.push(1e6);
        let t = vec![300.0; x.len()];
        let mut table = table(&x, &tx, &t, &m);
        let out = clv_outputs(&mut table);
        let c = out.clv.done().expect("CLV computed");
        assert_eq!(c.clv_skipped, None);
        assert!(c.clv_total.is_some_and(f64::is_finite));
        let extreme = c.spend.as_ref().unwrap().extreme_spenders.as_ref().unwrap();
        assert_eq!(extreme.customers, 1);
        assert_eq!(c.notes.len(), 1);
        assert!(
            c.notes[0]
                .en
                .starts_with("Gamma-Gamma fitted without 1 extreme spender")
        );
        // the Chinese note is Chinese through and through, the reason included
        assert!(
            c.notes[0]
                .zh
                .starts_with("Gamma-Gamma 拟合时排除了 1 位极端高消费客户")
        );
        assert!(
            !c.notes[0].zh.contains("infinite") && !c.notes[0].zh.contains("spread"),
            "{}",
            c.notes[0].zh
        );
        let value = table.floats("expected_value").unwrap();
        assert_eq!(value.get(x.len() - 1), Some(1e6));
        let json = serde_json::to_value(c).unwrap();
        assert!(json["spend"]["extreme_spenders"]["mean_spend_above"].is_number());
    }

    /// `[clv] interval_method` reaches the intervals: CDNOW's 2,357 customers draw under
    /// `auto`, and `linear` gives bands around the point estimates in the table's columns.
    #[test]
    fn the_configured_interval_method_makes_the_bands() {
        let c = fixture("cdnow_customers_summary_with_transactions.csv");
        let days = |v: &[f64]| v.iter().map(|a| a * 7.0).collect::<Vec<f64>>();
        let run = |method: clientele_clv::IntervalMethod| {
            let mut t = table(&c[1], &days(&c[2]), &days(&c[3]), &c[4]);
            let config = ClvConfig {
                interval_method: method,
                ..ClvConfig::default()
            };
            let out = clv_outputs_with(&mut t, &config);
            let iv = out.clv.done().and_then(|s| s.intervals.clone()).unwrap();
            let column = |name: &str| t.floats(name).unwrap().iter().collect::<Vec<_>>();
            (
                iv,
                column(col::CLV),
                column(col::CLV_P05),
                column(col::CLV_P95),
            )
        };
        let (auto, ..) = run(clientele_clv::IntervalMethod::Auto);
        assert!(!auto.linear && auto.used_draws > 0, "{auto:?}");
        let (linear, clv, lo, hi) = run(clientele_clv::IntervalMethod::Linear);
        assert!(linear.linear && linear.used_draws == 0, "{linear:?}");
        for i in 0..clv.len() {
            let (v, l, h) = (clv[i].unwrap(), lo[i].unwrap(), hi[i].unwrap());
            assert!(0.0 <= l && l <= v && v <= h, "customer {i}: {l} {v} {h}");
        }
        let total = linear.total_clv.unwrap();
        assert!(
            total.lower < total.point && total.point < total.upper,
            "{total:?}"
        );
    }

    #[test]
    fn an_as_of_decades_after_the_data_gives_finite_clv_and_bins() {
        // CDNOW's sample summary (weeks) in days, observed until 30 years after its end.
        let c = fixture("cdnow_customers_summary_with_transactions.csv");
        let days = |v: &[f64], add: f64| v.iter().map(|a| a * 7.0 + add).collect::<Vec<f64>>();
        let m = &c[4];
        for add in [0.0, 30.0 * 365.0, 100.0 * 365.0] {
            let mut table = table(&c[1], &days(&c[2], 0.0), &days(&c[3], add), m);
            let out = clv_outputs(&mut table);
            let s = out.clv.done().unwrap_or_else(|| panic!("{:?}", out.clv));
            assert!(s.clv_total.is_some_and(f64::is_finite), "{add}");
            let binned: usize = s.clv_distribution.iter().map(|b| b.customers).sum();
            assert_eq!(binned, c[1].len());
        }
    }
}
