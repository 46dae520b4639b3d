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
    pub spend: SpendModel,
    /// CLV and expected-purchases horizon in months.
    pub horizon_months: u32,
    /// Discount rate per month.
    pub monthly_discount: f64,
    /// Month length: `lifetimes` (30 days / 4.345 weeks, for parity) or `30days`.
    pub month: MonthLength,
    /// L2 penalty on the log-parameters (0 = plain maximum likelihood).
    pub penalizer: f64,
}

impl Default for ClvConfig {
    fn default() -> Self {
        ClvConfig {
            enabled: true,
            model: clientele_clv::ModelKind::BgNbd,
            spend: SpendModel::GammaGamma,
            horizon_months: 12,
            monthly_discount: 0.01,
            month: MonthLength::Lifetimes,
            penalizer: 0.0,
        }
    }
}

/// `[clv] spend`: the model of the money per purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpendModel {
    /// Gamma-Gamma (Fader, Hardie & Lee 2005); CLV needs it.
    #[default]
    GammaGamma,
    /// No spend model: expected purchases only, no CLV.
    None,
}

/// `[clv] month`: how many model time units make the month of the CLV horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// `customers.parquet` only.
    Parquet,
    /// `customers.csv` only.
    Csv,
    /// Both.
    #[default]
    Both,
}

/// `[output] parquet_compression`: compression of `customers.parquet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub format: OutputFormat,
    /// Language of segment labels and actions: `zh` or `en`.
    pub lang: Lang,
    /// Write `segments/<scheme>/<grade>.csv` target lists.
    pub target_lists: bool,
    /// Compression of `customers.parquet`: `zstd` (smallest), `snappy` or `lz4` (faster to
    /// write, about 40 % larger), `none`.
    pub parquet_compression: ParquetCompression,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            format: OutputFormat::Both,
            lang: Lang::Zh,
            target_lists: true,
            parquet_compression: ParquetCompression::Zstd,
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
        } = self;
        let OutputConfig {
            format: _,
            lang,
            target_lists: _,
            parquet_compression: _,
        } = output;
        let hashed = Hashed {
            // what is read and when do not change how it is graded
            source: SourceConfig {
                transactions: Vec::new(),
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
        let text = serde_json::to_string(&hashed).unwrap_or_default();
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }

    /// The ingest options this config describes.
    pub fn ingest_options(&self) -> Result<IngestOptions, EngineError> {
        let s = &self.source;
        let mut o = IngestOptions::new(s.transactions.clone());
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
                "expected one of `parquet`, `csv`, `both`",
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
    #[test]
    fn hashes_are_those_of_the_string_settings() {
        assert_eq!(Config::default().hash(), "61457c3b4553");
        for (text, hash) in [
            ("", "61457c3b4553"),
            (crate::config_check::DEFAULT_CONFIG, "48391f6178ac"),
            ("[clv]\nspend = \"none\"", "7009bcb72f1e"),
            ("[clv]\nmonth = \"30days\"", "9ae0143c7f94"),
            ("[output]\nformat = \"csv\"", "61457c3b4553"),
            ("[output]\nparquet_compression = \"snappy\"", "61457c3b4553"),
            ("[source]\nencoding = \"gbk\"", "f089c4794211"),
            ("[source]\nencoding = \"GBK\"", "85c2e04aa953"),
            ("[source]\nencoding = \"latin1\"", "8399e703df77"),
            ("[source]\ndelimiter = \"tab\"", "eb477dd11dbc"),
            ("[source]\ndelimiter = \";\"", "c570111fca06"),
            ("[source]\ndecimal = \",\"", "a5e355acdfc2"),
            ("[source]\nsatisfaction_score = \"nps\"", "915a0da50c88"),
            (
                "[source]\nencoding = \"GBK\"\ndelimiter = \"tab\"\ndecimal = \",\"\n\
                 [clv]\nspend = \"none\"\nmonth = \"30days\"\n\
                 [output]\nformat = \"csv\"\nparquet_compression = \"none\"\nlang = \"en\"\n",
                "e11caf812a71",
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
