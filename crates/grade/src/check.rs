//! Static checks of grading schemes before any customer is graded: unknown columns, type errors,
//! unparsable conditions, missing defaults, duplicate names, and — for rules over integer score
//! columns with known ranges — unreachable rules and uncovered grid cells, found by enumerating
//! every cell. Each finding names the scheme, the rule (1-based index and grade) and a fix, in
//! English and in Chinese.

use std::fmt;

use clientele_core::{Lang, Note};
use serde::{Deserialize, Serialize};

use crate::expr::{self, Issue};
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

    /// The same in Chinese: ``规则 1（`VIP`）``.
    pub fn zh(&self) -> String {
        format!("规则 {}（`{}`）", self.index, self.grade)
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
    /// [`Diagnostic::message`] in Chinese (empty where read from a diagnostic written without
    /// it: [`Diagnostic::message_in`] then says the English).
    #[serde(default)]
    pub message_zh: String,
    /// [`Diagnostic::fix`] in Chinese.
    #[serde(default)]
    pub fix_zh: Option<String>,
    /// The column a condition names that the table does not have ([`Kind::UnknownColumn`]),
    /// so that a program can say which columns are missing without reading the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(
        kind: Kind,
        scheme: &str,
        rule: Option<RuleRef>,
        message: Note,
        fix: Option<Note>,
    ) -> Diagnostic {
        let (fix_zh, fix) = fix.map(|f| (f.zh, f.en)).unzip();
        Diagnostic {
            severity: Severity::Error,
            kind,
            scheme: scheme.to_string(),
            rule,
            message: message.en,
            fix,
            message_zh: message.zh,
            fix_zh,
            column: None,
        }
    }

    /// The same finding, naming the unknown column it is about.
    fn about_column(self, column: &str) -> Diagnostic {
        Diagnostic {
            column: Some(column.to_string()),
            ..self
        }
    }

    /// A warning.
    pub fn warning(
        kind: Kind,
        scheme: &str,
        rule: Option<RuleRef>,
        message: Note,
        fix: Option<Note>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(kind, scheme, rule, message, fix)
        }
    }

    /// What is wrong, in `lang`.
    pub fn message_in(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh if !self.message_zh.is_empty() => &self.message_zh,
            _ => &self.message,
        }
    }

    /// How to fix it, in `lang`.
    pub fn fix_in(&self, lang: Lang) -> Option<&str> {
        match lang {
            Lang::Zh => self.fix_zh.as_deref().or(self.fix.as_deref()),
            Lang::En => self.fix.as_deref(),
        }
    }

    /// The whole finding as [`std::fmt::Display`] shows it, in `lang`.
    pub fn to_string_in(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::Zh => {
                let sev = match self.severity {
                    Severity::Error => "错误",
                    Severity::Warning => "警告",
                };
                let mut s = format!("{sev}：方案 `{}`", self.scheme);
                if let Some(r) = &self.rule {
                    s.push_str(&format!("，{}", r.zh()));
                }
                s.push_str(&format!("：{}", self.message_in(lang)));
                if let Some(fix) = self.fix_in(lang) {
                    s.push_str(&format!("\n  修改建议：{fix}"));
                }
                s
            }
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
                Note::new(
                    format!(
                        "方案 {} 与方案 {} 同名；两者都会写入列 `{}`",
                        i + 1,
                        j + 1,
                        s.column()
                    ),
                    format!(
                        "scheme {} has the same name as scheme {}; both would write column `{}`",
                        i + 1,
                        j + 1,
                        s.column()
                    ),
                ),
                Some(Note::new(
                    "给每个 [[scheme]] 一个不同的 `name`",
                    "give every [[scheme]] its own `name`",
                )),
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
            Note::new("方案的 `name` 为空", "the scheme has an empty `name`"),
            Some(Note::new(
                "设置 `name = \"...\"`；输出列为 `grade_<name>`",
                "set `name = \"...\"`; the output column is `grade_<name>`",
            )),
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
                    Note::new(
                        format!("未知的预设 `{preset}`"),
                        format!("unknown preset `{preset}`"),
                    ),
                    Note::new(
                        format!("请使用以下预设之一：{available}"),
                        format!("use one of the presets: {available}"),
                    ),
                ),
                E::UnknownParam {
                    preset,
                    param,
                    available,
                    ..
                } => (
                    Note::new(
                        format!("预设 `{preset}` 没有参数 `{param}`"),
                        format!("preset `{preset}` has no parameter `{param}`"),
                    ),
                    Note::new(
                        format!("请使用它的参数之一：{available}"),
                        format!("use one of its parameters: {available}"),
                    ),
                ),
                E::Preset { message, .. } => (
                    message,
                    Note::new("参见该预设的说明", "see the preset's documentation"),
                ),
                other => (
                    Note::new(other.zh(), other.to_string()),
                    Note::new("修正预设的设置", "fix the preset settings"),
                ),
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
    let err = |m: Note, fix: Note| Diagnostic::error(Kind::Config, name, None, m, Some(fix));
    let ignored = |key: &str| {
        Diagnostic::warning(
            Kind::Ignored,
            name,
            None,
            Note::new(
                format!("模式 `{}` 会忽略 `{key}`", mode.name()),
                format!("`{key}` is ignored in mode `{}`", mode.name()),
            ),
            Some(Note::new(
                format!("删除 `{key}` 或修改 `mode`"),
                format!("remove `{key}` or change `mode`"),
            )),
        )
    };
    if mode == Mode::FirstMatch && cfg.default.is_none() {
        out.push(Diagnostic::error(
            Kind::MissingDefault,
            name,
            None,
            Note::new(
                "`first_match` 模式需要一个 `default` 等级，给没有规则匹配的客户",
                "mode `first_match` needs a `default` grade for customers no rule matches",
            ),
            Some(Note::new(
                "在方案中加上例如 `default = \"普通客户\"`",
                "add e.g. `default = \"普通客户\"` to the scheme",
            )),
        ));
    }
    if cfg.rules.is_empty() && mode != Mode::Points {
        out.push(err(
            Note::new("方案没有规则", "the scheme has no rules"),
            Note::new(
                "添加 `rules = [{ grade = \"...\", when = \"...\" }]`",
                "add `rules = [{ grade = \"...\", when = \"...\" }]`",
            ),
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
                        Note::new(
                            "`points` 模式的规则需要一个有限的 `points` 值",
                            "a `points` rule needs a finite `points` value",
                        ),
                        Some(Note::new(
                            "在规则中加上例如 `points = 10`",
                            "add e.g. `points = 10` to the rule",
                        )),
                    ));
                }
            }
            _ => {
                if r.grade.as_deref().is_none_or(|g| g.trim().is_empty()) {
                    out.push(Diagnostic::error(
                        Kind::Config,
                        name,
                        rr,
                        Note::new("规则没有 `grade`", "the rule has no `grade`"),
                        Some(Note::new(
                            "在规则中加上 `grade = \"...\"`",
                            "add `grade = \"...\"` to the rule",
                        )),
                    ));
                } else if r.points.is_some() {
                    out.push(Diagnostic::warning(
                        Kind::Ignored,
                        name,
                        rr,
                        Note::new(
                            format!("模式 `{}` 会忽略 `points`", mode.name()),
                            format!("`points` is ignored in mode `{}`", mode.name()),
                        ),
                        Some(Note::new(
                            "删除 `points` 或使用 `mode = \"points\"`",
                            "remove `points` or use `mode = \"points\"`",
                        )),
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
                let n = cfg.axes.len();
                out.push(err(
                    Note::new(
                        format!("网格需要 1 到 3 个 `axes`，实际为 {n}"),
                        format!("a grid needs 1 to 3 `axes`, got {n}"),
                    ),
                    Note::new(
                        "设置例如 `axes = [\"r_score\", \"f_score\"]`",
                        "set e.g. `axes = [\"r_score\", \"f_score\"]`",
                    ),
                ));
            }
            if let Some([lo, hi]) = cfg.range
                && !grid_range_ok(lo, hi)
            {
                out.push(err(
                    Note::new(
                        format!("网格的 `range` [{lo}, {hi}] 必须从小到大，且最多跨 100 个值"),
                        format!(
                            "the grid `range` [{lo}, {hi}] must be ascending and span at most \
                             100 values"
                        ),
                    ),
                    Note::new("设置例如 `range = [1, 5]`", "set e.g. `range = [1, 5]`"),
                ));
            }
        }
        Mode::Points => {
            for t in cfg.tiers.iter().filter(|t| !t.min_points.is_finite()) {
                out.push(err(
                    Note::new(
                        format!(
                            "档位 `{}` 的 min_points 为 {}；需要一个有限的 `min_points`",
                            t.grade, t.min_points
                        ),
                        format!(
                            "tier `{}` has min_points {}; it needs a finite `min_points`",
                            t.grade, t.min_points
                        ),
                    ),
                    Note::new("设置例如 `min_points = 50`", "set e.g. `min_points = 50`"),
                ));
            }
            if cfg.tiers.is_empty() {
                out.push(err(
                    Note::new("积分方案需要 `tiers`", "a points scheme needs `tiers`"),
                    Note::new(
                        "添加 `tiers = [{ grade = \"金卡\", min_points = 50 }, ...]`",
                        "add `tiers = [{ grade = \"金卡\", min_points = 50 }, ...]`",
                    ),
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
                    Note::new(
                        format!("积分少于 {lowest} 的客户达不到任何档位，而方案没有 `default`"),
                        format!(
                            "customers with fewer than {lowest} points reach no tier and there \
                             is no `default`"
                        ),
                    ),
                    Note::new(
                        "添加 `default = \"...\"`，或一个 `min_points = 0` 的档位",
                        "add `default = \"...\"` or a tier with `min_points = 0`",
                    ),
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
                    Note::new(
                        format!("标签方案最多支持 64 个不同的标签，实际为 {distinct}"),
                        format!("a tags scheme supports at most 64 distinct tags, got {distinct}"),
                    ),
                    Note::new("把它拆成几个方案", "split it into several schemes"),
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
        Note::new(
            format!(
                "无法解析 `{}`：{}",
                expr::clip_in(when, QUOTE, Lang::Zh),
                e.zh()
            ),
            format!("cannot parse `{}`: {e}", expr::clip(when, QUOTE)),
        ),
        Some(Note::new(e.fix_zh(), e.fix())),
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
    let quoted = expr::clipped(text, QUOTE);
    let (when, when_zh) = (&quoted.en, &quoted.zh);
    let e = match expr::parse(text) {
        Ok(e) => expr::coerce_dates(e, schema),
        Err(m) => {
            out.push(parse_error(cfg, i, text, &m));
            return None;
        }
    };
    let issues = expr::issues(&e, schema);
    let ok = issues.is_empty();
    for issue in issues {
        match issue {
            Issue::UnknownColumn(full) => {
                let q = expr::clipped(&full, 60);
                let (c, c_zh) = (&q.en, &q.zh);
                let available = schema.names().join(", ");
                let (hint, fix) = match schema.closest(c) {
                    Some(s) => (
                        Note::new(
                            format!("；是不是 `{s}`？"),
                            format!("; did you mean `{s}`?"),
                        ),
                        Note::new(
                            format!("把 `{c_zh}` 改为 `{s}`"),
                            format!("write `{s}` instead of `{c}`"),
                        ),
                    ),
                    None => (
                        Note::new("。", "."),
                        Note::new(
                            "使用现有的列之一，或在数据中加上这一列",
                            "use one of the available columns, or add the column to the data",
                        ),
                    ),
                };
                out.push(
                    Diagnostic::error(
                        Kind::UnknownColumn,
                        name,
                        rr(),
                        Note::new(
                            format!(
                                "`{when_zh}` 中的列 `{c_zh}` 不存在{}可用的列：{available}",
                                hint.zh
                            ),
                            format!(
                                "unknown column `{c}` in `{when}`{} Available columns: {available}",
                                hint.en
                            ),
                        ),
                        Some(fix),
                    )
                    .about_column(&full),
                );
            }
            Issue::Type(m) => out.push(Diagnostic::error(
                Kind::Type,
                name,
                rr(),
                m,
                Some(Note::new(
                    "数字与数字比较，文本与单引号括起的文本（'文本'）比较",
                    "compare numbers with numbers and text with 'quoted text'",
                )),
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
            let quoted: Vec<String> = outside.iter().map(|c| format!("`{c}`")).collect();
            out.push(Diagnostic::error(
                Kind::Config,
                name,
                rr(),
                Note::new(
                    format!(
                        "网格规则只能使用 `axes` 中的列（{}），但 `{when_zh}` 使用了 {}",
                        cfg.axes.join("、"),
                        quoted.join("、")
                    ),
                    format!(
                        "a grid rule may only use the axes ({}), but `{when}` uses {}",
                        cfg.axes.join(", "),
                        quoted.join(", ")
                    ),
                ),
                Some(Note::new(
                    "把这个条件移到 `first_match` 方案中，或把这一列加入 `axes`",
                    "move the condition to a `first_match` scheme or add the column to `axes`",
                )),
            ));
            return None;
        }
        if expr::has_stat(&e) {
            out.push(Diagnostic::error(
                Kind::Config,
                name,
                rr(),
                Note::new(
                    format!("网格规则不能使用 p80(...) 这类统计量：`{when_zh}`"),
                    format!("a grid rule cannot use statistics such as p80(...): `{when}`"),
                ),
                Some(Note::new(
                    "用固定的分数与各轴比较",
                    "compare the axes with fixed scores",
                )),
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
                    Note::new(
                        format!("标签 `{g}` 也由规则 {} 给出；任一条件成立都会加上它", j + 1),
                        format!(
                            "tag `{g}` is also given by rule {}; either condition adds it",
                            j + 1
                        ),
                    ),
                    Some(Note::new(
                        "用 OR 合并这两个条件",
                        "merge the two conditions with OR",
                    )),
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
                Note::new(
                    format!("档位 {} 与档位 {} 的等级 `{}` 重复", i + 1, j + 1, t.grade),
                    format!(
                        "tier {} repeats the grade `{}` of tier {}",
                        i + 1,
                        t.grade,
                        j + 1
                    ),
                ),
                Some(Note::new(
                    "给每个档位一个不同的等级",
                    "give every tier its own grade",
                )),
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
                Note::new(
                    format!(
                        "档位 {}（`{}`）与档位 {}（`{}`）的 min_points 相同，都是 {}",
                        j + 1,
                        cfg.tiers[j].grade,
                        i + 1,
                        t.grade,
                        t.min_points
                    ),
                    format!(
                        "tiers {} (`{}`) and {} (`{}`) have the same min_points {}",
                        j + 1,
                        cfg.tiers[j].grade,
                        i + 1,
                        t.grade,
                        t.min_points
                    ),
                ),
                Some(Note::new(
                    "给每个档位一个不同的 min_points",
                    "give every tier its own min_points",
                )),
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
            Note::new(
                format!("默认等级 `{d}` 同时也是一个档位"),
                format!("the default `{d}` is also a tier"),
            ),
            Some(Note::new(
                "给默认等级换个名字，或删掉这个档位",
                "rename the default or drop the tier",
            )),
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
                    None => Some(Note::new(
                        format!("网格轴 `{a}` 不是表中的列"),
                        format!("grid axis `{a}` is not a column of the table"),
                    )),
                    Some(c) if c.ty != ColumnType::Int => Some(Note::new(
                        format!("网格轴 `{a}` 必须是整数列，但它是{}", type_zh(c.ty)),
                        format!(
                            "grid axis `{a}` must be an int column, but it is {:?}",
                            c.ty
                        ),
                    )),
                    _ if cfg.axes[..k].contains(a) => Some(Note::new(
                        format!("网格轴 `{a}` 列出了两次"),
                        format!("grid axis `{a}` is listed twice"),
                    )),
                    _ => None,
                };
                if let Some(m) = bad {
                    let fix = match schema.closest(a) {
                        Some(s) if s != a => Note::new(
                            format!("是不是 `{s}`？轴必须是整数分数列"),
                            format!("did you mean `{s}`? axes must be integer score columns"),
                        ),
                        _ => Note::new(
                            "请使用 r_score、f_score、m_score 这类整数分数列",
                            "use integer score columns such as r_score, f_score, m_score",
                        ),
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
    // "a, b and c" / "a、b 和 c"
    let and = |names: &[String], sep: &str, and: &str| match names.split_last() {
        Some((last, init)) if !init.is_empty() => format!("{}{and}{last}", init.join(sep)),
        _ => names.concat(),
    };
    let describe_grid = || {
        axes.iter()
            .map(|(a, lo, hi)| format!("{a} {lo}–{hi}"))
            .collect::<Vec<_>>()
            .join(" × ")
    };
    for (r, m) in en.matches.iter().enumerate() {
        let mine: Vec<usize> = (0..n).filter(|&c| m[c]).collect();
        if mine.is_empty() {
            let when = &cfg.rules[r].when;
            out.push(Diagnostic::error(
                Kind::NeverMatches,
                name,
                Some(label(r)),
                Note::new(
                    format!(
                        "`{}` 不匹配网格（{}）中的任何格子",
                        expr::clip_in(when, QUOTE, Lang::Zh),
                        describe_grid()
                    ),
                    format!(
                        "`{}` matches no cell of the grid ({})",
                        expr::clip(when, QUOTE),
                        describe_grid()
                    ),
                ),
                Some(Note::new(
                    "检查条件中的分数范围",
                    "check the score ranges in the condition",
                )),
            ));
            continue;
        }
        if mine.iter().all(|&c| owner[c] != Some(r)) {
            let mut earlier: Vec<usize> = mine.iter().filter_map(|&c| owner[c]).collect();
            earlier.sort_unstable();
            earlier.dedup();
            let names: Vec<String> = earlier.iter().map(|&e| label(e).to_string()).collect();
            let names_zh: Vec<String> = earlier.iter().map(|&e| label(e).zh()).collect();
            let (by, by_zh) = if names.len() == 1 {
                (format!("the earlier {}", names[0]), names_zh[0].clone())
            } else {
                (
                    format!("earlier rules: {}", and(&names, ", ", " and ")),
                    and(&names_zh, "、", "和"),
                )
            };
            out.push(Diagnostic::error(
                Kind::Unreachable,
                name,
                Some(label(r)),
                Note::new(
                    format!("永远不会生效：它匹配的每个格子都已被前面的{by_zh}占用"),
                    format!("unreachable: every cell it matches is taken by {by}"),
                ),
                Some(Note::new(
                    format!("把它移到{}之前，缩小前面的条件，或删除它", names_zh[0]),
                    format!(
                        "move it above {}, narrow the earlier condition, or delete it",
                        names[0]
                    ),
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
            let (more, more_zh) = if gaps.len() > MAX_LISTED {
                let n = gaps.len() - MAX_LISTED;
                (format!(" and {n} more"), format!("，另有 {n} 个"))
            } else {
                (String::new(), String::new())
            };
            let message = if gaps.len() == 1 {
                Note::new(
                    format!("网格格子 {} 没有任何规则覆盖", listed[0]),
                    format!("grid cell {} is not covered by any rule", listed[0]),
                )
            } else {
                Note::new(
                    format!(
                        "{} 个网格格子没有任何规则覆盖：{}{more_zh}",
                        gaps.len(),
                        listed.join("、")
                    ),
                    format!(
                        "{} grid cells are not covered by any rule: {}{more}",
                        gaps.len(),
                        listed.join(", ")
                    ),
                )
            };
            out.push(Diagnostic::error(
                Kind::Uncovered,
                name,
                None,
                message,
                Some(Note::new(
                    "为这些格子添加规则，或放宽某条规则；网格要给每个格子一个等级",
                    "add a rule for these cells or widen a rule; a grid gives every cell a grade",
                )),
            ));
        }
    }
}

/// A column type in Chinese, for a message.
fn type_zh(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Int => "整数列",
        ColumnType::Float => "小数列",
        ColumnType::Text => "文本列",
        ColumnType::Date => "日期列",
    }
}
