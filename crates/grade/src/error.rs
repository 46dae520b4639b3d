//! The crate's one error type. Every variant that comes from a scheme names it (and the rule),
//! so a message printed far from the config still says where to look.

use clientele_core::CoreError;

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
    #[error("scheme `{scheme}`: {message}")]
    Preset {
        /// The scheme's name.
        scheme: String,
        /// What is wrong and how to fix it.
        message: String,
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
    #[error("value tiers: {0}")]
    ValueTier(String),
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
