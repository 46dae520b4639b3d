//! The TOML config (DESIGN.md §5). Unknown keys are errors, reported with their line.

use std::path::{Path, PathBuf};

use clientele_core::{DateFormat, Day, TimeUnit};
use clientele_ingest::{
    ColumnMapping, CsvOptions, Delimiter, Encoding, IngestOptions, OptionalColumn,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::EngineError;

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
}

/// `[clv]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClvConfig {
    /// Fit the CLV models at all.
    pub enabled: bool,
    /// Transaction model: bg_nbd, mbg_nbd, pareto_nbd or bg_bb.
    pub model: clientele_clv::ModelKind,
    /// Spend model: `gamma_gamma` or `none`.
    pub spend: String,
    /// CLV and expected-purchases horizon in months.
    pub horizon_months: u32,
    /// Discount rate per month.
    pub monthly_discount: f64,
    /// Month length: `lifetimes` (30 days / 4.345 weeks, for parity) or `30days`.
    pub month: String,
    /// L2 penalty on the log-parameters (0 = plain maximum likelihood).
    pub penalizer: f64,
}

impl Default for ClvConfig {
    fn default() -> Self {
        ClvConfig {
            enabled: true,
            model: clientele_clv::ModelKind::BgNbd,
            spend: "gamma_gamma".into(),
            horizon_months: 12,
            monthly_discount: 0.01,
            month: "lifetimes".into(),
            penalizer: 0.0,
        }
    }
}

pub use clientele_core::Lang;

/// `[source]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// Transaction files, directories or globs (relative to the config file).
    pub transactions: Vec<PathBuf>,
    /// `utf-8` (BOM detected), `gbk` or `gb18030`.
    pub encoding: String,
    /// One character, `tab` or `whitespace`.
    pub delimiter: String,
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
    #[serde(skip_serializing_if = "is_decimal_point")]
    pub decimal: String,
}

fn is_decimal_point(s: &str) -> bool {
    s == "."
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            transactions: Vec::new(),
            encoding: "utf-8".into(),
            delimiter: ",".into(),
            no_header: false,
            attributes: None,
            satisfaction: None,
            satisfaction_score: "score".into(),
            leads: None,
            decimal: ".".into(),
        }
    }
}

/// `[columns]`: input column names. Unset optional columns are used when a file has a column
/// of the default name; set ones must exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeConfig {
    /// The analysis date; default = the last order date in the data.
    pub as_of: Option<Day>,
    /// CLV-convention time unit: days, weeks (default) or months (30 days).
    pub unit: TimeUnit,
    /// End of the calibration period for `validate`.
    pub calibration_end: Option<Day>,
}

/// `[output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// `parquet`, `csv` or `both`.
    pub format: String,
    /// Language of segment labels and actions: `zh` or `en`.
    pub lang: Lang,
    /// Write `segments/<scheme>/<grade>.csv` target lists.
    pub target_lists: bool,
    /// Compression of `customers.parquet`: `zstd` (smallest), `snappy` or `lz4` (faster to
    /// write, about 40 % larger), `none`. Left out of the serialized config when it is the
    /// default, so that configs hash as they did before it existed.
    #[serde(skip_serializing_if = "is_default_compression")]
    pub parquet_compression: String,
}

const DEFAULT_COMPRESSION: &str = "zstd";

fn is_default_compression(c: &str) -> bool {
    c == DEFAULT_COMPRESSION
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            format: "both".into(),
            lang: Lang::Zh,
            target_lists: true,
            parquet_compression: DEFAULT_COMPRESSION.into(),
        }
    }
}

impl Config {
    /// Parses a config from TOML text; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, EngineError> {
        toml::from_str(text).map_err(|e| EngineError::Config {
            path: origin.to_string(),
            message: e.to_string(),
        })
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
        let mut c = self.clone();
        c.source.transactions.clear();
        c.time.as_of = None;
        // settings that do not change grades, scores or stages
        c.time.calibration_end = None;
        c.output.format = String::new();
        c.output.target_lists = true;
        c.output.parquet_compression = DEFAULT_COMPRESSION.into();
        // JSON, not TOML: TOML cannot serialize every shape (e.g. nested arrays of tables).
        let text = serde_json::to_string(&c).unwrap_or_default();
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }

    /// The ingest options this config describes.
    pub fn ingest_options(&self) -> Result<IngestOptions, EngineError> {
        let s = &self.source;
        let mut o = IngestOptions::new(s.transactions.clone());
        o.csv = CsvOptions {
            encoding: s
                .encoding
                .parse::<Encoding>()
                .map_err(EngineError::InvalidConfig)?,
            delimiter: s
                .delimiter
                .parse::<Delimiter>()
                .map_err(EngineError::InvalidConfig)?,
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
        o.decimal_comma = match s.decimal.as_str() {
            "." => false,
            "," => true,
            other => {
                return Err(EngineError::InvalidConfig(format!(
                    "[source] decimal `{other}`: use \".\" (12.50) or \",\" (12,50)"
                )));
            }
        };
        o.as_of = self.time.as_of;
        o.unit = self.time.unit;
        o.attributes = s.attributes.clone();
        o.satisfaction = s.satisfaction.clone();
        o.satisfaction_score = s.satisfaction_score.clone();
        o.leads = s.leads.clone();
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
