//! The TOML config (DESIGN.md §5). Unknown keys are errors, reported with their line.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use clientele_core::{DateFormat, Day, TimeUnit};
use clientele_ingest::{
    ColumnMapping, CsvOptions, Delimiter, Encoding, IngestOptions, OptionalColumn,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::EngineError;

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the data comes from.
    pub source: SourceConfig,
    /// Input column names.
    pub columns: ColumnsConfig,
    /// As-of date and time unit.
    pub time: TimeConfig,
    /// Output settings.
    pub output: OutputConfig,
    /// RFM scoring and segment schemes.
    pub rfm: clientele_rfm::RfmConfig,
    /// Customer lifetime value.
    pub clv: ClvConfig,
    /// Grading schemes (`[[scheme]]`); none = the classic presets the data supports.
    pub scheme: Vec<clientele_grade::SchemeConfig>,
    /// Playbook overrides: grade name → action.
    pub playbook: clientele_grade::PlaybookConfig,
    /// Value tiers (ABC / HML) settings.
    pub value_tiers: clientele_grade::ValueTierConfig,
    /// K-means segments.
    pub cluster: clientele_cluster::ClusterConfig,
    /// Lifecycle stages and trend windows.
    pub lifecycle: clientele_lifecycle::LifecycleConfig,
    /// Behaviour analysis: dimensions, affinity support, top-N.
    pub behaviour: clientele_behaviour::BehaviourConfig,
    /// Where the per-customer aggregation runs (embedded, or on a cluster).
    pub engine: EngineConfig,
}

/// `[engine]`: where the per-customer aggregation runs. Not hashed: an embedded run and a
/// cluster run of the same data give the same results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// A Ballista scheduler (`df://host:50050`): the aggregation runs on its executors
    /// (needs a build with the `cluster` feature; docs/CLUSTER.md). Unset: in this process.
    #[schemars(with = "Option<String>")]
    pub cluster: Option<clientele_distributed::ClusterUrl>,
    /// Where the validated rows are staged for the executors: a folder they all read at the
    /// same path (shared storage on a real cluster). Unset: the system's temporary folder,
    /// right only when the executors run on this machine.
    pub staging: Option<PathBuf>,
    /// How the cluster computes the customer table: `fold` (default: the embedded fold as
    /// a function on `clientele cluster executor` processes, one job) or `sql` (the fold
    /// as SQL, six jobs; runs on stock Ballista 55 executors too). Same results either way.
    #[schemars(with = "String")]
    pub plan: clientele_distributed::ClusterPlan,
}

impl EngineConfig {
    /// What the cluster path needs besides the scheduler's address.
    pub fn cluster_options(&self) -> clientele_distributed::ClusterOptions<'_> {
        clientele_distributed::ClusterOptions {
            staging: self.staging.as_deref(),
            plan: self.plan,
            parts: None,
        }
    }
}

/// `[clv]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClvConfig {
    /// Fit the CLV models at all.
    pub enabled: bool,
    /// Transaction model: mbg_nbd (default), bg_nbd, pareto_nbd, bg_bb, or auto (fit
    /// MBG/NBD, Pareto/NBD and BG/NBD, compare them by holdout error when a calibration end
    /// is given, else by BIC, and keep the best; the rule is in docs/MODEL_CHOICE.md).
    ///
    /// MBG/NBD is the default because a customer may lapse right after any purchase, also
    /// the first: a one-time buyer's P(alive) falls with the time since the purchase. Under
    /// BG/NBD a customer can only drop out after a repeat purchase, so every one-time buyer has
    /// P(alive) = 1 however long ago they bought (all 12,054 on CDNOW, some 545 days ago),
    /// which contradicts the churn stage. On holdout (docs/MODEL_CHOICE.md) MBG/NBD is as good
    /// as the best: CDNOW (calibration to 1997-09-30, 39 weeks) MAE 0.7945 vs Pareto/NBD 0.7938
    /// and BG/NBD 0.8187; demo shop MAE 1.0678 vs 1.0699 and 1.0634 (the shop is simulated
    /// from BG/NBD). Pareto/NBD, which also lets one-time buyers lapse, is not the default: its
    /// fit can run for many minutes when dropout shows no heterogeneity (s, β → ∞; CDNOW's
    /// sample observed one year longer), while MBG/NBD has closed forms and fits in
    /// milliseconds on any data.
    pub model: ModelChoice,
    /// Spend model: `gamma_gamma` or `none`.
    pub spend: SpendModel,
    /// CLV and expected-purchases horizon in months.
    pub horizon_months: u32,
    /// The horizon in any unit instead (`"95 weeks"`, `"2 years"`, `"90 days"`); the CLV
    /// sums whole months and a partial last one. Set this or `horizon_months`, not both.
    pub horizon: Option<clientele_core::Span>,
    /// Discount rate per month.
    pub monthly_discount: f64,
    /// Month length: `lifetimes` (30 days / 4.345 weeks, for parity) or `30days`.
    pub month: MonthLength,
    /// L2 penalty on the log-parameters (0 = plain maximum likelihood).
    pub penalizer: f64,
    /// Windows in days of the purchase chances `p_purchase_<N>d`: the probability of at
    /// least one purchase in the next N days.
    pub purchase_windows: Vec<u32>,
    /// How far ahead `next_purchase_date` looks: past it (or when the chance of buying
    /// again never reaches 50 %) the date is empty.
    pub next_purchase_max: clientele_core::Span,
    /// A future date for `p_alive_on`: each customer's chance of still being a customer then
    /// (YYYY-MM-DD, after the as-of date).
    pub alive_on: Option<Day>,
    /// Per-customer 90 % intervals of CLV and expected purchases (`clv_p05`, `clv_p95`, …)
    /// from the uncertainty of the fitted parameters.
    pub intervals: bool,
    /// Parameter draws behind the intervals.
    pub interval_draws: usize,
    /// Seed of those draws (same seed, same intervals).
    pub interval_seed: u64,
    /// How the intervals are made: `"draws"` (quantiles of the parameter draws),
    /// `"linear"` (point ± z·σ of the delta method, a fifteenth of the cost) or `"auto"`
    /// (draws below 500,000 customers, linear from there, where the two agree within the
    /// draws' own noise).
    pub interval_method: clientele_clv::IntervalMethod,
    /// Attribute columns used as covariates of the purchase model (Pareto/NBD or BG/NBD):
    /// numbers as they are, text one-hot against its most common value.
    pub covariates: Vec<String>,
    /// Which process the covariates act on: both, purchase or dropout.
    pub covariates_on: clientele_clv::CovariatesOn,
    /// Also write `forecast.parquet`: each customer's expected purchases (and value) per
    /// month of the horizon.
    pub forecast_per_customer: bool,
}

/// The keys added after hashes were first published, with their defaults as JSON: at the
/// default they are hashed as absent, so earlier runs keep their hash.
fn later_defaults() -> Vec<(&'static str, String)> {
    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }
    let (c, t) = (ClvConfig::default(), TimeConfig::default());
    vec![
        ("periods", json(&t.periods)),
        (
            "scan_n_init",
            json(&clientele_cluster::config::DEFAULT_SCAN_N_INIT),
        ),
        ("horizon", json(&c.horizon)),
        ("purchase_windows", json(&c.purchase_windows)),
        ("next_purchase_max", json(&c.next_purchase_max)),
        ("alive_on", json(&c.alive_on)),
        ("intervals", json(&c.intervals)),
        ("interval_draws", json(&c.interval_draws)),
        ("interval_seed", json(&c.interval_seed)),
        ("interval_method", json(&c.interval_method)),
        ("covariates", json(&c.covariates)),
        ("covariates_on", json(&c.covariates_on)),
        ("forecast_per_customer", json(&c.forecast_per_customer)),
    ]
}

/// `text` without the field `,"key":default` — only where the value is the whole value
/// (followed by `,` or `}`), so that 2000 is not read as a default of 200.
fn without_default(text: String, key: &str, default: &str) -> String {
    let field = format!(",\"{key}\":{default}");
    let at = text
        .match_indices(&field)
        .map(|(i, _)| i)
        .find(|&i| matches!(text.as_bytes().get(i + field.len()), Some(b',' | b'}')));
    match at {
        Some(i) => format!("{}{}", &text[..i], &text[i + field.len()..]),
        None => text,
    }
}

impl Default for ClvConfig {
    fn default() -> Self {
        ClvConfig {
            enabled: true,
            model: ModelChoice::MbgNbd,
            spend: SpendModel::GammaGamma,
            horizon_months: 12,
            horizon: None,
            monthly_discount: 0.01,
            month: MonthLength::Lifetimes,
            penalizer: 0.0,
            purchase_windows: vec![30, 90],
            next_purchase_max: clientele_core::Span::new(2.0, TimeUnit::Years)
                .unwrap_or_else(|_| unreachable!("2 years is a span")),
            alive_on: None,
            intervals: true,
            interval_draws: clientele_clv::IntervalOptions::DEFAULT_DRAWS,
            interval_seed: 0,
            interval_method: clientele_clv::IntervalMethod::Auto,
            covariates: Vec::new(),
            covariates_on: clientele_clv::CovariatesOn::Both,
            forecast_per_customer: false,
        }
    }
}

/// `[clv] model`: one transaction model, or `auto` to compare them and keep the best.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// Fit MBG/NBD, Pareto/NBD and BG/NBD and keep the best (`clientele_clv::choice`).
    Auto,
    /// BG/NBD.
    BgNbd,
    /// MBG/NBD.
    #[default]
    MbgNbd,
    /// Pareto/NBD.
    ParetoNbd,
    /// BG/BB.
    BgBb,
}

impl ModelChoice {
    /// The one model chosen; None for `auto`.
    pub fn kind(self) -> Option<clientele_clv::ModelKind> {
        use clientele_clv::ModelKind as K;
        match self {
            ModelChoice::Auto => None,
            ModelChoice::BgNbd => Some(K::BgNbd),
            ModelChoice::MbgNbd => Some(K::MbgNbd),
            ModelChoice::ParetoNbd => Some(K::ParetoNbd),
            ModelChoice::BgBb => Some(K::BgBb),
        }
    }
}

impl From<clientele_clv::ModelKind> for ModelChoice {
    fn from(k: clientele_clv::ModelKind) -> Self {
        use clientele_clv::ModelKind as K;
        match k {
            K::BgNbd => ModelChoice::BgNbd,
            K::MbgNbd => ModelChoice::MbgNbd,
            K::ParetoNbd => ModelChoice::ParetoNbd,
            K::BgBb => ModelChoice::BgBb,
        }
    }
}

/// `[clv] spend`: the model of the money per purchase.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SpendModel {
    /// Gamma-Gamma (Fader, Hardie & Lee 2005); CLV needs it.
    #[default]
    GammaGamma,
    /// No spend model: expected purchases only, no CLV.
    None,
}

/// `[clv] month`: how many model time units make the month of the CLV horizon.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum MonthLength {
    /// lifetimes' convention (30 days, 4.345 weeks), so CLV matches it.
    #[default]
    #[serde(rename = "lifetimes")]
    Lifetimes,
    /// 30 days in every unit (4.286 weeks).
    #[serde(rename = "30days")]
    ThirtyDays,
}

/// `[source] decimal`: the decimal separator of amounts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum DecimalSeparator {
    /// `12.50`.
    #[default]
    #[serde(rename = ".")]
    Point,
    /// `12,50`, `1.234,56`.
    #[serde(rename = ",")]
    Comma,
}

impl DecimalSeparator {
    fn is_point(&self) -> bool {
        *self == DecimalSeparator::Point
    }
}

/// `[output] format`: which customer-table files to write.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Both while the table fits an Excel sheet, else `customers.parquet` only: Excel opens
    /// 1,048,576 rows, and past that the CSV (1 GB at 3.4M customers) only cost writing time.
    #[default]
    Auto,
    /// `customers.parquet` only.
    Parquet,
    /// `customers.csv` only.
    Csv,
    /// Both.
    Both,
}

/// Rows of an Excel sheet, its header row included.
pub const EXCEL_ROWS: usize = 1_048_576;

impl OutputFormat {
    /// Whether `customers.parquet` is written.
    pub fn writes_parquet(self) -> bool {
        !matches!(self, OutputFormat::Csv)
    }

    /// Whether `customers.csv` is written for a table of `customers` rows.
    pub fn writes_csv(self, customers: usize) -> bool {
        match self {
            OutputFormat::Auto => customers < EXCEL_ROWS,
            OutputFormat::Csv | OutputFormat::Both => true,
            OutputFormat::Parquet => false,
        }
    }
}

/// `[output] parquet_compression`: compression of `customers.parquet`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ParquetCompression {
    /// zstd level 1: the smallest file.
    #[default]
    Zstd,
    /// Snappy, the default of Spark, pyarrow and DuckDB: faster to write, a larger file.
    Snappy,
    /// LZ4 (the `LZ4_RAW` codec): as fast as Snappy; older readers may not know it.
    Lz4,
    /// No compression.
    None,
}

/// A setting that several spellings name (`gbk`, `GBK`, `cp936`), parsed when the config is
/// loaded and serialized as written: the config hash is of the text, and must not move.
#[derive(Debug, Clone, PartialEq)]
pub struct AsWritten<T> {
    value: T,
    text: String,
}

impl<T: Copy> AsWritten<T> {
    /// The parsed value.
    pub fn value(&self) -> T {
        self.value
    }
}

impl<T> AsWritten<T> {
    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<T: FromStr<Err = String>> FromStr for AsWritten<T> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(AsWritten {
            value: s.parse()?,
            text: s.to_string(),
        })
    }
}

impl<T> Serialize for AsWritten<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de, T: FromStr<Err = String>> Deserialize<'de> for AsWritten<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// By hand, like the serde impls: the text as written.
impl<T> schemars::JsonSchema for AsWritten<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AsWritten".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

impl Default for AsWritten<Encoding> {
    fn default() -> Self {
        AsWritten {
            value: Encoding::Utf8,
            text: "utf-8".into(),
        }
    }
}

impl Default for AsWritten<Delimiter> {
    fn default() -> Self {
        AsWritten {
            value: Delimiter::Byte(b','),
            text: ",".into(),
        }
    }
}

pub use clientele_core::Lang;

/// `[source]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// Transaction files, directories or globs (relative to the config file).
    pub transactions: Vec<PathBuf>,
    /// `utf-8` (BOM detected), `gbk`, `gb18030` or `windows-1252`, and their aliases.
    pub encoding: AsWritten<Encoding>,
    /// One character, `tab` or `whitespace` (an open set, so checked by parsing).
    pub delimiter: AsWritten<Delimiter>,
    /// True when the files have no header line (columns are then `column_1`, `column_2`, …).
    pub no_header: bool,
    /// Customer attributes table.
    pub attributes: Option<PathBuf>,
    /// Satisfaction scores table.
    pub satisfaction: Option<PathBuf>,
    /// Column of the score in the satisfaction table.
    pub satisfaction_score: String,
    /// Leads table.
    pub leads: Option<PathBuf>,
    /// Decimal separator of amounts, profits, costs and quantities: `.` (default) or `,`
    /// (`12,50`, `1.234,56`). Left out of the hash at its default, so configs hash as before.
    #[serde(skip_serializing_if = "DecimalSeparator::is_point")]
    pub decimal: DecimalSeparator,
    /// A PostgreSQL server to read the transactions from instead of files: a libpq URL
    /// (`postgresql://user@host:5432/db`) without the password, which comes from PGPASSWORD,
    /// CLIENTELE_PG_PASSWORD or ~/.pgpass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
    /// The table or view to read from `postgres` (`orders`, `sales.orders`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// A query to read from `postgres` instead of a table: one row per transaction line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            transactions: Vec::new(),
            encoding: AsWritten::default(),
            delimiter: AsWritten::default(),
            no_header: false,
            attributes: None,
            satisfaction: None,
            satisfaction_score: "score".into(),
            leads: None,
            decimal: DecimalSeparator::Point,
            postgres: None,
            table: None,
            query: None,
        }
    }
}

/// `[columns]`: input column names. Unset optional columns are used when a file has a column
/// of the default name; set ones must exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnsConfig {
    /// Default `customer_id`.
    pub customer_id: Option<String>,
    /// Default `order_date`.
    pub order_date: Option<String>,
    /// Default `amount`.
    pub amount: Option<String>,
    /// Default `order_id`.
    pub order_id: Option<String>,
    /// Default `category`.
    pub category: Option<String>,
    /// Default `profit`.
    pub profit: Option<String>,
    /// Default `cost`.
    pub cost: Option<String>,
    /// Default `quantity`.
    pub quantity: Option<String>,
    /// A chrono format such as `%d.%m.%Y`; common formats are recognised without it.
    pub date_format: Option<String>,
}

/// `[time]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TimeConfig {
    /// The analysis date; default = the last order date in the data.
    pub as_of: Option<Day>,
    /// CLV-convention time unit: days, weeks (default), months (30 days), quarters, years
    /// or "N days".
    pub unit: TimeUnit,
    /// End of the calibration period for `validate`.
    pub calibration_end: Option<Day>,
    /// How the CLV columns count time: `elapsed` (fractional units since the first
    /// purchase) or `calendar` (whole calendar periods of the unit with a purchase: one
    /// opportunity per period, e.g. yearly donations with BG/BB and `unit = "years"`).
    pub periods: PeriodCounting,
}

/// `[time] periods`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PeriodCounting {
    /// Time since the first purchase in (fractional) units; purchases merged per day.
    #[default]
    Elapsed,
    /// Calendar periods of the unit (days, ISO weeks, months, quarters, years, N-day
    /// blocks): `frequency` counts the later periods with a purchase, `recency` and `T` are
    /// whole periods, `monetary_value` the mean net amount per repeat period.
    Calendar,
}

/// `[output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// `parquet`, `csv` or `both`.
    pub format: OutputFormat,
    /// Language of segment labels and actions: `zh` or `en`.
    pub lang: Lang,
    /// Also write every grade's list as `segments/<scheme>/<grade>.csv`. Off by default:
    /// `customers.parquet` holds every grade column and `clientele export` writes any one
    /// list on demand, so a run does not write every customer once per scheme.
    pub target_lists: bool,
    /// Compression of `customers.parquet`: `zstd` (smallest), `snappy` or `lz4` (faster to
    /// write, about 40 % larger), `none`.
    pub parquet_compression: ParquetCompression,
    /// Also write the customer table (every grade, CLV and stage column) to this PostgreSQL
    /// server: a libpq URL without the password, as for `[source] postgres`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
    /// The table written with `postgres` (default `clientele_customers`; `schema.name` for
    /// another schema). Replaced whole in one transaction on each run; a table clientele did
    /// not write is never replaced. Runs are logged in `clientele_runs` beside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            format: OutputFormat::Auto,
            lang: Lang::Zh,
            target_lists: false,
            parquet_compression: ParquetCompression::Zstd,
            postgres: None,
            table: None,
        }
    }
}

impl OutputConfig {
    /// The PostgreSQL sink, when `postgres` is set (checked: URL and table name).
    pub fn postgres_sink(&self) -> Result<Option<crate::PgSink>, EngineError> {
        match (&self.postgres, &self.table) {
            (Some(url), table) => {
                crate::PgSink::new(url, table.as_deref().unwrap_or(DEFAULT_PG_TABLE)).map(Some)
            }
            (None, Some(_)) => Err(EngineError::InvalidConfig(
                "[output] table names the PostgreSQL table to write: set [output] postgres = \
                 \"postgresql://user@host:5432/db\" too (or pass --write-postgres URL)"
                    .into(),
            )),
            (None, None) => Ok(None),
        }
    }
}

/// The table `[output] postgres` writes when no `table` is given.
pub const DEFAULT_PG_TABLE: &str = "clientele_customers";

impl Config {
    /// Parses a config from TOML text; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, EngineError> {
        toml::from_str(text).map_err(|e| EngineError::Config {
            path: origin.to_string(),
            message: e.to_string(),
        })
    }

    /// Every file or pattern the run reads: the transactions and the side tables. An output
    /// folder must hold none of them ([`crate::check_destination`]).
    pub fn input_paths(&self) -> Vec<PathBuf> {
        let s = &self.source;
        let mut v = s.transactions.clone();
        v.extend(
            [&s.attributes, &s.satisfaction, &s.leads]
                .into_iter()
                .flatten()
                .cloned(),
        );
        v
    }

    /// Reads a config file; relative source paths are resolved against its directory.
    pub fn load(path: &Path) -> Result<Config, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
        let mut cfg = Config::from_toml(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        cfg.source.transactions.iter_mut().for_each(fix);
        for p in [
            &mut cfg.engine.staging,
            &mut cfg.source.attributes,
            &mut cfg.source.satisfaction,
            &mut cfg.source.leads,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        Ok(cfg)
    }

    /// A short hash of the settings that change results, stamped on outputs and snapshots so
    /// runs with different settings are never compared silently.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.hashed_text().as_bytes());
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }

    /// The settings that change results, as [`Config::hash`] hashes them (what is read and
    /// when left out): recorded in each output's manifest, so that `compare` can say what
    /// differs between two runs, key by key.
    pub fn settings(&self) -> serde_json::Value {
        serde_json::from_str(&self.hashed_text()).unwrap_or_default()
    }

    /// The JSON Schema of the config file: every table and key, from the types (the reference
    /// in `docs/CONFIG.md` is checked against it).
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(Config)
    }

    /// The hashed settings as JSON text.
    fn hashed_text(&self) -> String {
        // The config as hashed, in the field order of `Config`. The destructuring is
        // exhaustive so that a new section cannot be left out by accident.
        #[derive(Serialize)]
        struct Hashed<'a> {
            source: SourceConfig,
            columns: &'a ColumnsConfig,
            time: TimeConfig,
            output: HashedOutput,
            rfm: &'a clientele_rfm::RfmConfig,
            clv: &'a ClvConfig,
            scheme: &'a [clientele_grade::SchemeConfig],
            playbook: &'a clientele_grade::PlaybookConfig,
            value_tiers: &'a clientele_grade::ValueTierConfig,
            cluster: &'a clientele_cluster::ClusterConfig,
            lifecycle: &'a clientele_lifecycle::LifecycleConfig,
            behaviour: &'a clientele_behaviour::BehaviourConfig,
        }
        // Only the language changes results; the format is hashed as the empty string and
        // the rest left out, as they were when the format was a string.
        #[derive(Serialize)]
        struct HashedOutput {
            format: &'static str,
            lang: Lang,
            target_lists: bool,
        }
        let Config {
            source,
            columns,
            time,
            output,
            rfm,
            clv,
            scheme,
            playbook,
            value_tiers,
            cluster,
            lifecycle,
            behaviour,
            // where it runs does not change results
            engine: _,
        } = self;
        let OutputConfig {
            format: _,
            lang,
            target_lists: _,
            parquet_compression: _,
            postgres: _,
            table: _,
        } = output;
        let hashed = Hashed {
            // what is read and when do not change how it is graded
            source: SourceConfig {
                transactions: Vec::new(),
                postgres: None,
                table: None,
                query: None,
                ..source.clone()
            },
            columns,
            time: TimeConfig {
                as_of: None,
                calibration_end: None,
                ..time.clone()
            },
            output: HashedOutput {
                format: "",
                lang: *lang,
                target_lists: true,
            },
            rfm,
            clv,
            scheme,
            playbook,
            value_tiers,
            cluster,
            lifecycle,
            behaviour,
        };
        // JSON, not TOML: TOML cannot serialize every shape (e.g. nested arrays of tables).
        let mut text = serde_json::to_string(&hashed).unwrap_or_default();
        for (key, default) in later_defaults() {
            text = without_default(text, key, &default);
        }
        text
    }

    /// The PostgreSQL source, when `[source] postgres` is set: with a table or a query, not
    /// both, and no files beside it.
    pub fn postgres_source(&self) -> Result<Option<clientele_ingest::PgSource>, EngineError> {
        use clientele_ingest::{PgRelation, PgSource, PgUrl};
        let s = &self.source;
        let bad = |m: &str| Err(EngineError::InvalidConfig(m.to_string()));
        let Some(url) = &s.postgres else {
            if s.table.is_some() || s.query.is_some() {
                return bad(
                    "[source] table and query read from a PostgreSQL server: set [source] \
                     postgres = \"postgresql://user@host:5432/db\" (or pass --postgres URL)",
                );
            }
            return Ok(None);
        };
        let relation = match (&s.table, &s.query) {
            (Some(t), None) if !t.trim().is_empty() => PgRelation::Table(t.trim().to_string()),
            (None, Some(q)) if !q.trim().is_empty() => PgRelation::Query(q.clone()),
            (Some(_), Some(_)) => {
                return bad(
                    "[source] has both table and query: read a table, or a query, not both",
                );
            }
            _ => {
                return bad(
                    "[source] postgres needs the rows to read: table = \"orders\" or query = \
                     \"SELECT …\" (or pass --table / --query)",
                );
            }
        };
        if !s.transactions.is_empty() {
            return bad(
                "[source] names both transaction files and a PostgreSQL server: read one or \
                 the other",
            );
        }
        Ok(Some(PgSource {
            url: PgUrl::parse(url)?,
            relation,
        }))
    }

    /// The ingest options this config describes.
    pub fn ingest_options(&self) -> Result<IngestOptions, EngineError> {
        let s = &self.source;
        let mut o = IngestOptions::new(s.transactions.clone());
        o.lang = self.output.lang;
        o.csv = CsvOptions {
            encoding: s.encoding.value(),
            delimiter: s.delimiter.value(),
            no_header: s.no_header,
        };
        let c = &self.columns;
        let d = ColumnMapping::default();
        let opt = |v: &Option<String>, def: OptionalColumn| {
            v.as_deref().map(OptionalColumn::explicit).unwrap_or(def)
        };
        o.columns = ColumnMapping {
            customer_id: c.customer_id.clone().unwrap_or(d.customer_id),
            order_date: c.order_date.clone().unwrap_or(d.order_date),
            amount: c.amount.clone().unwrap_or(d.amount),
            order_id: opt(&c.order_id, d.order_id),
            category: opt(&c.category, d.category),
            profit: opt(&c.profit, d.profit),
            cost: opt(&c.cost, d.cost),
            quantity: opt(&c.quantity, d.quantity),
            date_format: c
                .date_format
                .clone()
                .map(DateFormat::Custom)
                .unwrap_or_default(),
        };
        o.decimal_comma = s.decimal == DecimalSeparator::Comma;
        o.as_of = self.time.as_of;
        o.unit = self.time.unit;
        o.calendar_periods = self.time.periods == PeriodCounting::Calendar;
        o.attributes = s.attributes.clone();
        o.satisfaction = s.satisfaction.clone();
        o.satisfaction_score = s.satisfaction_score.clone();
        o.leads = s.leads.clone();
        o.postgres = self.postgres_source()?;
        Ok(o)
    }
}

/// One setting that differs between two runs, as `compare` shows it:
/// `columns.amount: 金额 → 实付金额`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    /// The key path, as in the config file (`columns.amount`, `scheme[0].rules[1].when`).
    pub key: String,
    /// The old run's value (`None`: not set).
    pub old: Option<String>,
    /// The new run's value (`None`: not set).
    pub new: Option<String>,
}

impl SettingChange {
    /// True for a setting that only says how the input is read (`[source]`, `[columns]`):
    /// the grades of two runs that differ only there mean the same when both settings name
    /// the same data (a renamed column, another export's encoding).
    pub fn only_reading(&self) -> bool {
        self.key.starts_with("source.") || self.key.starts_with("columns.")
    }
}

impl std::fmt::Display for SettingChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
        write!(
            f,
            "{}: {} → {}",
            self.key,
            shown(&self.old),
            shown(&self.new)
        )
    }
}

/// The settings that differ between two runs' [`Config::settings`], key by key, in key order.
pub fn settings_diff(old: &serde_json::Value, new: &serde_json::Value) -> Vec<SettingChange> {
    let (mut a, mut b) = (Default::default(), Default::default());
    flatten_setting(old, String::new(), &mut a);
    flatten_setting(new, String::new(), &mut b);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| SettingChange {
            key: k.clone(),
            old: a.get(k).cloned(),
            new: b.get(k).cloned(),
        })
        .collect()
}

/// Leaves of a settings value by key path; unset (null) leaves are left out.
fn flatten_setting(
    v: &serde_json::Value,
    path: String,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    use serde_json::Value;
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        // unset, or an empty list (no schemes, no features): nothing set
        Value::Null => {}
        Value::Array(items) if items.is_empty() => {}
        Value::Object(m) => {
            for (k, x) in m {
                flatten_setting(x, join(k), out);
            }
        }
        // tables in a list (`[[scheme]]`, rules) key by key; a list of values as one
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, x) in items.iter().enumerate() {
                flatten_setting(x, format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => {
            out.insert(path, s.clone());
        }
        other => {
            out.insert(path, other.to_string());
        }
    }
}

/// The settings a run recorded in its manifest (`settings`), from its output folder or a
/// snapshot file inside one; `None` for runs of clientele versions that did not record them.
pub fn run_settings(path: &Path) -> Option<serde_json::Value> {
    let dirs: Vec<&Path> = if path.is_dir() {
        vec![path]
    } else {
        // `OUT/snapshot/snapshot.json`, or a snapshot copied next to nothing
        path.ancestors().skip(1).take(2).collect()
    };
    dirs.into_iter()
        .find_map(crate::out_dir::read_manifest)
        .and_then(|m| m.settings)
}

/// Why two runs cannot be compared, when their config hashes differ: the settings that differ,
/// key by key (or, for a run that did not record them, the two hashes), and what to do.
pub fn settings_mismatch(
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
    hashes: (&str, &str),
) -> String {
    let (Some(old), Some(new)) = (old, new) else {
        return format!(
            "the runs were made with different settings (config hash {} and {}), so their \
             grades are not comparable; a run written before clientele recorded its settings \
             cannot say which: rerun it with this clientele to see what differs",
            hashes.0, hashes.1
        );
    };
    let changes = settings_diff(old, new);
    let list: Vec<String> = changes.iter().map(|c| format!("  {c}")).collect();
    if changes.is_empty() {
        format!(
            "the runs recorded the same settings but different config hashes ({} and {}), as \
             runs of different clientele versions may: pass --force to compare them",
            hashes.0, hashes.1
        )
    } else if changes.iter().all(SettingChange::only_reading) {
        format!(
            "the runs read their input with different settings:\n{}\nthese change how the \
             input is read, not how customers are graded: if both name the same data (a \
             renamed column, another export), pass --force to compare them",
            list.join("\n")
        )
    } else {
        format!(
            "the runs were made with different settings, so their grades are not \
             comparable:\n{}\nanalyze both with one config (e.g. rerun the older data with \
             --config of the newer run) and compare again",
            list.join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[engine]` is read and checked, and where a run is computed does not change its hash.
    #[test]
    fn engine_cluster_is_checked_and_not_hashed() {
        let c = Config::from_toml("[engine]\ncluster = \"df://10.0.0.5:50050\"\n", "c").unwrap();
        let url = c.engine.cluster.as_ref().unwrap();
        assert_eq!((url.host(), url.port()), ("10.0.0.5", 50050));
        assert_eq!(c.hash(), Config::default().hash());
        let e = Config::from_toml("[engine]\ncluster = \"http://h:1\"\n", "c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("df://"), "{e}");
    }

    #[test]
    fn auto_writes_the_csv_while_it_fits_an_excel_sheet() {
        let f = OutputFormat::default();
        assert_eq!(f, OutputFormat::Auto);
        assert!(f.writes_parquet() && f.writes_csv(EXCEL_ROWS - 1));
        assert!(!f.writes_csv(EXCEL_ROWS));
        assert!(OutputFormat::Both.writes_csv(10 * EXCEL_ROWS));
        assert!(!OutputFormat::Csv.writes_parquet() && !OutputFormat::Parquet.writes_csv(1));
        let c = Config::from_toml("[output]\nformat = \"auto\"\n", "c").unwrap();
        assert_eq!(c.output.format, OutputFormat::Auto);
    }

    #[test]
    fn settings_that_differ_are_listed_key_by_key() {
        let a = Config::from_toml("[columns]\namount = \"金额\"\n", "a").unwrap();
        let b = Config::from_toml(
            "[columns]\namount = \"实付金额\"\n[rfm]\nbins = 4\n[[scheme]]\nname = \"x\"\n\
             default = \"y\"\n",
            "b",
        )
        .unwrap();
        let d = settings_diff(&a.settings(), &b.settings());
        let shown: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "columns.amount: 金额 → 实付金额",
                "rfm.bins: 5 → 4",
                "scheme[0].default: (not set) → y",
                "scheme[0].name: (not set) → x",
            ]
        );
        assert!(d[0].only_reading() && !d[1].only_reading());
        assert!(settings_diff(&a.settings(), &a.settings()).is_empty());
        // what is read and when are not settings of the grades
        let mut c = a.clone();
        c.source.transactions = vec!["other.csv".into()];
        c.time.as_of = Day::from_ymd(2024, 1, 1);
        assert!(settings_diff(&a.settings(), &c.settings()).is_empty());
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let e = Config::from_toml(
            "[source]\nencoding = \"gbk\"\n\n[time]\nas_of = \"1998-06-30\"\nunits = \"weeks\"\n",
            "c.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("c.toml"), "{e}");
        assert!(e.contains("line 6"), "{e}");
        assert!(e.contains("unknown field `units`"), "{e}");
    }

    #[test]
    fn parses_the_design_example() {
        let c = Config::from_toml(
            "[source]\ntransactions = [\"orders/*.csv\"]\nencoding = \"gbk\"\ndelimiter = \"whitespace\"\n\
             [columns]\ncustomer_id = \"客户编号\"\ndate_format = \"%Y%m%d\"\n[time]\nas_of = \"1998-06-30\"\nunit = \"days\"\n",
            "x",
        )
        .unwrap();
        let o = c.ingest_options().unwrap();
        assert_eq!(o.csv.encoding, Encoding::Gbk);
        assert_eq!(o.csv.delimiter, Delimiter::Whitespace);
        assert_eq!(o.columns.customer_id, "客户编号");
        assert_eq!(o.unit, TimeUnit::Days);
        assert_eq!(o.as_of, Day::from_ymd(1998, 6, 30));
        assert_eq!(c.hash().len(), 12);
    }

    #[test]
    fn a_typo_in_a_closed_setting_is_refused_with_the_valid_values() {
        for (text, valid) in [
            (
                "[clv]\nspend = \"gama\"",
                "expected `gamma_gamma` or `none`",
            ),
            (
                "[clv]\nmonth = \"30day\"",
                "expected `lifetimes` or `30days`",
            ),
            (
                "[output]\nformat = \"xlsx\"",
                "expected one of `auto`, `parquet`, `csv`, `both`",
            ),
            (
                "[output]\nparquet_compression = \"gzip\"",
                "expected one of `zstd`, `snappy`, `lz4`, `none`",
            ),
            ("[source]\ndecimal = \";\"", "expected `.` or `,`"),
            (
                "[source]\nencoding = \"utf-16\"",
                "use utf-8, gbk, gb18030 or windows-1252",
            ),
            (
                "[source]\ndelimiter = \"::\"",
                "must be one ASCII character, `tab` or `whitespace`",
            ),
        ] {
            let e = Config::from_toml(text, "c.toml").unwrap_err().to_string();
            assert!(e.contains("line 2") && e.contains(valid), "{text}: {e}");
        }
    }

    #[test]
    fn spellings_of_one_value_parse_alike_and_are_kept() {
        let c = Config::from_toml(
            "[source]\nencoding = \"GBK\"\ndelimiter = \"tab\"\ndecimal = \",\"\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.source.encoding.value(), Encoding::Gbk);
        assert_eq!(c.source.encoding.as_str(), "GBK");
        assert_eq!(c.source.delimiter.value(), Delimiter::Byte(b'\t'));
        let o = c.ingest_options().unwrap();
        assert!(o.decimal_comma);
        assert_eq!(o.csv.delimiter, Delimiter::Byte(b'\t'));
    }

    /// Hashes computed with the string-typed settings before they became enums: the hash is
    /// stamped on every output and compared between runs, so typing them must not move it.
    /// (Repinned when the defaults changed: `[clv] model = "mbg_nbd"`, `[rfm.*] method =
    /// "balanced"`, `[cluster] k = [3, 8]`; runs with the old defaults are not comparable.)
    #[test]
    fn a_later_key_is_hashed_as_absent_only_at_its_default() {
        let default = Config::default().hash();
        let at = |text: &str| Config::from_toml(text, "c.toml").unwrap().hash();
        assert_eq!(at("[clv]\ninterval_draws = 200\n"), default);
        assert_eq!(at("[time]\nperiods = \"elapsed\"\n"), default);
        // 2000 begins with the default's digits but is another setting
        assert_ne!(at("[clv]\ninterval_draws = 2000\n"), default);
        assert_ne!(
            at("[clv]\ninterval_draws = 2000\n"),
            at("[clv]\ninterval_draws = 20000\n")
        );
        assert_ne!(at("[cluster]\nscan_n_init = 30\n"), default);
        assert_eq!(at("[clv]\ninterval_method = \"auto\"\n"), default);
        assert_ne!(at("[clv]\ninterval_method = \"draws\"\n"), default);
    }

    #[test]
    fn hashes_are_those_of_the_string_settings() {
        assert_eq!(Config::default().hash(), "d50af0d7accf");
        for (text, hash) in [
            ("", "d50af0d7accf"),
            (crate::config_check::DEFAULT_CONFIG, "9f691cb47892"),
            ("[clv]\nspend = \"none\"", "ed60858f4db6"),
            ("[clv]\nmonth = \"30days\"", "afea76bd2a4f"),
            ("[output]\nformat = \"csv\"", "d50af0d7accf"),
            ("[output]\nparquet_compression = \"snappy\"", "d50af0d7accf"),
            ("[source]\nencoding = \"gbk\"", "ae375c1bb532"),
            ("[source]\nencoding = \"GBK\"", "f18c7dfefe2a"),
            ("[source]\nencoding = \"latin1\"", "a6eb5beeb535"),
            ("[source]\ndelimiter = \"tab\"", "6959af205934"),
            ("[source]\ndelimiter = \";\"", "df9fdecd63ee"),
            ("[source]\ndecimal = \",\"", "34d4b151cbc0"),
            ("[source]\nsatisfaction_score = \"nps\"", "4644af803aa0"),
            (
                "[source]\nencoding = \"GBK\"\ndelimiter = \"tab\"\ndecimal = \",\"\n\
                 [clv]\nspend = \"none\"\nmonth = \"30days\"\n\
                 [output]\nformat = \"csv\"\nparquet_compression = \"none\"\nlang = \"en\"\n",
                "a76a12f25b19",
            ),
        ] {
            assert_eq!(Config::from_toml(text, "x").unwrap().hash(), hash, "{text}");
        }
    }

    #[test]
    fn dates_may_be_written_as_toml_dates_or_strings() {
        let quoted = Config::from_toml("[time]\nas_of = \"2024-06-30\"\n", "<t>").unwrap();
        let bare = Config::from_toml("[time]\nas_of = 2024-06-30\n", "<t>").unwrap();
        assert_eq!(bare.time.as_of, quoted.time.as_of);
        assert_eq!(bare.hash(), quoted.hash());
        let e = Config::from_toml("[time]\nas_of = 2024-06-30T10:00:00\n", "<t>").unwrap_err();
        assert!(
            e.to_string().contains("is not a date: write YYYY-MM-DD"),
            "{e}"
        );
    }

    #[test]
    fn the_fixes_the_models_suggest_are_keys_that_parse() {
        // the RFM note on tied cut points and the CLV hint on a failed fit
        for fix in [
            "[rfm.f]\nmethod = \"ntile\"\n",
            "[clv]\npenalizer = 0.001\n",
        ] {
            Config::from_toml(fix, "<fix>").unwrap_or_else(|e| panic!("{fix}: {e}"));
        }
    }
}
