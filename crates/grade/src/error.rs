//! The crate's one error type. Every variant that comes from a scheme names it (and the rule),
//! so a message printed far from the config still says where to look. The messages are
//! English ([`std::fmt::Display`]) and Chinese ([`GradeError::zh`]).

use clientele_core::{CoreError, Lang, Note};

use crate::check::Diagnostic;

/// Errors from reading, checking, compiling or applying grading schemes and value tiers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GradeError {
    /// The TOML text does not parse or has unknown/mistyped keys. toml's message carries the
    /// line, the column and the offending key.
    #[error("grading config: {0}")]
    Toml(#[from] toml::de::Error),
    /// A scheme failed its static checks; every error-level diagnostic is listed.
    #[error("scheme `{scheme}` is invalid:\n{}", render(.diagnostics))]
    Invalid {
        /// The scheme's name.
        scheme: String,
        /// The error-level findings (warnings are not listed here).
        diagnostics: Vec<Diagnostic>,
    },
    /// A scheme names a preset that does not exist.
    #[error("scheme `{scheme}`: unknown preset `{preset}`; presets are: {available}")]
    UnknownPreset {
        /// The scheme's name.
        scheme: String,
        /// The preset asked for.
        preset: String,
        /// Comma-separated preset names.
        available: String,
    },
    /// A preset parameter that the preset does not have.
    #[error(
        "scheme `{scheme}`: preset `{preset}` has no parameter `{param}`; parameters are: {available}"
    )]
    UnknownParam {
        /// The scheme's name.
        scheme: String,
        /// The preset.
        preset: String,
        /// The parameter given.
        param: String,
        /// Comma-separated parameter names.
        available: String,
    },
    /// A preset scheme that also sets keys a preset defines (rules, a different mode), or a bad
    /// parameter value.
    #[error("scheme `{scheme}`: {}", message.en)]
    Preset {
        /// The scheme's name.
        scheme: String,
        /// What is wrong and how to fix it.
        message: Note,
    },
    /// The table given to `apply`/`preview` lacks a column the scheme was compiled for, or its type
    /// changed since compilation.
    #[error("scheme `{scheme}`, {rule}: {source}")]
    Table {
        /// The scheme's name.
        scheme: String,
        /// Which rule needed the column, e.g. ``rule 1 (`VIP`)``, or `grid axes`.
        rule: String,
        /// What is wrong with the table.
        source: CoreError,
    },
    /// A scheme compiled with given statistics ([`crate::compile_with_stats`]) uses one they
    /// do not hold.
    #[error(
        "scheme `{scheme}`: the value of `{stat}` is not known (the run that graded with it did \
         not record it; rerun the analysis with this clientele)"
    )]
    UnresolvedStat {
        /// The scheme's name.
        scheme: String,
        /// The statistic as written, e.g. `p80(monetary)`.
        stat: String,
    },
    /// Bad value-tier settings (cut-offs out of order or outside (0, 1]).
    #[error("value tiers: {}", .0.en)]
    ValueTier(Note),
}

impl GradeError {
    /// The message in Chinese, for a run in Chinese (the English is [`std::fmt::Display`]).
    /// What a library words only in English (toml's parse error) is quoted as it said it, and
    /// so is the table's problem in [`GradeError::Table`] (a bug in clientele, not the
    /// config's).
    pub fn zh(&self) -> String {
        use GradeError as E;
        match self {
            E::Toml(e) => format!("分级配置：{e}"),
            E::Invalid {
                scheme,
                diagnostics,
            } => format!(
                "方案 `{scheme}` 无效：\n{}",
                render_in(diagnostics, Lang::Zh)
            ),
            E::UnknownPreset {
                scheme,
                preset,
                available,
            } => format!("方案 `{scheme}`：未知的预设 `{preset}`；可用的预设：{available}"),
            E::UnknownParam {
                scheme,
                preset,
                param,
                available,
            } => format!(
                "方案 `{scheme}`：预设 `{preset}` 没有参数 `{param}`；可用的参数：{available}"
            ),
            E::Preset { scheme, message } => format!("方案 `{scheme}`：{}", message.zh),
            E::Table {
                scheme,
                rule,
                source,
            } => format!("方案 `{scheme}`，{rule}：{}", source.zh()),
            E::UnresolvedStat { scheme, stat } => format!(
                "方案 `{scheme}`：`{stat}` 的值未知（用它分级的那次运行没有记录它；请用这个版本的 \
                 clientele 重新运行分析）"
            ),
            E::ValueTier(m) => format!("价值分层：{}", m.zh),
        }
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    render_in(diagnostics, Lang::En)
}

fn render_in(diagnostics: &[Diagnostic], lang: Lang) -> String {
    diagnostics
        .iter()
        .map(|d| d.to_string_in(lang))
        .collect::<Vec<_>>()
        .join("\n")
}
