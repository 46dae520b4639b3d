//! The aggregation as SQL on the cluster, and its results turned into the customer table.
//!
//! The queries state what `crates/ingest/tests/sql_reference.rs` states, rewritten so that
//! no aggregate keeps a per-group ordered list (`first_value(… ORDER BY …)` held 16 GB at 1M
//! rows): the first purchase day's amount and the last gap come from window functions over
//! the customer-days, distinct counts from a `GROUP BY` one level down. Sums run in
//! `DECIMAL(38, 0)` over integer micro-units, so they are exact, independent of how the
//! cluster splits the work, and a sum past what the embedded fold holds is reported, not
//! wrapped.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::config::{
    BALLISTA_ADAPTIVE_PLANNER_ENABLED, BALLISTA_CLIENT_GRPC_MAX_MESSAGE_SIZE,
};
use clientele_core::{ColumnData, CustomerTable, Day, TimeUnit};
use clientele_ingest::{
    AsOfCounts, CategorySpend, IngestOptions, IngestStats, Ingested, MONEY_SCALE, MonthActivity,
    PartDetail, PartTable, PeriodTotals, Progress,
};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Decimal128Type, Int64Type};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

use crate::fold::{FoldLogicalCodec, FoldParams, FoldPhysicalCodec, FoldUdaf};
use crate::stage::{ParquetParts, Staging};
use crate::{ClusterOptions, ClusterPlan, ClusterUrl, DistributedError};

/// Parts the validated rows are split into (files in the staging folder, and the cluster's
/// target partitions): enough for a few executors' slots.
const PARTS: usize = 8;

/// Buckets of the customer hash the fold plan groups by, each inside one part: small
/// enough that a bucket's rows and its customers' table travel as one value each well
/// under the gRPC message limit (about 100k rows a bucket at 100M rows).
const BUCKETS: usize = PARTS * 128;

/// Row counts and the net total on either side of the as-of date.
const COUNTS_SQL: &str = "
SELECT COUNT(*) FILTER (WHERE order_date > {as_of}) AS after,
       COUNT(*) FILTER (WHERE order_date <= {as_of}) AS used,
       SUM(CAST(amount AS DECIMAL(38, 0))) FILTER (WHERE order_date <= {as_of}) AS total
FROM tx
";

/// One row per customer with a row up to as-of (customers with only returns have no
/// purchase day: `first_purchase` is null). A purchase day is a customer-day with at least
/// one non-negative row.
const CUSTOMER_SQL: &str = "
WITH t AS (SELECT * FROM tx WHERE order_date <= {as_of}),
d AS (
  SELECT customer_id, order_date, SUM(CAST(amount AS DECIMAL(38, 0))) AS amt
  FROM t GROUP BY customer_id, order_date
  HAVING MAX(amount) >= 0
),
g AS (
  SELECT customer_id, order_date, amt,
    CAST(order_date AS INT) - LAG(CAST(order_date AS INT))
      OVER (PARTITION BY customer_id ORDER BY order_date) AS gap,
    ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY order_date) AS rn,
    LEAD(CAST(order_date AS INT)) OVER (PARTITION BY customer_id ORDER BY order_date) AS next_day
  FROM d
),
p AS (
  SELECT customer_id,
    MIN(order_date) AS first_purchase,
    MAX(order_date) AS last_purchase,
    COUNT(*) AS purchase_days,
    SUM(amt) AS purchase_day_amount,
    SUM(CASE WHEN rn = 1 THEN amt END) AS first_day_amount,
    MAX(gap) AS longest_gap,
    MAX(CASE WHEN next_day IS NULL THEN gap END) AS last_gap
  FROM g GROUP BY customer_id
),
o AS (
  SELECT customer_id, COUNT(*) AS order_ids FROM (
    SELECT customer_id, order_fp FROM t WHERE amount >= 0 AND order_fp IS NOT NULL
    GROUP BY customer_id, order_fp
  ) GROUP BY customer_id
),
cs AS (
  SELECT customer_id, category, SUM(CAST(amount AS DECIMAL(38, 0))) AS s
  FROM t WHERE category IS NOT NULL GROUP BY customer_id, category
),
k AS (
  SELECT customer_id, top_category, categories FROM (
    SELECT customer_id, category AS top_category,
      ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY s DESC, category ASC) AS rn,
      COUNT(*) OVER (PARTITION BY customer_id) AS categories
    FROM cs
  ) WHERE rn = 1
){periods_cte},
c AS (
  SELECT customer_id,
    SUM(CAST(amount AS DECIMAL(38, 0))) AS monetary,
    SUM(CAST(profit AS DECIMAL(38, 0))) AS profit,
    COUNT(profit) AS profit_rows,
    SUM(CAST(quantity AS DECIMAL(38, 0))) AS items,
    COUNT(quantity) AS quantity_rows,
    SUM(CASE WHEN amount < 0 THEN 1 ELSE 0 END) AS returns,
    SUM(CASE WHEN amount < 0 THEN -CAST(amount AS DECIMAL(38, 0)) ELSE CAST(0 AS DECIMAL(38, 0)) END) AS return_amount
  FROM t GROUP BY customer_id
)
SELECT c.customer_id, c.monetary, COALESCE(o.order_ids, 0) AS order_ids,
  COALESCE(k.categories, 0) AS categories, c.profit, c.profit_rows,
  c.items, c.quantity_rows, c.returns, c.return_amount,
  p.first_purchase, p.last_purchase, p.purchase_days, p.purchase_day_amount, p.first_day_amount,
  k.top_category, p.longest_gap, p.last_gap{periods_cols}
FROM c LEFT JOIN p ON c.customer_id = p.customer_id
       LEFT JOIN o ON c.customer_id = o.customer_id
       LEFT JOIN k ON c.customer_id = k.customer_id{periods_join}
";

/// With `[time] periods = "calendar"`: per customer, the calendar periods with a purchase day
/// and the net amount of the first one's purchase days (`{period}` is the period index of
/// `order_date`, as `TimeUnit::period_of` numbers it).
const PERIODS_CTE: &str = ",
q AS (
  SELECT customer_id, pk, SUM(amt) AS amt
  FROM (SELECT customer_id, {period} AS pk, amt FROM d) GROUP BY customer_id, pk
),
pp AS (
  SELECT customer_id, COUNT(*) AS periods, SUM(CASE WHEN rn = 1 THEN amt END) AS first_period_amount
  FROM (SELECT customer_id, amt, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY pk) AS rn FROM q)
  GROUP BY customer_id
)";

/// The customer query for `opts`: with calendar periods, two more columns (18, 19).
fn customer_sql(lit: &str, calendar: Option<TimeUnit>) -> String {
    let (cte, cols, join) = match calendar {
        Some(unit) => (
            PERIODS_CTE.replace("{period}", &period_sql(unit)),
            ", pp.periods, pp.first_period_amount",
            "\n       LEFT JOIN pp ON c.customer_id = pp.customer_id",
        ),
        None => (String::new(), "", ""),
    };
    CUSTOMER_SQL
        .replace("{periods_cte}", &cte)
        .replace("{periods_cols}", cols)
        .replace("{periods_join}", join)
        .replace("{as_of}", lit)
}

/// `TimeUnit::period_of(order_date)` in SQL: weeks from Monday, calendar months, quarters and
/// years, blocks of N days from 1970-01-01 (floors of exact small quotients).
fn period_sql(unit: TimeUnit) -> String {
    let day = "CAST(order_date AS INT)";
    let year = "CAST(date_part('year', order_date) AS BIGINT)";
    let month0 = "(CAST(date_part('month', order_date) AS BIGINT) - 1)";
    match unit {
        TimeUnit::Days => format!("CAST({day} AS BIGINT)"),
        TimeUnit::Weeks => format!("CAST(FLOOR(({day} + 3) / 7.0) AS BIGINT)"),
        TimeUnit::Months => format!("{year} * 12 + {month0}"),
        TimeUnit::Quarters => format!("{year} * 4 + {month0} / 3"),
        TimeUnit::Years => year.to_string(),
        TimeUnit::NDays(n) => format!("CAST(FLOOR({day} / {n}.0) AS BIGINT)"),
    }
}

/// Purchase days after the as-of date up to the holdout's end, per customer: customer-days
/// with at least one non-negative row, as the embedded fold counts them; with calendar
/// periods, the periods after the as-of date's with such a day.
const HOLDOUT_SQL: &str = "
SELECT customer_id, COUNT(DISTINCT pk) AS days FROM (
  SELECT customer_id, {period} AS pk FROM (
    SELECT customer_id, order_date FROM tx
    WHERE order_date > {as_of} {upper}
    GROUP BY customer_id, order_date
    HAVING MAX(amount) >= 0
  )
) WHERE pk > {as_of_period} GROUP BY customer_id
";

/// Per customer and `{key}` (calendar month, or category): net revenue, distinct order ids
/// of non-negative rows and purchase days (customer-days with a non-negative row).
const DETAIL_SQL: &str = "
WITH t AS (
  SELECT customer_id, order_date, amount, order_fp, {key_expr}
  FROM tx WHERE order_date <= {as_of} {filter}
),
cd AS (
  SELECT customer_id, {key}, order_date,
    SUM(CAST(amount AS DECIMAL(38, 0))) AS amt, MAX(amount) AS mx
  FROM t GROUP BY customer_id, {key}, order_date
),
a AS (
  SELECT customer_id, {key}, SUM(amt) AS revenue,
    SUM(CASE WHEN mx >= 0 THEN 1 ELSE 0 END) AS days
  FROM cd GROUP BY customer_id, {key}
),
o AS (
  SELECT customer_id, {key}, COUNT(*) AS order_ids FROM (
    SELECT customer_id, {key}, order_fp FROM t WHERE amount >= 0 AND order_fp IS NOT NULL
    GROUP BY customer_id, {key}, order_fp
  ) GROUP BY customer_id, {key}
)
SELECT a.customer_id, {a_key}, a.revenue, COALESCE(o.order_ids, 0) AS order_ids, a.days
FROM a LEFT JOIN o ON a.customer_id = o.customer_id AND {join}
";

/// Revenue, purchase occasions (customer-days with a non-negative row) and customers per
/// weekday (`dow`: 0 = Sunday) or calendar month.
const SEASON_SQL: &str = "
WITH cd AS (
  SELECT customer_id, order_date,
    SUM(CAST(amount AS DECIMAL(38, 0))) AS amt, MAX(amount) AS mx
  FROM tx WHERE order_date <= {as_of} GROUP BY customer_id, order_date
),
x AS (
  SELECT customer_id, CAST(date_part('{part}', order_date) AS INT) AS p,
    SUM(amt) AS revenue, SUM(CASE WHEN mx >= 0 THEN 1 ELSE 0 END) AS occasions
  FROM cd GROUP BY customer_id, CAST(date_part('{part}', order_date) AS INT)
)
SELECT p, SUM(revenue) AS revenue, SUM(occasions) AS occasions, COUNT(*) AS customers
FROM x GROUP BY p
";

/// [`crate::stage`] with the feature.
pub(crate) fn stage(
    url: &ClusterUrl,
    opts: &IngestOptions,
    cluster: ClusterOptions<'_>,
    progress: &dyn Progress,
) -> Result<StagedRows, DistributedError> {
    refuse_kept_rows(opts)?;
    let base = cluster
        .staging
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    let stage = Staging::new(&base)?;
    let parts = cluster.parts.unwrap_or(PARTS).max(1);
    let sink = Box::new(ParquetParts::new(&stage.dir, parts, BUCKETS));
    let validated = clientele_ingest::read_validated(opts, sink, progress)?;
    Ok(StagedRows {
        url: url.clone(),
        plan: cluster.plan,
        stage,
        parts,
        as_of: validated.as_of,
        stats: validated.stats,
        rejects: std::sync::Mutex::new(Some(validated.rejects)),
        column_hints: validated.column_hints,
    })
}

/// Rows validated once and staged for the executors (removed when dropped).
pub(crate) struct StagedRows {
    url: ClusterUrl,
    plan: ClusterPlan,
    stage: Staging,
    /// Files the rows are staged in, split by customer hash as
    /// [`clientele_ingest::part_of`] splits them.
    parts: usize,
    /// The as-of date of the reading (given, or the last order date).
    as_of: Day,
    stats: IngestStats,
    /// Handed to the first aggregation only: the month ends of a history have none of their own.
    rejects: std::sync::Mutex<Option<Vec<clientele_ingest::Reject>>>,
    column_hints: Vec<clientele_ingest::ColumnHint>,
}

impl StagedRows {
    /// The customer table and the rest of [`Ingested`] at `opts.as_of` (else the reading's).
    pub(crate) fn load(
        &self,
        opts: &IngestOptions,
        progress: &dyn Progress,
    ) -> Result<Ingested, DistributedError> {
        refuse_kept_rows(opts)?;
        let as_of = opts.as_of.unwrap_or(self.as_of);
        let mut stats = self.stats.clone();
        progress.start(
            &clientele_core::Note::new(
                "在集群上构建顾客表",
                "building the customer table on the cluster",
            ),
            None,
        );
        let cluster = Cluster {
            url: &self.url,
            staging: &self.stage.dir,
            rows: format!("{}/", self.stage.dir.display()),
        };
        let aggregated = match self.plan {
            ClusterPlan::Fold => {
                cluster
                    .run(|ctx, rt| fetch_folds(ctx, rt, as_of, opts))
                    .and_then(|folds| {
                        // its own step: how the cluster's time splits (`--timings`)
                        progress.start(
                            &clientele_core::Note::new(
                                "合并各桶的汇总（客户端）",
                                "merging the buckets' folds (client)",
                            ),
                            None,
                        );
                        merge_folds(folds, opts, &mut stats)
                    })
            }
            ClusterPlan::Sql => cluster.run(|ctx, rt| aggregate(ctx, rt, as_of, opts, &mut stats)),
        };
        progress.finish();
        let Aggregated {
            mut table,
            holdout,
            months,
            category_spend,
            categories,
            seasonality,
        } = aggregated?;
        let (side_tables, leads) = clientele_ingest::join_side_tables(&mut table, opts)?;
        let rejects = self
            .rejects
            .lock()
            .ok()
            .and_then(|mut r| r.take())
            .unwrap_or_default();
        Ok(Ingested {
            table,
            as_of,
            stats,
            rejects,
            side_tables,
            leads_without_purchase: leads,
            months,
            holdout,
            category_spend,
            categories,
            seasonality,
            column_hints: self.column_hints.clone(),
            rows: None,
        })
    }

    /// Files the rows are staged in.
    pub(crate) fn parts(&self) -> usize {
        self.parts
    }

    /// What reading and validating the input found, as [`clientele_ingest::read_validated`]
    /// gives it; the rejects come with the first call only.
    pub(crate) fn validated(&self) -> clientele_ingest::Validated {
        clientele_ingest::Validated {
            stats: self.stats.clone(),
            rejects: self
                .rejects
                .lock()
                .ok()
                .and_then(|mut r| r.take())
                .unwrap_or_default(),
            column_hints: self.column_hints.clone(),
            as_of: self.as_of,
        }
    }

    /// Part `k`'s customer table and detail at `opts.as_of` (else the reading's), folded on
    /// the cluster: one job over the part's file, its buckets merged in customer-id order as
    /// [`Self::load`] merges all of them. For a client that keeps the table on disk part by
    /// part (docs/SCALE.md): it holds one part's customers, not all. The side tables are the
    /// caller's to join, part by part.
    pub(crate) fn fold_part(
        &self,
        k: usize,
        opts: &IngestOptions,
    ) -> Result<clientele_ingest::PartTable, DistributedError> {
        refuse_kept_rows(opts)?;
        if self.plan != ClusterPlan::Fold {
            return Err(DistributedError::Internal {
                step: "the options",
                reason: "a part at a time is folded by the fold plan only".into(),
            });
        }
        let as_of = opts.as_of.unwrap_or(self.as_of);
        let file = self.stage.dir.join(format!("part-{k:04}.parquet"));
        let merged = if file.exists() {
            let cluster = Cluster {
                url: &self.url,
                staging: &self.stage.dir,
                rows: file.display().to_string(),
            };
            let folds = cluster.run(|ctx, rt| fetch_folds(ctx, rt, as_of, opts))?;
            crate::buckets::merge(decode_folds(folds)?, opts)?
        } else {
            // no customer of the input hashes to this part
            crate::buckets::Merged {
                table: CustomerTable::new(Vec::new()),
                counts: AsOfCounts::default(),
                detail: opts.monthly_activity.then(Default::default),
                holdout: opts.holdout_end.map(|_| Vec::new()),
            }
        };
        Ok(clientele_ingest::PartTable {
            table: merged.table,
            counts: merged.counts,
            // the as-of date was settled when the rows were staged
            line_days: Default::default(),
            detail: merged.detail,
            holdout: merged.holdout,
        })
    }
}

/// Rows kept in memory are the embedded path's way to fold again (month ends, holdout); on a
/// cluster they are staged instead, so asking for both is a bug of the caller.
fn refuse_kept_rows(opts: &IngestOptions) -> Result<(), DistributedError> {
    if opts.keep_rows {
        return Err(DistributedError::Internal {
            step: "the options",
            reason: "rows kept in memory were asked for; a cluster run stages them".into(),
        });
    }
    Ok(())
}

/// The largest message the client and the executors' shuffle readers take (256 MiB).
const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// The scheduler to submit to and where its executors read the rows.
struct Cluster<'a> {
    url: &'a ClusterUrl,
    staging: &'a Path,
    /// What the queries' table `tx` reads: the staging folder, or one part's file in it.
    rows: String,
}

impl Cluster<'_> {
    /// Runs `work` against a session on the cluster, on a runtime of its own in a thread of
    /// its own (the caller may already be inside one, as `clientele serve` is). `work` must not
    /// wait on rayon: the caller may be one of rayon's threads, waiting here.
    fn run<T: Send>(
        &self,
        work: impl FnOnce(&SessionContext, &tokio::runtime::Runtime) -> Result<T, DistributedError>
        + Send,
    ) -> Result<T, DistributedError> {
        let fail = |step: &'static str, reason: String| self.failed(step, reason);
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| fail("a runtime for the client", e.to_string()))?;
                // The static distributed planner: Ballista 55's adaptive planner never finished
                // the customer query (it kept replanning stages, thousands of them, on CDNOW).
                let config = SessionConfig::new_with_ballista()
                    .with_target_partitions(PARTS)
                    .set_bool(BALLISTA_ADAPTIVE_PLANNER_ENABLED, false)
                    // a bucket's fold (and its rows, between the stages) travels as one value
                    // of one message: about 6 MB a bucket at 100M rows, past Ballista's 16 MiB
                    // default at a few hundred million
                    .set_usize(BALLISTA_CLIENT_GRPC_MAX_MESSAGE_SIZE, MAX_MESSAGE_BYTES)
                    .with_ballista_logical_extension_codec(Arc::new(FoldLogicalCodec::default()))
                    .with_ballista_physical_extension_codec(Arc::new(FoldPhysicalCodec::default()));
                let state = SessionStateBuilder::new()
                    .with_config(config)
                    .with_default_features()
                    .build();
                let ctx = rt
                    .block_on(SessionContext::remote_with_state(
                        &self.url.to_string(),
                        state,
                    ))
                    .map_err(|e| fail("the session", e.to_string()))?;
                rt.block_on(ctx.register_parquet("tx", &self.rows, ParquetReadOptions::default()))
                    .map_err(|e| fail("the staged rows' schema", e.to_string()))?;
                // a failed query names its step; the scheduler and folder are said here
                work(&ctx, &rt).map_err(|e| match e {
                    DistributedError::Cluster { step, reason, .. } => fail(step, reason),
                    e => e,
                })
            })
            .join()
            .unwrap_or_else(|_| {
                Err(DistributedError::Internal {
                    step: "the client thread",
                    reason: "it panicked".into(),
                })
            })
        })
    }

    fn failed(&self, step: &'static str, reason: String) -> DistributedError {
        DistributedError::Cluster {
            url: self.url.to_string(),
            step,
            reason,
            staging: self.staging.display().to_string(),
        }
    }
}

/// What the queries give, before the side tables are joined.
struct Aggregated {
    table: CustomerTable,
    /// Purchase days in `(as_of, holdout_end]` per customer of `table`, when asked for.
    holdout: Option<Vec<f64>>,
    months: Vec<MonthActivity>,
    category_spend: Vec<CategorySpend>,
    categories: Vec<String>,
    seasonality: Option<([PeriodTotals; 7], [PeriodTotals; 12])>,
}

fn aggregate(
    ctx: &SessionContext,
    rt: &tokio::runtime::Runtime,
    as_of: Day,
    opts: &IngestOptions,
    stats: &mut IngestStats,
) -> Result<Aggregated, DistributedError> {
    let lit = format!("DATE '{as_of}'");
    let q = |step: &'static str, sql: String| query(ctx, rt, step, &sql);
    let counts = q("the row counts", COUNTS_SQL.replace("{as_of}", &lit))?;
    fill_counts(&counts, stats)?;
    let calendar = opts.calendar_periods.then_some(opts.unit);
    let rows = q("the customer table", customer_sql(&lit, calendar))?;
    let table = customer_table(&rows, as_of, opts.unit, calendar.is_some(), stats)?;
    let holdout = match opts.holdout_end {
        Some(end) => Some(holdout_days(
            &holdout_rows(ctx, rt, as_of, end, opts)?,
            &table,
        )?),
        None => None,
    };
    if !opts.monthly_activity {
        return Ok(Aggregated {
            holdout,
            table,
            months: Vec::new(),
            category_spend: Vec::new(),
            categories: Vec::new(),
            seasonality: None,
        });
    }
    let index: HashMap<&str, u32> = table
        .ids()
        .iter()
        .enumerate()
        .map(|(i, s)| (s, i as u32))
        .collect();
    let months_sql = DETAIL_SQL
        .replace(
            "{key_expr}",
            "CAST(date_part('year', order_date) AS INT) AS y, \
             CAST(date_part('month', order_date) AS INT) AS m",
        )
        .replace("{filter}", "")
        .replace("{a_key}", "a.y, a.m")
        .replace("{join}", "a.y = o.y AND a.m = o.m")
        .replace("{key}", "y, m")
        .replace("{as_of}", &lit);
    let months = monthly_activity(&q("the monthly activity", months_sql)?, &index)?;
    let category_sql = DETAIL_SQL
        .replace("{key_expr}", "category")
        .replace("{filter}", "AND category IS NOT NULL")
        .replace("{a_key}", "a.category")
        .replace("{join}", "a.category = o.category")
        .replace("{key}", "category")
        .replace("{as_of}", &lit);
    let (category_spend, categories) =
        category_spend(&q("the category spend", category_sql)?, &index)?;
    let season = |part: &str| SEASON_SQL.replace("{part}", part).replace("{as_of}", &lit);
    let week = q("the weekday totals", season("dow"))?;
    let month = q("the calendar-month totals", season("month"))?;
    Ok(Aggregated {
        holdout,
        table,
        months,
        category_spend,
        categories,
        seasonality: Some((seasonality(&week, true)?, seasonality(&month, false)?)),
    })
}

/// The fold plan's one job: `clientele_fold` of each bucket's rows on the executors, each
/// bucket's fold encoded (with the holdout's purchase days when asked for).
fn fetch_folds(
    ctx: &SessionContext,
    rt: &tokio::runtime::Runtime,
    as_of: Day,
    opts: &IngestOptions,
) -> Result<Vec<RecordBatch>, DistributedError> {
    use datafusion::prelude::col;
    let udaf = FoldUdaf::udaf(FoldParams::of(as_of, opts));
    let args = clientele_ingest::validated_schema()
        .fields()
        .iter()
        .map(|f| col(f.name().as_str()))
        .collect();
    collect(rt, FOLD_STEP, async {
        ctx.table("tx")
            .await?
            .aggregate(vec![col("bucket")], vec![udaf.call(args).alias("fold")])?
            .collect()
            .await
    })
}

const FOLD_STEP: &str = "the customer table (the fold on the executors)";

/// The buckets' folds as the executors encoded them, decoded; each batch of encoded folds is
/// dropped once decoded, so the bytes and the tables are not held at once.
fn decode_folds(folds: Vec<RecordBatch>) -> Result<Vec<PartTable>, DistributedError> {
    let mut parts = Vec::new();
    for b in folds {
        let blobs = b
            .column_by_name("fold")
            .and_then(|c| c.as_binary_opt::<i64>())
            .ok_or_else(|| DistributedError::Internal {
                step: FOLD_STEP,
                reason: "no fold column".into(),
            })?;
        for i in 0..blobs.len() {
            parts.push(crate::wire::decode(blobs.value(i)).map_err(|reason| {
                DistributedError::Internal {
                    step: FOLD_STEP,
                    reason,
                }
            })?);
        }
    }
    Ok(parts)
}

/// The buckets' folds decoded and merged, here on the caller's thread: the merge folds on
/// rayon's threads, and a caller that is itself one of them (two month ends at once) must
/// not wait on a thread of [`Cluster::run`] that waits on rayon.
fn merge_folds(
    folds: Vec<RecordBatch>,
    opts: &IngestOptions,
    stats: &mut IngestStats,
) -> Result<Aggregated, DistributedError> {
    // the merge orders customers by id, whatever order the buckets came in
    let merged = crate::buckets::merge(decode_folds(folds)?, opts)?;
    merged.counts.fill(stats);
    let (table, holdout) = (merged.table, merged.holdout);
    let (months, category_spend, categories, seasonality) =
        match merged.detail.map(PartDetail::into_merged) {
            Some(d) => (
                d.months,
                d.category_spend,
                d.categories,
                Some(d.seasonality),
            ),
            None => Default::default(),
        };
    Ok(Aggregated {
        table,
        holdout,
        months,
        category_spend,
        categories,
        seasonality,
    })
}

/// The query of purchase days (or calendar periods) in `(as_of, end]` per customer.
fn holdout_rows(
    ctx: &SessionContext,
    rt: &tokio::runtime::Runtime,
    as_of: Day,
    end: Day,
    opts: &IngestOptions,
) -> Result<Vec<RecordBatch>, DistributedError> {
    // no end given: every later row (`Day(i32::MAX)` is no date to write)
    let upper = if end.0 == i32::MAX {
        String::new()
    } else {
        format!("AND order_date <= DATE '{end}'")
    };
    let (period, as_of_period) = match opts.calendar_periods.then_some(opts.unit) {
        Some(unit) => (period_sql(unit), unit.period_of(as_of)),
        None => (period_sql(TimeUnit::Days), i64::from(as_of.0)),
    };
    let sql = HOLDOUT_SQL
        .replace("{period}", &period)
        .replace("{as_of_period}", &as_of_period.to_string())
        .replace("{as_of}", &format!("DATE '{as_of}'"))
        .replace("{upper}", &upper);
    query(ctx, rt, "the holdout purchase days", &sql)
}

/// Runs one query on the cluster and collects its result on the client.
fn query(
    ctx: &SessionContext,
    rt: &tokio::runtime::Runtime,
    step: &'static str,
    sql: &str,
) -> Result<Vec<RecordBatch>, DistributedError> {
    collect(rt, step, async { ctx.sql(sql).await?.collect().await })
}

/// The batches `job` collects on the cluster; a failure names `step` (the scheduler and the
/// folder are added by [`Cluster::run`]).
fn collect(
    rt: &tokio::runtime::Runtime,
    step: &'static str,
    job: impl std::future::Future<Output = datafusion::error::Result<Vec<RecordBatch>>>,
) -> Result<Vec<RecordBatch>, DistributedError> {
    rt.block_on(job).map_err(|e| DistributedError::Cluster {
        url: String::new(),
        step,
        reason: e.to_string(),
        staging: String::new(),
    })
}

/// A column of a result, as the type the query gives it.
struct Cols<'a> {
    batch: &'a RecordBatch,
    step: &'static str,
}

impl<'a> Cols<'a> {
    fn internal(&self, reason: String) -> DistributedError {
        DistributedError::Internal {
            step: self.step,
            reason,
        }
    }

    fn col(&self, i: usize) -> Result<&'a dyn Array, DistributedError> {
        if i < self.batch.num_columns() {
            Ok(self.batch.column(i).as_ref())
        } else {
            Err(self.internal(format!("no column {i}")))
        }
    }

    /// Integers of any width, as i64.
    fn int(&self, i: usize) -> Result<datafusion::arrow::array::Int64Array, DistributedError> {
        let c = cast(self.col(i)?, &DataType::Int64).map_err(|e| self.internal(e.to_string()))?;
        Ok(c.as_primitive::<Int64Type>().clone())
    }

    /// Exact decimal sums (scale 0), as i128.
    fn dec(
        &self,
        i: usize,
    ) -> Result<&'a datafusion::arrow::array::Decimal128Array, DistributedError> {
        self.col(i)?
            .as_primitive_opt::<Decimal128Type>()
            .ok_or_else(|| self.internal(format!("column {i} is not a decimal")))
    }

    fn text(&self, i: usize) -> Result<datafusion::arrow::array::StringArray, DistributedError> {
        let c = cast(self.col(i)?, &DataType::Utf8).map_err(|e| self.internal(e.to_string()))?;
        Ok(c.as_string::<i32>().clone())
    }

    fn date(
        &self,
        i: usize,
    ) -> Result<&'a datafusion::arrow::array::Date32Array, DistributedError> {
        self.col(i)?
            .as_primitive_opt::<Date32Type>()
            .ok_or_else(|| self.internal(format!("column {i} is not a date")))
    }
}

fn money(v: i128) -> f64 {
    v as f64 / MONEY_SCALE
}

fn fill_counts(batches: &[RecordBatch], stats: &mut IngestStats) -> Result<(), DistributedError> {
    for b in batches.iter().filter(|b| b.num_rows() == 1) {
        let c = Cols {
            batch: b,
            step: "the row counts",
        };
        stats.after_as_of = c.int(0)?.value(0) as u64;
        stats.used = c.int(1)?.value(0) as u64;
        let total = c.dec(2)?;
        stats.total_amount = if total.is_null(0) {
            0.0
        } else {
            money(total.value(0))
        };
    }
    Ok(())
}

/// The columns of the customer table, built as the embedded fold builds them.
#[derive(Default)]
struct TableCols {
    ids: Vec<String>,
    first: Vec<Option<Day>>,
    last: Vec<Option<Day>>,
    recency_days: Vec<Option<i64>>,
    orders: Vec<Option<i64>>,
    purchase_days: Vec<Option<i64>>,
    monetary: Vec<Option<f64>>,
    aov: Vec<Option<f64>>,
    frequency: Vec<Option<f64>>,
    recency: Vec<Option<f64>>,
    t: Vec<Option<f64>>,
    monetary_value: Vec<Option<f64>>,
    categories: Vec<Option<i64>>,
    top_category: Vec<Option<String>>,
    profit: Vec<Option<f64>>,
    items: Vec<Option<f64>>,
    returns: Vec<Option<i64>>,
    return_amount: Vec<Option<f64>>,
    tenure_days: Vec<Option<i64>>,
    interpurchase: Vec<Option<f64>>,
    longest_gap: Vec<Option<i64>>,
    last_gap: Vec<Option<i64>>,
}

/// The first customer (smallest id) with a sum past an `i64` of micro-units, and which sum.
#[derive(Default)]
struct TooLarge(Option<(String, &'static str, &'static str)>);

impl TooLarge {
    /// `v` as an i64, noting the customer when it does not fit.
    fn fit(&mut self, v: i128, id: &str, what: &'static str, column: &'static str) -> i64 {
        match i64::try_from(v) {
            Ok(v) => v,
            Err(_) => {
                if self
                    .0
                    .as_ref()
                    .is_none_or(|(first, ..)| id < first.as_str())
                {
                    self.0 = Some((id.to_string(), what, column));
                }
                0
            }
        }
    }
}

fn customer_table(
    batches: &[RecordBatch],
    as_of: Day,
    time_unit: TimeUnit,
    calendar: bool,
    stats: &mut IngestStats,
) -> Result<CustomerTable, DistributedError> {
    let unit = time_unit.days();
    let mut c = TableCols::default();
    let (mut any_category, mut any_profit, mut any_quantity) = (false, false, false);
    let mut too_large = TooLarge::default();
    let (mut return_only, mut return_only_amount) = (0u64, 0i128);
    for b in batches {
        let cols = Cols {
            batch: b,
            step: "the customer table",
        };
        let id = cols.text(0)?;
        let (monetary, order_ids, categories) = (cols.dec(1)?, cols.int(2)?, cols.int(3)?);
        let (profit, profit_rows, items, quantity_rows) =
            (cols.dec(4)?, cols.int(5)?, cols.dec(6)?, cols.int(7)?);
        let (returns, return_amount) = (cols.int(8)?, cols.dec(9)?);
        let (first, last, pdays) = (cols.date(10)?, cols.date(11)?, cols.int(12)?);
        let (pamount, first_amt) = (cols.dec(13)?, cols.dec(14)?);
        let top = cols.text(15)?;
        let (longest, last_gap) = (cols.int(16)?, cols.int(17)?);
        let periods = if calendar {
            Some((cols.int(18)?, cols.dec(19)?))
        } else {
            None
        };
        for r in 0..b.num_rows() {
            let key = id.value(r);
            let m = too_large.fit(monetary.value(r), key, "amounts", "amount");
            if first.is_null(r) {
                return_only += 1;
                return_only_amount += i128::from(m);
                continue;
            }
            let (f, l, n) = (first.value(r), last.value(r), pdays.value(r));
            let orders = if order_ids.value(r) > 0 {
                order_ids.value(r)
            } else {
                n
            };
            let m = money(i128::from(m));
            c.ids.push(key.to_string());
            c.first.push(Some(Day(f)));
            c.last.push(Some(Day(l)));
            c.recency_days.push(Some(i64::from(as_of.0 - l)));
            c.orders.push(Some(orders));
            c.purchase_days.push(Some(n));
            c.monetary.push(Some(m));
            c.aov.push(Some(m / orders as f64));
            // the BTYD columns: in purchase days and time units, or in calendar periods
            let (opportunities, first_amount) = match &periods {
                Some((count, first_period)) => (count.value(r), first_period.value(r)),
                None => (n, first_amt.value(r)),
            };
            let repeat = too_large.fit(pamount.value(r) - first_amount, key, "amounts", "amount");
            c.frequency.push(Some((opportunities - 1) as f64));
            if calendar {
                let p0 = time_unit.period_of(Day(f));
                c.recency
                    .push(Some((time_unit.period_of(Day(l)) - p0) as f64));
                c.t.push(Some((time_unit.period_of(as_of) - p0) as f64));
            } else {
                c.recency.push(Some(f64::from(l - f) / unit));
                c.t.push(Some(f64::from(as_of.0 - f) / unit));
            }
            c.monetary_value.push(Some(if opportunities > 1 {
                money(i128::from(repeat)) / (opportunities - 1) as f64
            } else {
                0.0
            }));
            any_category |= categories.value(r) > 0;
            c.categories.push(Some(categories.value(r)));
            c.top_category
                .push((!top.is_null(r)).then(|| top.value(r).to_string()));
            any_profit |= profit_rows.value(r) > 0;
            let p = if profit.is_null(r) {
                0
            } else {
                profit.value(r)
            };
            let p = too_large.fit(p, key, "profits", "profit");
            c.profit
                .push((profit_rows.value(r) > 0).then(|| money(i128::from(p))));
            any_quantity |= quantity_rows.value(r) > 0;
            let q = if items.is_null(r) { 0 } else { items.value(r) };
            let q = too_large.fit(q, key, "quantities", "quantity");
            c.items
                .push((quantity_rows.value(r) > 0).then(|| money(i128::from(q))));
            c.returns.push(Some(returns.value(r)));
            let ra = too_large.fit(return_amount.value(r), key, "returns", "amount");
            c.return_amount.push(Some(money(i128::from(ra))));
            c.tenure_days.push(Some(i64::from(as_of.0 - f)));
            c.interpurchase
                .push((n > 1).then(|| f64::from(l - f) / (n - 1) as f64));
            c.longest_gap
                .push((!longest.is_null(r)).then(|| longest.value(r)));
            c.last_gap
                .push((!last_gap.is_null(r)).then(|| last_gap.value(r)));
        }
    }
    if let Some((id, what, column)) = too_large.0 {
        return Err(DistributedError::TooLarge(format!(
            "customer `{id}`: the sum of its {what} passes ±9.2e12, the limit of exact \
             arithmetic (rows are limited to ±1e9 each): check the unit of the {column} \
             column, or analyze the data in parts"
        )));
    }
    stats.return_only_customers = return_only;
    stats.return_only_amount = money(return_only_amount);
    let mut table = CustomerTable::new(std::mem::take(&mut c.ids));
    let mut cols: Vec<(&str, ColumnData)> = vec![
        ("first_purchase", ColumnData::Date(c.first.into())),
        ("last_purchase", ColumnData::Date(c.last.into())),
        ("recency_days", ColumnData::Int(c.recency_days.into())),
        ("orders", ColumnData::Int(c.orders.into())),
        ("purchase_days", ColumnData::Int(c.purchase_days.into())),
        ("monetary", ColumnData::Float(c.monetary.into())),
        ("avg_order_value", ColumnData::Float(c.aov.into())),
        ("frequency", ColumnData::Float(c.frequency.into())),
        ("recency", ColumnData::Float(c.recency.into())),
        ("T", ColumnData::Float(c.t.into())),
        ("monetary_value", ColumnData::Float(c.monetary_value.into())),
    ];
    if any_category {
        cols.push(("categories", ColumnData::Int(c.categories.into())));
        cols.push(("top_category", ColumnData::Text(c.top_category.into())));
    }
    if any_profit {
        cols.push(("profit", ColumnData::Float(c.profit.into())));
    }
    if any_quantity {
        cols.push(("items", ColumnData::Float(c.items.into())));
    }
    cols.extend([
        ("returns", ColumnData::Int(c.returns.into())),
        ("return_amount", ColumnData::Float(c.return_amount.into())),
        ("tenure_days", ColumnData::Int(c.tenure_days.into())),
        (
            "avg_interpurchase_days",
            ColumnData::Float(c.interpurchase.into()),
        ),
        ("longest_gap_days", ColumnData::Int(c.longest_gap.into())),
        ("last_gap_days", ColumnData::Int(c.last_gap.into())),
    ]);
    for (name, data) in cols {
        table
            .push(name, data)
            .map_err(|e| DistributedError::Internal {
                step: "the customer table",
                reason: e.to_string(),
            })?;
    }
    Ok(table.sorted_by_id())
}

/// Orders of a customer-month or customer-category: distinct order ids, else purchase days.
fn orders_of(order_ids: i64, days: i64) -> u32 {
    (if order_ids > 0 { order_ids } else { days }) as u32
}

/// The holdout's purchase days, one per row of `table` (0 for a customer without any).
fn holdout_days(
    batches: &[RecordBatch],
    table: &CustomerTable,
) -> Result<Vec<f64>, DistributedError> {
    let index: HashMap<&str, usize> = table
        .ids()
        .iter()
        .enumerate()
        .map(|(i, s)| (s, i))
        .collect();
    let mut days = vec![0.0; table.len()];
    for b in batches {
        let c = Cols {
            batch: b,
            step: "the holdout purchase days",
        };
        let (ids, n) = (c.text(0)?, c.int(1)?);
        for r in 0..b.num_rows() {
            // a customer whose first purchase is in the holdout is not in the calibration
            if let Some(&i) = index.get(ids.value(r)) {
                days[i] = n.value(r) as f64;
            }
        }
    }
    Ok(days)
}

fn monthly_activity(
    batches: &[RecordBatch],
    index: &HashMap<&str, u32>,
) -> Result<Vec<MonthActivity>, DistributedError> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols {
            batch: b,
            step: "the monthly activity",
        };
        let (ids, y, m, rev, oid, days) = (
            c.text(0)?,
            c.int(1)?,
            c.int(2)?,
            c.dec(3)?,
            c.int(4)?,
            c.int(5)?,
        );
        for r in 0..b.num_rows() {
            let Some(&customer) = index.get(ids.value(r)) else {
                continue;
            };
            out.push(MonthActivity {
                customer,
                year: y.value(r) as i32,
                month: m.value(r) as u32,
                revenue: money(rev.value(r)),
                orders: orders_of(oid.value(r), days.value(r)),
            });
        }
    }
    out.sort_by_key(|a| (a.customer, a.year, a.month));
    Ok(out)
}

fn category_spend(
    batches: &[RecordBatch],
    index: &HashMap<&str, u32>,
) -> Result<(Vec<CategorySpend>, Vec<String>), DistributedError> {
    let mut rows: Vec<(u32, String, f64, u32)> = Vec::new();
    for b in batches {
        let c = Cols {
            batch: b,
            step: "the category spend",
        };
        let (ids, cats, rev, oid, days) = (c.text(0)?, c.text(1)?, c.dec(2)?, c.int(3)?, c.int(4)?);
        for r in 0..b.num_rows() {
            let Some(&customer) = index.get(ids.value(r)) else {
                continue;
            };
            rows.push((
                customer,
                cats.value(r).to_string(),
                money(rev.value(r)),
                orders_of(oid.value(r), days.value(r)),
            ));
        }
    }
    // category numbers in name order, so nothing depends on hash or partition order
    let mut names: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    names.sort();
    names.dedup();
    let number: HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut out: Vec<CategorySpend> = rows
        .iter()
        .map(|(customer, name, revenue, orders)| CategorySpend {
            customer: *customer,
            category: number.get(name.as_str()).copied().unwrap_or_default(),
            revenue: *revenue,
            orders: *orders,
        })
        .collect();
    out.sort_by_key(|c| (c.customer, c.category));
    Ok((out, names))
}

/// Totals per weekday (Monday first; `dow` counts from Sunday) or calendar month.
fn seasonality<const N: usize>(
    batches: &[RecordBatch],
    weekday: bool,
) -> Result<[PeriodTotals; N], DistributedError> {
    let mut slots = [PeriodTotals::default(); N];
    for b in batches {
        let c = Cols {
            batch: b,
            step: "the seasonality totals",
        };
        let (p, rev, occ, cust) = (c.int(0)?, c.dec(1)?, c.int(2)?, c.int(3)?);
        for r in 0..b.num_rows() {
            let slot = if weekday {
                (p.value(r) + 6) % 7
            } else {
                p.value(r) - 1
            };
            if let Some(t) = usize::try_from(slot).ok().and_then(|s| slots.get_mut(s)) {
                *t = PeriodTotals {
                    revenue: money(rev.value(r)),
                    orders: occ.value(r) as u64,
                    customers: cust.value(r) as u64,
                };
            }
        }
    }
    Ok(slots)
}
