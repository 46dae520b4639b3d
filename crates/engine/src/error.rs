//! The engine's error type.

use std::path::PathBuf;

use clientele_core::Note;

/// Why an analysis could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Reading or aggregating the input failed.
    #[error(transparent)]
    Ingest(#[from] clientele_ingest::IngestError),
    /// The aggregation on the cluster (`[engine] cluster`) failed, or this build has no
    /// cluster engine.
    /// (Boxed: its messages carry the scheduler, the step and the staging folder, which
    /// would make every engine result larger.)
    #[error(transparent)]
    Distributed(Box<clientele_distributed::DistributedError>),
    /// The config file is not valid TOML or has unknown/mistyped keys.
    #[error("{path}: {message}")]
    Config {
        /// The config file (or `<config>` for a string).
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A config value that parses but makes no sense.
    #[error("config: {0}")]
    InvalidConfig(String),
    /// Writing outputs failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a Parquet or CSV output failed.
    #[error("{}: {reason}", path.display())]
    Output {
        /// The path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The output destination is something clientele must not replace (the user's own
    /// file or folder, or a folder holding an input).
    #[error("--out {}: {}: {}", out.display(), reason.en, fix.en)]
    OutputRefused {
        /// The destination as given.
        out: PathBuf,
        /// What is there, in both languages.
        reason: clientele_core::Note,
        /// What to do instead.
        fix: clientele_core::Note,
    },
    /// A file given as a run's `summary.json` is not one.
    #[error("not a clientele summary.json: {reason}")]
    NotASummary {
        /// What is wrong with it.
        reason: String,
    },
    /// A `summary.json` of a schema version this clientele does not read.
    #[error(
        "summary.json has schema_version {found}; this clientele reads {} to {}: {fix}",
        crate::OLDEST_READABLE_VERSION,
        crate::SCHEMA_VERSION
    )]
    SummaryVersion {
        /// The version found.
        found: u32,
        /// What to do.
        fix: &'static str,
    },
    /// The CLV model could not be fitted or used (the CLV step, holdout validation).
    #[error("clv: {0}")]
    Clv(#[from] clientele_clv::ClvError),
    /// RFM scoring: a bad `[rfm]` setting, or scores the customer table cannot give.
    #[error("rfm: {0}")]
    Rfm(#[from] clientele_rfm::RfmError),
    /// A grading scheme or the value tiers.
    #[error("grade: {0}")]
    Grade(#[from] clientele_grade::GradeError),
    /// K-means segmentation.
    #[error("cluster: {0}")]
    Cluster(#[from] clientele_cluster::ClusterError),
    /// Lifecycle stages, monthly trends or cohorts.
    #[error("lifecycle: {0}")]
    Lifecycle(#[from] clientele_lifecycle::LifecycleError),
    /// Two runs that cannot be compared (`compare`, `analyze --previous`).
    #[error("compare: {0}")]
    Compare(#[source] clientele_lifecycle::LifecycleError),
    /// Two runs made with different settings (`compare`, `analyze --previous`): which settings
    /// differ, key by key, and what to do.
    #[error("compare: {0}")]
    RunsDiffer(String),
    /// Behaviour analysis (distributions, categories, breakdowns, seasonality).
    #[error("behaviour: {0}")]
    Behaviour(#[from] clientele_behaviour::BehaviourError),
    /// Reading or adding a customer-table column the engine itself manages.
    #[error("customer table: {0}")]
    Table(#[from] clientele_core::CoreError),
    /// A folder given as a finished run that is not one (`clientele serve`, `export`).
    #[error("{}: not a clientele analysis: {reason}", dir.display())]
    NotARun {
        /// The folder as given.
        dir: PathBuf,
        /// What is wrong, and what to give instead.
        reason: String,
    },
    /// A filter or sort over the customer table that does not parse or names no column.
    /// (Boxed: worded in both languages it is the largest error, and would make every engine
    /// result larger.)
    #[error("filter `{}`: {}: {}", .0.filter.en, .0.message.en, .0.fix.en)]
    Filter(Box<BadFilter>),
    /// Customers given to be scored with a finished run's models and rules
    /// ([`crate::Scorer`]) that they cannot score: missing or mistyped columns, values out of
    /// range, settings that are not the run's.
    #[error("score: {0}")]
    Score(#[from] crate::ScoreError),
    /// A selection of customers that names no scheme or grade of the run, or a grade without
    /// its scheme.
    #[error("{}: {}", message.en, fix.en)]
    Selection {
        /// What is wrong.
        message: Note,
        /// How to fix it.
        fix: Note,
        /// The scheme or grade does not exist (as opposed to a malformed selection).
        not_found: bool,
    },
    /// A state the engine's own invariants rule out: a bug in clientele, not a problem
    /// with the input.
    #[error("internal: {0}")]
    Internal(String),
}

/// A filter or sort the customer table cannot answer ([`EngineError::Filter`]), each part
/// worded in both languages so that a run or page in Chinese says it in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFilter {
    /// The filter (or sort) as given, clipped, with its length said in each language.
    pub filter: Note,
    /// A sort (`--sort`, `sort=`), not a condition: said so in Chinese.
    pub sort: bool,
    /// What is wrong.
    pub message: Note,
    /// How to fix it.
    pub fix: Note,
}

impl BadFilter {
    /// What the text is, in Chinese (筛选条件 or 排序).
    pub fn what_zh(&self) -> &'static str {
        if self.sort { "排序" } else { "筛选条件" }
    }
}

/// Whose fault an error is, and so what the person who ran clientele can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bad input, config or flags: fix them and run again.
    User,
    /// The data does not allow the step (too few customers, no repeat purchases, a model the
    /// data do not identify…): the rest of the analysis stands; more or other data, or another
    /// model, may allow it.
    Data,
    /// A bug in clientele (an invariant broken): report it.
    Internal,
}

impl EngineError {
    /// Whose fault the error is.
    ///
    /// The model crates' errors are classified as the engine calls them: it derives their
    /// inputs (frequency, recency, T, monetary value, activity, categories) from validated
    /// transactions, so an input rule broken there is the engine's bug ([`Fault::Internal`]);
    /// their settings come from the config ([`Fault::User`]); what the data cannot support is
    /// [`Fault::Data`]. A CLV fit that does not converge, runs a parameter off or has no
    /// positive-definite information matrix is [`Fault::Data`]: on inputs that passed the
    /// model's checks it means the data do not identify the model, and the message says what
    /// to try (a penalizer, a longer period, a simpler model). Variants a model crate adds
    /// later count as [`Fault::User`] until classified here.
    pub fn fault(&self) -> Fault {
        use clientele_behaviour::BehaviourError as B;
        use clientele_cluster::ClusterError as K;
        use clientele_clv::ClvError as C;
        use clientele_grade::GradeError as G;
        use clientele_ingest::IngestError as I;
        use clientele_lifecycle::LifecycleError as L;
        use clientele_rfm::RfmError as R;
        match self {
            EngineError::Internal(_) => Fault::Internal,
            EngineError::Ingest(e) => match e {
                I::Engine(_) => Fault::Internal,
                _ => Fault::User,
            },
            EngineError::Distributed(e) => match e.as_ref() {
                clientele_distributed::DistributedError::Internal { .. }
                | clientele_distributed::DistributedError::Ingest(I::Engine(_)) => Fault::Internal,
                _ => Fault::User,
            },
            EngineError::Config { .. }
            | EngineError::InvalidConfig(_)
            | EngineError::NotARun { .. }
            | EngineError::Score(_)
            | EngineError::Filter(_)
            | EngineError::Selection { .. }
            | EngineError::Io { .. }
            | EngineError::Output { .. }
            | EngineError::OutputRefused { .. }
            | EngineError::NotASummary { .. }
            | EngineError::RunsDiffer(_)
            | EngineError::SummaryVersion { .. } => Fault::User,
            EngineError::Clv(e) => match e {
                C::Empty
                | C::NoRepeatPurchases { .. }
                | C::ZeroObservationTime { .. }
                | C::TooFewCustomers { .. }
                | C::NoPositiveSpend { .. }
                | C::FitFailed { .. }
                // parameters estimated from the data, outside what the model can use (a spend
                // distribution without a finite mean)
                | C::InvalidParameter { .. } => Fault::Data,
                // BG/BB with a unit that makes periods fractional; penalizer, horizon, discount
                C::DiscreteRule { .. } | C::InvalidArgument { .. } => Fault::User,
                C::LengthMismatch { .. }
                | C::NonFinite { .. }
                | C::NegativeFrequency { .. }
                | C::NonIntegerFrequency { .. }
                | C::NegativeRecency { .. }
                | C::RecencyAboveT { .. }
                | C::ZeroFrequencyNonZeroRecency { .. }
                | C::BadWeight { .. } => Fault::Internal,
                _ => Fault::User,
            },
            EngineError::Rfm(e) => match e {
                // scores of the engine's own columns: recency_days, orders, monetary
                R::NonFinite { .. }
                | R::Missing { .. }
                | R::Length { .. }
                | R::DuplicateId(_)
                | R::Core(_) => Fault::Internal,
                _ => Fault::User,
            },
            EngineError::Grade(e) => match e {
                // a scheme applied to the table it was compiled for
                G::Table { .. } => Fault::Internal,
                _ => Fault::User,
            },
            EngineError::Cluster(e) => match e {
                K::TooFewCustomers { .. }
                | K::AllFeaturesConstant(_)
                | K::TooFewDistinct { .. }
                // a feature from a side table holding an infinity
                | K::NonFinite { .. } => Fault::Data,
                K::Shape { .. } | K::Width { .. } => Fault::Internal,
                // settings, and features naming a column the table lacks
                _ => Fault::User,
            },
            EngineError::Lifecycle(e) | EngineError::Compare(e) => match e {
                // stage inputs, activity and cohorts are built by the engine
                L::AsOfBeforeLastPurchase { .. }
                | L::Core(_)
                | L::BadCustomer { .. }
                | L::UnknownCustomer { .. }
                | L::ActivityBeforeFirstPurchase { .. }
                | L::AfterThrough { .. }
                | L::NonFinite { .. } => Fault::Internal,
                // settings, and the snapshots given to compare
                _ => Fault::User,
            },
            EngineError::Behaviour(e) => match e {
                // a dimension from a side table holding an infinity
                B::NotFinite { .. } => Fault::Data,
                // customer categories and seasonality are built by the engine
                B::CustomerOutOfRange { .. }
                | B::CategoryOutOfRange { .. }
                | B::Unsorted { .. }
                | B::CategoryRevenue { .. }
                | B::SeasonalityRevenue { .. } => Fault::Internal,
                // settings, and dimensions naming a column the table lacks or cannot group
                _ => Fault::User,
            },
            EngineError::Table(e) => match e {
                clientele_core::CoreError::BadDate { .. }
                | clientele_core::CoreError::UnknownTimeUnit(_)
                | clientele_core::CoreError::UnknownLang(_) => Fault::User,
                // the spill folder's disk (full, gone, unwritable), as for any file written
                clientele_core::CoreError::Store { .. } => Fault::User,
                // the columns the engine reads and adds itself
                _ => Fault::Internal,
            },
        }
    }

    /// The message without the step prefix: a model step's error in the model crate's own
    /// words (what a [`crate::Step`] keeps), any other error as displayed.
    pub fn reason(&self) -> String {
        match self {
            EngineError::Clv(e) => e.to_string(),
            EngineError::Rfm(e) => e.to_string(),
            EngineError::Grade(e) => e.to_string(),
            EngineError::Cluster(e) => e.to_string(),
            EngineError::Lifecycle(e) | EngineError::Compare(e) => e.to_string(),
            EngineError::Behaviour(e) => e.to_string(),
            EngineError::Table(e) => e.to_string(),
            other => other.to_string(),
        }
    }

    /// The message in Chinese where the crate it comes from words it so (reading the input,
    /// CLV, K-means, RFM, grading, lifecycle, the table's columns, a file), and for a filter,
    /// sort or selection of customers; `None` otherwise.
    pub fn zh(&self) -> Option<String> {
        match self {
            EngineError::Ingest(e) => Some(e.zh()),
            EngineError::Io { path, source } => Some(format!(
                "{}：{}",
                path.display(),
                clientele_ingest::io_zh(source)
            )),
            EngineError::Clv(e) => Some(format!("CLV：{}", e.zh())),
            EngineError::Cluster(e) => Some(format!("聚类：{}", e.zh())),
            EngineError::Rfm(e) => Some(format!("RFM：{}", e.zh())),
            EngineError::Grade(e) => Some(format!("分级：{}", e.zh())),
            EngineError::Lifecycle(e) => Some(format!("生命周期：{}", e.zh())),
            EngineError::Compare(e) => Some(format!("比较：{}", e.zh())),
            EngineError::Output { path, reason } => Some(format!(
                "{}：{}",
                path.display(),
                clientele_ingest::os_message_zh(reason)
            )),
            // the store's reason is the disk library's, with the system's error in it
            EngineError::Table(clientele_core::CoreError::Store { name, reason }) => {
                let store = clientele_core::CoreError::Store {
                    name: name.clone(),
                    reason: clientele_ingest::os_message_zh(reason),
                };
                Some(format!("客户表：{}", store.zh()))
            }
            EngineError::Table(e) => Some(format!("客户表：{}", e.zh())),
            EngineError::Score(e) => Some(format!("评分：{}", e.zh())),
            EngineError::Filter(f) => Some(format!(
                "{} `{}`：{}；{}",
                f.what_zh(),
                f.filter.zh,
                f.message.zh,
                f.fix.zh
            )),
            EngineError::Selection { message, fix, .. } => {
                Some(format!("{}；{}", message.zh, fix.zh))
            }
            EngineError::OutputRefused { out, reason, fix } => Some(format!(
                "--out {}：{}：{}",
                out.display(),
                reason.zh,
                fix.zh
            )),
            _ => None,
        }
    }

    /// [`EngineError::reason`] in Chinese, for the model crates that word their errors in it
    /// (CLV, K-means, RFM, grading, lifecycle, the table's columns, a behaviour dimension that
    /// is not finite), and for a filter, sort or selection or a score request (as
    /// [`EngineError::zh`]).
    pub fn reason_zh(&self) -> Option<String> {
        match self {
            EngineError::Clv(e) => Some(e.zh()),
            EngineError::Cluster(e) => Some(e.zh()),
            EngineError::Rfm(e) => Some(e.zh()),
            EngineError::Grade(e) => Some(e.zh()),
            EngineError::Lifecycle(e) | EngineError::Compare(e) => Some(e.zh()),
            EngineError::Table(e) => Some(e.zh()),
            EngineError::Behaviour(clientele_behaviour::BehaviourError::NotFinite {
                column,
                row,
            }) => Some(format!("列 `{column}`：客户第 {row} 行不是有限数")),
            EngineError::Filter(_) | EngineError::Selection { .. } | EngineError::Score(_) => {
                self.zh()
            }
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<clientele_distributed::DistributedError> for EngineError {
    fn from(e: clientele_distributed::DistributedError) -> Self {
        EngineError::Distributed(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Step;
    use clientele_clv::ClvError;

    #[test]
    fn each_error_says_whose_fault_it_is() {
        let data = EngineError::from(ClvError::NoRepeatPurchases { customers: 200 });
        assert_eq!(data.fault(), Fault::Data);
        let fit = EngineError::from(ClvError::FitFailed {
            model: "bg_nbd",
            reason: clientele_clv::FitTrouble::NoConvergence {
                iterations: 1000,
                gradient: 0.5,
            },
            hint: clientele_clv::FitHint::Penalizer,
        });
        assert_eq!(fit.fault(), Fault::Data);
        let config = EngineError::from(ClvError::InvalidArgument {
            name: "penalizer",
            value: -1.0,
            rule: "must be finite and >= 0",
        });
        assert_eq!(config.fault(), Fault::User);
        let bug = EngineError::from(ClvError::RecencyAboveT { count: 3 });
        assert_eq!(bug.fault(), Fault::Internal);
        let missing = clientele_core::CoreError::MissingColumn {
            name: "recency_days".into(),
            available: String::new(),
        };
        assert_eq!(EngineError::from(missing.clone()).fault(), Fault::Internal);
        // the same missing column named in `[cluster] features` is the user's to fix
        let feature = EngineError::from(clientele_cluster::ClusterError::Table(missing));
        assert_eq!(feature.fault(), Fault::User);
        let ingest = |e| EngineError::from(e).fault();
        assert_eq!(
            ingest(clientele_ingest::IngestError::Engine("x".into())),
            Fault::Internal
        );
        assert_eq!(
            ingest(clientele_ingest::IngestError::TooLarge("x".into())),
            Fault::User
        );
        assert_eq!(EngineError::Internal("x".into()).fault(), Fault::Internal);
        // a full disk under the spill folder is not a bug to report
        let store = clientele_core::CoreError::Store {
            name: "lifecycle_stage".into(),
            reason: "Io error: No space left on device (os error 28)".into(),
        };
        assert_eq!(EngineError::from(store).fault(), Fault::User);
    }

    /// A full disk, said in Chinese in a zh run, for an output file and for the table kept
    /// on disk alike (the library's words kept after it).
    #[test]
    fn a_full_disk_is_said_in_chinese() {
        let words = "External: No space left on device (os error 28)";
        let output = EngineError::Output {
            path: "out/customers.parquet".into(),
            reason: words.into(),
        };
        assert_eq!(
            output.zh().as_deref(),
            Some(format!("out/customers.parquet：磁盘已满（{words}）").as_str())
        );
        let store = EngineError::from(clientele_core::CoreError::Store {
            name: "lifecycle_stage".into(),
            reason: words.into(),
        });
        let zh = store.zh().unwrap_or_default();
        assert!(
            zh.starts_with("客户表：保存在磁盘上的客户表：列 `lifecycle_stage`：磁盘已满（"),
            "{zh}"
        );
    }

    #[test]
    fn a_step_keeps_the_model_crates_words_skipped_or_failed_by_fault() {
        let words = "no customer bought more than once (200 customers): the purchase models need \
                     repeat purchases";
        let e = EngineError::from(ClvError::NoRepeatPurchases { customers: 200 });
        assert_eq!(e.to_string(), format!("clv: {words}"));
        assert_eq!(
            Step::<()>::of(Err(e)),
            Step::Skipped {
                reason: words.into(),
                reason_zh: Some(
                    "没有客户购买过一次以上（共 200 位客户）：购买模型需要重复购买".into()
                ),
            }
        );
        assert_eq!(
            Step::<()>::of(Err(EngineError::from(ClvError::NoRepeatPurchases {
                customers: 200
            })))
            .problem_in(clientele_core::Lang::Zh),
            Some("没有客户购买过一次以上（共 200 位客户）：购买模型需要重复购买")
        );
        let e = EngineError::from(clientele_rfm::RfmError::Bins {
            metric: "r",
            bins: 12,
        });
        assert_eq!(
            e.to_string(),
            "rfm: rfm.r: bins must be between 2 and 9, got 12"
        );
        assert_eq!(
            Step::<()>::of(Err(e)),
            Step::Failed {
                error: "rfm.r: bins must be between 2 and 9, got 12".into(),
                error_zh: Some("rfm.r：bins 应在 2 到 9 之间，实际为 12".into()),
            }
        );
    }
}
