//! Static checks of grading schemes before any customer is graded: unknown columns, type errors,
//! unparsable conditions, missing defaults, duplicate names, and — for rules over integer score
//! columns with known ranges — unreachable rules and uncovered grid cells, found by enumerating
//! every cell. Each finding names the scheme, the rule (1-based index and grade) and a fix.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::expr::{self, ExprIssue};
use crate::schema::{ColumnType, TableSchema};
use crate::scheme::{self, Mode, SchemeConfig};

/// How bad a finding is: errors stop compilation, warnings are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The scheme cannot be used.
    Error,
    /// The scheme works but is probably not what was meant.
    Warning,
}

/// What kind of finding, for programs that filter them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// The scheme's structure (mode-specific keys, names, ranges).
    Config,
    /// A preset name or parameter.
    Preset,
    /// A condition does not parse.
    Parse,
    /// A condition is longer or nests deeper than the limits (see [`crate::expr::MAX_DEPTH`]).
    Limit,
    /// A condition names a column the table does not have.
    UnknownColumn,
    /// A condition mixes types.
    Type,
    /// A `first_match` scheme without `default`.
    MissingDefault,
    /// Two schemes, grades or tiers share a name.
    Duplicate,
    /// A rule can never take a customer: earlier rules take all its cells.
    Unreachable,
    /// A rule's condition holds on no cell at all.
    NeverMatches,
    /// Grid cells no rule covers.
    Uncovered,
    /// A key that this mode ignores.
    Ignored,
}

/// Which rule a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RuleRef {
    /// 1-based position in the scheme's `rules`.
    pub index: usize,
    /// Its grade (or, for unnamed points rules, its condition).
    pub grade: String,
}

impl RuleRef {
    /// From a 0-based index.
    pub fn new(i: usize, grade: String) -> RuleRef {
        RuleRef {
            index: i + 1,
            grade,
        }
    }
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {} (`{}`)", self.index, self.grade)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What kind.
    pub kind: Kind,
    /// The scheme.
    pub scheme: String,
    /// The rule, when the finding is about one.
    pub rule: Option<RuleRef>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(
        kind: Kind,
        scheme: &str,
        rule: Option<RuleRef>,
        message: String,
        fix: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            kind,
            scheme: scheme.to_string(),
            rule,
            message,
            fix,
        }
    }

    /// A warning.
    pub fn warning(
        kind: Kind,
        scheme: &str,
        rule: Option<RuleRef>,
        message: String,
        fix: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(kind, scheme, rule, message, fix)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: scheme `{}`", self.scheme)?;
        if let Some(r) = &self.rule {
            write!(f, ", {r}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

/// Largest grid the checks enumerate (cells); bigger products are skipped.
const MAX_CELLS: usize = 100_000;
/// How many uncovered cells a message lists.
const MAX_LISTED: usize = 10;

/// Checks several schemes: each one, plus duplicate scheme names.
pub fn check_all(schemes: &[SchemeConfig], schema: &TableSchema) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, s) in schemes.iter().enumerate() {
        if let Some(j) = schemes[..i].iter().position(|p| p.name == s.name) {
            out.push(Diagnostic::error(
                Kind::Duplicate,
                &s.name,
                None,
                format!(
                    "scheme {} has the same name as scheme {}; both would write column `{}`",
                    i + 1,
                    j + 1,
                    s.column()
                ),
                Some("give every [[scheme]] its own `name`".to_string()),
            ));
        }
        out.extend(check(s, schema));
    }
    out
}

/// Checks one scheme against the columns of a table. Errors mean the scheme cannot be compiled.
pub fn check(config: &SchemeConfig, schema: &TableSchema) -> Vec<Diagnostic> {
    let name = config.name.as_str();
    let mut out = Vec::new();
    if name.trim().is_empty() {
        out.push(Diagnostic::error(
            Kind::Config,
            name,
            None,
            "the scheme has an empty `name`".to_string(),
            Some("set `name = \"...\"`; the output column is `grade_<name>`".to_string()),
        ));
    }
    let cfg = match config.expanded() {
        Ok(c) => c,
        Err(e) => {
            use crate::error::GradeError as E;
            let (message, fix) = match e {
                E::UnknownPreset {
                    preset, available, ..
                } => (
                    format!("unknown preset `{preset}`"),
                    format!("use one of the presets: {available}"),
                ),
                E::UnknownParam {
                    preset,
                    param,
                    available,
                    ..
                } => (
                    format!("preset `{preset}` has no parameter `{param}`"),
                    format!("use one of its parameters: {available}"),
                ),
                E::Preset { message, .. } => (message, "see the preset's documentation".into()),
                other => (other.to_string(), "fix the preset settings".into()),
            };
            out.push(Diagnostic::error(
                Kind::Preset,
                name,
                None,
                message,
                Some(fix),
            ));
            return out;
        }
    };
    let mode = cfg.mode();
    structure(&cfg, mode, &mut out);
    let mut parsed: Vec<Option<expr::Expr>> = Vec::new();
    for (i, r) in cfg.rules.iter().enumerate() {
        parsed.push(rule(&cfg, mode, i, &r.when, schema, &mut out));
    }
    duplicates(&cfg, mode, &mut out);
    if parsed.iter().all(Option::is_some) && !cfg.rules.is_empty() {
        let parsed: Vec<expr::Expr> = parsed.into_iter().flatten().collect();
        grid_checks(&cfg, mode, &parsed, schema, &mut out);
    }
    out
}

/// Mode-specific keys.
fn structure(cfg: &SchemeConfig, mode: Mode, out: &mut Vec<Diagnostic>) {
    let name = cfg.name.as_str();
    let err = |m: String, fix: &str| {
        Diagnostic::error(Kind::Config, name, None, m, Some(fix.to_string()))
    };
    let ignored = |key: &str| {
        Diagnostic::warning(
            Kind::Ignored,
            name,
            None,
            format!("`{key}` is ignored in mode `{}`", mode.name()),
            Some(format!("remove `{key}` or change `mode`")),
        )
    };
    if mode == Mode::FirstMatch && cfg.default.is_none() {
        out.push(Diagnostic::error(
            Kind::MissingDefault,
            name,
            None,
            "mode `first_match` needs a `default` grade for customers no rule matches".to_string(),
            Some("add e.g. `default = \"普通客户\"` to the scheme".to_string()),
        ));
    }
    if cfg.rules.is_empty() && mode != Mode::Points {
        out.push(err(
            "the scheme has no rules".to_string(),
            "add `rules = [{ grade = \"...\", when = \"...\" }]`",
        ));
    }
    for (i, r) in cfg.rules.iter().enumerate() {
        let rr = Some(RuleRef::new(i, cfg.rule_label(i)));
        match mode {
            Mode::Points => {
                if r.points.is_none_or(|p| !p.is_finite()) {
                    out.push(Diagnostic::error(
                        Kind::Config,
                        name,
                        rr,
                        "a `points` rule needs a finite `points` value".to_string(),
                        Some("add e.g. `points = 10` to the rule".to_string()),
                    ));
                }
            }
            _ => {
                if r.grade.as_deref().is_none_or(|g| g.trim().is_empty()) {
                    out.push(Diagnostic::error(
                        Kind::Config,
                        name,
                        rr,
                        "the rule has no `grade`".to_string(),
                        Some("add `grade = \"...\"` to the rule".to_string()),
                    ));
                } else if r.points.is_some() {
                    out.push(Diagnostic::warning(
                        Kind::Ignored,
                        name,
                        rr,
                        format!("`points` is ignored in mode `{}`", mode.name()),
                        Some("remove `points` or use `mode = \"points\"`".to_string()),
                    ));
                }
            }
        }
    }
    if mode != Mode::Grid {
        if !cfg.axes.is_empty() {
            out.push(ignored("axes"));
        }
        if cfg.range.is_some() {
            out.push(ignored("range"));
        }
    }
    if mode != Mode::Points && !cfg.tiers.is_empty() {
        out.push(ignored("tiers"));
    }
    if mode != Mode::Tags && cfg.separator.is_some() {
        out.push(ignored("separator"));
    }
    match mode {
        Mode::Grid => {
            if !(1..=3).contains(&cfg.axes.len()) {
                out.push(err(
                    format!("a grid needs 1 to 3 `axes`, got {}", cfg.axes.len()),
                    "set e.g. `axes = [\"r_score\", \"f_score\"]`",
                ));
            }
            if let Some([lo, hi]) = cfg.range
                && !grid_range_ok(lo, hi)
            {
                out.push(err(
                    format!("the grid `range` [{lo}, {hi}] must be ascending and span at most 100 values"),
                    "set e.g. `range = [1, 5]`",
                ));
            }
        }
        Mode::Points => {
            for t in cfg.tiers.iter().filter(|t| !t.min_points.is_finite()) {
                out.push(err(
                    format!(
                        "tier `{}` has min_points {}; it needs a finite `min_points`",
                        t.grade, t.min_points
                    ),
                    "set e.g. `min_points = 50`",
                ));
            }
            if cfg.tiers.is_empty() {
                out.push(err(
                    "a points scheme needs `tiers`".to_string(),
                    "add `tiers = [{ grade = \"金卡\", min_points = 50 }, ...]`",
                ));
            }
            let floor: f64 = cfg
                .rules
                .iter()
                .filter_map(|r| r.points)
                .filter(|p| *p < 0.0)
                .sum();
            let lowest = cfg
                .tiers
                .iter()
                .map(|t| t.min_points)
                .fold(f64::INFINITY, f64::min);
            if cfg.default.is_none() && !cfg.tiers.is_empty() && lowest > floor {
                out.push(err(
                    format!(
                        "customers with fewer than {lowest} points reach no tier and there is no `default`"
                    ),
                    "add `default = \"...\"` or a tier with `min_points = 0`",
                ));
            }
        }
        Mode::Tags => {
            let distinct = {
                let mut g: Vec<&str> = cfg
                    .rules
                    .iter()
                    .filter_map(|r| r.grade.as_deref())
                    .collect();
                g.extend(cfg.default.as_deref());
                g.sort_unstable();
                g.dedup();
                g.len()
            };
            if distinct > 64 {
                out.push(err(
                    format!("a tags scheme supports at most 64 distinct tags, got {distinct}"),
                    "split it into several schemes",
                ));
            }
        }
        Mode::FirstMatch => {}
    }
}

/// The diagnostic for a condition that does not parse (or is too large or deep).
pub(crate) fn parse_error(
    cfg: &SchemeConfig,
    i: usize,
    when: &str,
    e: &expr::ParseError,
) -> Diagnostic {
    Diagnostic::error(
        if e.is_limit() {
            Kind::Limit
        } else {
            Kind::Parse
        },
        &cfg.name,
        Some(RuleRef::new(i, cfg.rule_label(i))),
        format!("cannot parse `{}`: {e}", expr::clip(when, QUOTE)),
        Some(e.fix()),
    )
}

/// Longest quote of a condition in a message, in characters.
const QUOTE: usize = 120;

/// A grid range is ascending and spans at most 100 values (computed without overflow: the
/// bounds come from the config and may be anything an i64 holds).
fn grid_range_ok(lo: i64, hi: i64) -> bool {
    lo <= hi && i128::from(hi) - i128::from(lo) <= 99
}

/// Parses and type-checks one rule's condition.
fn rule(
    cfg: &SchemeConfig,
    mode: Mode,
    i: usize,
    when: &str,
    schema: &TableSchema,
    out: &mut Vec<Diagnostic>,
) -> Option<expr::Expr> {
    let name = cfg.name.as_str();
    let rr = || Some(RuleRef::new(i, cfg.rule_label(i)));
    let text = when;
    let when = expr::clip(text, QUOTE);
    let e = match expr::parse(text) {
        Ok(e) => expr::coerce_dates(e, schema),
        Err(m) => {
            out.push(parse_error(cfg, i, text, &m));
            return None;
        }
    };
    let issues = expr::type_check(&e, schema);
    let ok = issues.is_empty();
    for issue in issues {
        match issue {
            ExprIssue::UnknownColumn(c) => {
                let c = expr::clip(&c, 60);
                let available = schema.names().join(", ");
                let (hint, fix) = match schema.closest(&c) {
                    Some(s) => (
                        format!("; did you mean `{s}`?"),
                        format!("write `{s}` instead of `{c}`"),
                    ),
                    None => (
                        ".".to_string(),
                        "use one of the available columns, or add the column to the data"
                            .to_string(),
                    ),
                };
                out.push(Diagnostic::error(
                    Kind::UnknownColumn,
                    name,
                    rr(),
                    format!(
                        "unknown column `{c}` in `{when}`{hint} Available columns: {available}"
                    ),
                    Some(fix),
                ));
            }
            ExprIssue::Type(m) => out.push(Diagnostic::error(
                Kind::Type,
                name,
                rr(),
                m,
                Some("compare numbers with numbers and text with 'quoted text'".to_string()),
            )),
        }
    }
    if !ok {
        return None;
    }
    if mode == Mode::Grid {
        let outside: Vec<String> = expr::columns(&e)
            .into_iter()
            .filter(|c| !cfg.axes.contains(c))
            .collect();
        if !outside.is_empty() {
            out.push(Diagnostic::error(
                Kind::Config,
                name,
                rr(),
                format!(
                    "a grid rule may only use the axes ({}), but `{when}` uses {}",
                    cfg.axes.join(", "),
                    outside
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(
                    "move the condition to a `first_match` scheme or add the column to `axes`"
                        .to_string(),
                ),
            ));
            return None;
        }
        if expr::has_stat(&e) {
            out.push(Diagnostic::error(
                Kind::Config,
                name,
                rr(),
                format!("a grid rule cannot use statistics such as p80(...): `{when}`"),
                Some("compare the axes with fixed scores".to_string()),
            ));
            return None;
        }
    }
    Some(e)
}

fn duplicates(cfg: &SchemeConfig, mode: Mode, out: &mut Vec<Diagnostic>) {
    let name = cfg.name.as_str();
    if mode == Mode::Tags {
        for (i, r) in cfg.rules.iter().enumerate() {
            let Some(g) = &r.grade else { continue };
            if let Some(j) = cfg.rules[..i]
                .iter()
                .position(|p| p.grade.as_ref() == Some(g))
            {
                out.push(Diagnostic::warning(
                    Kind::Duplicate,
                    name,
                    Some(RuleRef::new(i, g.clone())),
                    format!(
                        "tag `{g}` is also given by rule {}; either condition adds it",
                        j + 1
                    ),
                    Some("merge the two conditions with OR".to_string()),
                ));
            }
        }
    }
    for (i, t) in cfg.tiers.iter().enumerate() {
        if let Some(j) = cfg.tiers[..i].iter().position(|p| p.grade == t.grade) {
            out.push(Diagnostic::error(
                Kind::Duplicate,
                name,
                None,
                format!(
                    "tier {} repeats the grade `{}` of tier {}",
                    i + 1,
                    t.grade,
                    j + 1
                ),
                Some("give every tier its own grade".to_string()),
            ));
        }
        if let Some(j) = cfg.tiers[..i]
            .iter()
            .position(|p| p.min_points == t.min_points)
        {
            out.push(Diagnostic::error(
                Kind::Duplicate,
                name,
                None,
                format!(
                    "tiers {} (`{}`) and {} (`{}`) have the same min_points {}",
                    j + 1,
                    cfg.tiers[j].grade,
                    i + 1,
                    t.grade,
                    t.min_points
                ),
                Some("give every tier its own min_points".to_string()),
            ));
        }
    }
    if let Some(d) = &cfg.default
        && mode == Mode::Points
        && cfg.tiers.iter().any(|t| &t.grade == d)
    {
        out.push(Diagnostic::error(
            Kind::Duplicate,
            name,
            None,
            format!("the default `{d}` is also a tier"),
            Some("rename the default or drop the tier".to_string()),
        ));
    }
}

/// Enumerates the score grid (grid mode, or first_match over ranged int columns) to find
/// unreachable rules and, for grids, uncovered cells.
fn grid_checks(
    cfg: &SchemeConfig,
    mode: Mode,
    parsed: &[expr::Expr],
    schema: &TableSchema,
    out: &mut Vec<Diagnostic>,
) {
    let name = cfg.name.as_str();
    let axes: Vec<(String, i64, i64)> = match mode {
        Mode::Grid => {
            let [lo, hi] = cfg.range.unwrap_or([1, 5]);
            if !grid_range_ok(lo, hi) || !(1..=3).contains(&cfg.axes.len()) {
                return;
            }
            for (k, a) in cfg.axes.iter().enumerate() {
                let bad = match schema.get(a) {
                    None => Some(format!("grid axis `{a}` is not a column of the table")),
                    Some(c) if c.ty != ColumnType::Int => Some(format!(
                        "grid axis `{a}` must be an int column, but it is {:?}",
                        c.ty
                    )),
                    _ if cfg.axes[..k].contains(a) => {
                        Some(format!("grid axis `{a}` is listed twice"))
                    }
                    _ => None,
                };
                if let Some(m) = bad {
                    let fix = match schema.closest(a) {
                        Some(s) if s != a => {
                            format!("did you mean `{s}`? axes must be integer score columns")
                        }
                        _ => "use integer score columns such as r_score, f_score, m_score"
                            .to_string(),
                    };
                    out.push(Diagnostic::error(Kind::Config, name, None, m, Some(fix)));
                    return;
                }
            }
            cfg.axes.iter().map(|a| (a.clone(), lo, hi)).collect()
        }
        Mode::FirstMatch => {
            if parsed.iter().any(expr::has_stat) {
                return;
            }
            let mut cols: Vec<String> = Vec::new();
            for e in parsed {
                for c in expr::columns(e) {
                    if !cols.contains(&c) {
                        cols.push(c);
                    }
                }
            }
            let mut axes = Vec::new();
            for c in cols {
                match schema.get(&c).and_then(|s| s.range) {
                    Some((lo, hi)) => axes.push((c, lo, hi)),
                    None => return,
                }
            }
            axes
        }
        _ => return,
    };
    let size = axes.iter().try_fold(1usize, |acc, (_, lo, hi)| {
        let n = usize::try_from(i128::from(*hi) - i128::from(*lo) + 1).ok()?;
        acc.checked_mul(n)
    });
    if size.is_none_or(|s| s > MAX_CELLS || s == 0) {
        return;
    }
    let en = scheme::enumerate(&axes, parsed);
    let n = en.cells.len();
    let mut owner: Vec<Option<usize>> = vec![None; n];
    for (r, m) in en.matches.iter().enumerate() {
        for c in 0..n {
            if m[c] && owner[c].is_none() {
                owner[c] = Some(r);
            }
        }
    }
    let label = |i: usize| RuleRef::new(i, cfg.rule_label(i));
    let describe_grid = || {
        axes.iter()
            .map(|(a, lo, hi)| format!("{a} {lo}–{hi}"))
            .collect::<Vec<_>>()
            .join(" × ")
    };
    for (r, m) in en.matches.iter().enumerate() {
        let mine: Vec<usize> = (0..n).filter(|&c| m[c]).collect();
        if mine.is_empty() {
            out.push(Diagnostic::error(
                Kind::NeverMatches,
                name,
                Some(label(r)),
                format!(
                    "`{}` matches no cell of the grid ({})",
                    expr::clip(&cfg.rules[r].when, QUOTE),
                    describe_grid()
                ),
                Some("check the score ranges in the condition".to_string()),
            ));
            continue;
        }
        if mine.iter().all(|&c| owner[c] != Some(r)) {
            let mut earlier: Vec<usize> = mine.iter().filter_map(|&c| owner[c]).collect();
            earlier.sort_unstable();
            earlier.dedup();
            let names: Vec<String> = earlier.iter().map(|&e| label(e).to_string()).collect();
            let by = if names.len() == 1 {
                names[0].clone()
            } else {
                let (last, init) = names
                    .split_last()
                    .map(|(l, i)| (l.clone(), i.join(", ")))
                    .unwrap_or_default();
                format!("{init} and {last}")
            };
            out.push(Diagnostic::error(
                Kind::Unreachable,
                name,
                Some(label(r)),
                format!(
                    "unreachable: every cell it matches is taken by {}{by}",
                    if names.len() == 1 {
                        "the earlier "
                    } else {
                        "earlier rules: "
                    }
                ),
                Some(format!(
                    "move it above {}, narrow the earlier condition, or delete it",
                    names[0]
                )),
            ));
        }
    }
    if mode == Mode::Grid {
        let gaps: Vec<usize> = (0..n).filter(|&c| owner[c].is_none()).collect();
        if !gaps.is_empty() {
            let cell = |c: usize| {
                let parts: Vec<String> = axes
                    .iter()
                    .zip(&en.cells[c])
                    .map(|((a, _, _), v)| format!("{a}={v}"))
                    .collect();
                format!("({})", parts.join(", "))
            };
            let listed: Vec<String> = gaps.iter().take(MAX_LISTED).map(|&c| cell(c)).collect();
            let more = if gaps.len() > MAX_LISTED {
                format!(" and {} more", gaps.len() - MAX_LISTED)
            } else {
                String::new()
            };
            let message = if gaps.len() == 1 {
                format!("grid cell {} is not covered by any rule", listed[0])
            } else {
                format!(
                    "{} grid cells are not covered by any rule: {}{more}",
                    gaps.len(),
                    listed.join(", ")
                )
            };
            out.push(Diagnostic::error(
                Kind::Uncovered,
                name,
                None,
                message,
                Some(
                    "add a rule for these cells or widen a rule; a grid gives every cell a grade"
                        .to_string(),
                ),
            ));
        }
    }
}
