//! Grading schemes: the TOML shape ([`SchemeConfig`]), compilation against a table
//! ([`compile`] → [`CompiledScheme`]) and application ([`CompiledScheme::apply`] →
//! [`SchemeResult`]), plus the per-rule [`preview`].
//!
//! Four modes:
//! - `first_match`: ordered rules, the first whose condition is true gives the grade; everyone
//!   else gets the mandatory `default`.
//! - `grid`: rules over two or three integer axes (`r_score`, `f_score`, …) are enumerated cell by
//!   cell once; customers are then graded by a table lookup. The grid must be complete.
//! - `tags`: every matching rule's grade, joined with `;` (non-exclusive).
//! - `points`: each matching rule adds its points; the total picks the first of `tiers` (highest
//!   `min_points` first) it reaches.

use std::borrow::Cow;
use std::collections::BTreeMap;

use clientele_core::{ColumnData, CustomerTable, Lang};
use serde::{Deserialize, Serialize};

use crate::check::{self, Diagnostic, Severity};
use crate::error::GradeError;
use crate::expr::{self, BoolNode, Frame, ResolvedStat, Slots, TRUE, Tri};
use crate::playbook::PlaybookConfig;
use crate::presets;
use crate::schema::TableSchema;
use crate::value_tier::ValueTierConfig;

/// How a scheme turns rule matches into grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Ordered rules; the first match wins; `default` for the rest.
    #[default]
    FirstMatch,
    /// A complete lookup over two or three integer score axes.
    Grid,
    /// Non-exclusive tags: every match, joined with the separator.
    Tags,
    /// Points per matching rule; the total maps to `tiers`.
    Points,
}

impl Mode {
    /// The name used in config.
    pub fn name(self) -> &'static str {
        match self {
            Mode::FirstMatch => "first_match",
            Mode::Grid => "grid",
            Mode::Tags => "tags",
            Mode::Points => "points",
        }
    }
}

/// The grading part of the config file: `[[scheme]]`, `[playbook]`, `[value_tiers]`. The engine
/// may embed these fields in its own config instead.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GradingConfig {
    /// The grading schemes, in output order.
    #[serde(default)]
    pub scheme: Vec<SchemeConfig>,
    /// Playbook overrides: grade name → action.
    #[serde(default)]
    pub playbook: PlaybookConfig,
    /// Value-tier cut-offs.
    #[serde(default)]
    pub value_tiers: ValueTierConfig,
}

impl GradingConfig {
    /// Parses TOML text (not a file: this crate does no I/O). Unknown keys are errors whose
    /// message names the key, its line and the valid keys.
    pub fn from_toml(text: &str) -> Result<GradingConfig, GradeError> {
        Ok(toml::from_str(text)?)
    }
}

/// One `[[scheme]]` table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SchemeConfig {
    /// Scheme name; the output column is `grade_<name>`.
    pub name: String,
    /// Evaluation mode (default `first_match`, or the preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// A built-in preset to use instead of writing rules (see [`crate::presets::names`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Preset parameters: a number (`vip_monetary = 800`) or an expression
    /// (`vip_monetary = "p90(monetary)"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, ParamValue>,
    /// Free text shown in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleConfig>,
    /// The grade of customers no rule matches (mandatory for `first_match`; for `grid`, the grade
    /// of customers whose axis value is NULL or out of range; for `tags`, the label when no tag
    /// matches; for `points`, the grade below the lowest tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `grid` only: the integer columns spanning the grid (two or three).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub axes: Vec<String>,
    /// `grid` only: the inclusive value range of every axis (default `[1, 5]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[i64; 2]>,
    /// `points` only: the tiers; a customer gets the first tier (highest `min_points` first)
    /// whose `min_points` the total reaches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierConfig>,
    /// `tags` only: the separator between tags in the output column (default `;`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
}

/// A preset parameter: a number or an expression text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ParamValue {
    /// A number.
    Number(f64),
    /// An expression such as `p80(monetary)`.
    Expr(String),
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The grade (or tag) this rule gives; in `points` mode an optional label for the criterion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// The SQL boolean condition.
    pub when: String,
    /// `points` only: points added when the condition is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<f64>,
}

/// One tier of a `points` scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// The grade.
    pub grade: String,
    /// The smallest total that reaches it.
    pub min_points: f64,
}

impl SchemeConfig {
    /// The output column name, `grade_<name>`.
    pub fn column(&self) -> String {
        clientele_core::Grouping::Grade(self.name.clone()).column()
    }

    /// The effective mode.
    pub fn mode(&self) -> Mode {
        self.mode.unwrap_or_default()
    }

    /// The scheme with its preset (if any) expanded into rules.
    pub fn expanded(&self) -> Result<SchemeConfig, GradeError> {
        presets::expand(self)
    }

    /// Human label of rule `i` (0-based) for messages: its grade or, in points mode, its
    /// condition.
    pub(crate) fn rule_label(&self, i: usize) -> String {
        let r = &self.rules[i];
        r.grade
            .clone()
            .unwrap_or_else(|| expr::clip(&r.when, 80).into_owned())
    }
}

/// A scheme checked and bound to a table's columns and statistics, ready to apply.
#[derive(Debug, Clone)]
pub struct CompiledScheme {
    name: String,
    mode: Mode,
    /// Distinct grade labels, in first-use order; codes index this.
    grades: Vec<String>,
    rules: Vec<CompiledRule>,
    default: Option<u32>,
    slots: Slots,
    resolved: Vec<ResolvedStat>,
    warnings: Vec<Diagnostic>,
    grid: Option<Grid>,
    /// Points tiers as (min_points, code), highest first.
    tiers: Vec<(f64, u32)>,
    separator: String,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    /// 1-based position in the config.
    index: usize,
    label: String,
    when: String,
    code: Option<u32>,
    cond: BoolNode,
    points: f64,
}

/// A grid enumerated at compile time.
#[derive(Debug, Clone)]
struct Grid {
    axes: Vec<String>,
    lo: i64,
    hi: i64,
    /// Per cell: the index (into `rules`) of the rule that owns it; `None` for a cell no rule
    /// covers (possible only in grids too large for the coverage check), which gets the default.
    owner: Vec<Option<usize>>,
}

impl Grid {
    fn width(&self) -> usize {
        (self.hi - self.lo + 1) as usize
    }
}

/// The axis columns' integer cells of a grid, and which rules each cell satisfies.
#[derive(Debug, Clone)]
pub(crate) struct Enumeration {
    /// The axis values of every cell (row-major, first axis slowest).
    pub cells: Vec<Vec<i64>>,
    /// Per rule, per cell: the condition is true.
    pub matches: Vec<Vec<bool>>,
}

/// Evaluates conditions (already type-checked, without statistics) on every cell of the product of
/// the axis ranges. Reuses the column-wise evaluator on a synthetic table of cells.
pub(crate) fn enumerate(axes: &[(String, i64, i64)], conds: &[expr::Expr]) -> Enumeration {
    let mut cells: Vec<Vec<i64>> = vec![Vec::new()];
    for (_, lo, hi) in axes {
        cells = cells
            .into_iter()
            .flat_map(|c| {
                (*lo..=*hi).map(move |v| {
                    let mut c = c.clone();
                    c.push(v);
                    c
                })
            })
            .collect();
    }
    let mut table = CustomerTable::new((0..cells.len()).map(|i| i.to_string()).collect());
    let mut schema = TableSchema::new();
    for (k, (name, lo, hi)) in axes.iter().enumerate() {
        // Names are distinct (checked) and lengths match by construction.
        let _ = table.push(
            name.clone(),
            ColumnData::Int(cells.iter().map(|c| Some(c[k])).collect()),
        );
        schema = schema.with_range(name, *lo, *hi);
    }
    let matches = conds
        .iter()
        .map(|c| {
            let mut slots = Slots::default();
            let node = expr::bind(c, &schema, &mut slots, &mut |_, _| None, &mut Vec::new());
            match slots.load(&table) {
                Ok(frame) => node.eval(&frame).into_iter().map(|t| t == TRUE).collect(),
                Err(_) => vec![false; cells.len()],
            }
        })
        .collect();
    Enumeration { cells, matches }
}

/// Checks a scheme against the table's schema and compiles it: statistics such as
/// `p80(monetary)` are resolved against `table` (see [`CompiledScheme::resolved`]). Fails with
/// every error-level [`Diagnostic`]; warnings stay available via [`CompiledScheme::warnings`].
pub fn compile(config: &SchemeConfig, table: &CustomerTable) -> Result<CompiledScheme, GradeError> {
    let mut stats = expr::StatCache::new(table);
    compile_inner(config, table, &mut |s, c| Ok(stats.get(s, c)))
}

/// [`compile`] with the statistics (`p80(monetary)`, `mean(orders)`) taken from `stats`, as
/// an earlier run resolved them ([`SchemeResult::resolved`]), instead of computed on `table`:
/// a few customers are then graded exactly as that run graded its whole customer base. A
/// statistic the scheme uses that `stats` lacks is [`GradeError::UnresolvedStat`].
pub fn compile_with_stats(
    config: &SchemeConfig,
    table: &CustomerTable,
    stats: &[ResolvedStat],
) -> Result<CompiledScheme, GradeError> {
    compile_inner(config, table, &mut |s, c| {
        let text = expr::Expr::stat_text(s, c);
        stats
            .iter()
            .find(|r| r.expr == text)
            .map(|r| r.value)
            .ok_or(text)
    })
}

/// A statistic's value (`None`: the column has no values), or the statistic as written when
/// there is none to give.
type StatSource<'a> = dyn FnMut(expr::Stat, &str) -> Result<Option<f64>, String> + 'a;

fn compile_inner(
    config: &SchemeConfig,
    table: &CustomerTable,
    stat: &mut StatSource<'_>,
) -> Result<CompiledScheme, GradeError> {
    let schema = TableSchema::of(table);
    let diags = check::check(config, &schema);
    let (errors, warnings): (Vec<_>, Vec<_>) = diags
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(GradeError::Invalid {
            scheme: config.name.clone(),
            diagnostics: errors,
        });
    }
    let cfg = config.expanded()?;
    let mode = cfg.mode();
    let mut grades: Vec<String> = Vec::new();
    let code_of = |g: &str, grades: &mut Vec<String>| -> u32 {
        match grades.iter().position(|x| x == g) {
            Some(i) => i as u32,
            None => {
                grades.push(g.to_string());
                (grades.len() - 1) as u32
            }
        }
    };
    let mut slots = Slots::default();
    let mut resolved = Vec::new();
    let mut rules = Vec::new();
    let mut parsed = Vec::new();
    let mut unresolved: Option<String> = None;
    for (i, r) in cfg.rules.iter().enumerate() {
        // check() accepted every condition, so parsing and typing succeed here.
        let e = expr::coerce_dates(
            expr::parse(&r.when).map_err(|m| internal(&cfg, i, &m))?,
            &schema,
        );
        let cond = expr::bind(
            &e,
            &schema,
            &mut slots,
            &mut |s, c| {
                stat(s, c).unwrap_or_else(|text| {
                    unresolved.get_or_insert(text);
                    None
                })
            },
            &mut resolved,
        );
        let code = match (mode, &r.grade) {
            (Mode::Points, _) | (_, None) => None,
            (_, Some(g)) => Some(code_of(g, &mut grades)),
        };
        rules.push(CompiledRule {
            index: i + 1,
            label: cfg.rule_label(i),
            when: r.when.clone(),
            code,
            cond,
            points: r.points.unwrap_or(0.0),
        });
        parsed.push(e);
    }
    if let Some(stat) = unresolved {
        return Err(GradeError::UnresolvedStat {
            scheme: cfg.name.clone(),
            stat,
        });
    }
    let mut tiers: Vec<(f64, u32)> = cfg
        .tiers
        .iter()
        .map(|t| (t.min_points, code_of(&t.grade, &mut grades)))
        .collect();
    tiers.sort_by(|a, b| b.0.total_cmp(&a.0));
    let default = cfg.default.as_deref().map(|g| code_of(g, &mut grades));
    let grid = if mode == Mode::Grid {
        let [lo, hi] = cfg.range.unwrap_or([1, 5]);
        let axes: Vec<(String, i64, i64)> = cfg.axes.iter().map(|a| (a.clone(), lo, hi)).collect();
        let en = enumerate(&axes, &parsed);
        let owner = (0..en.cells.len())
            .map(|c| (0..rules.len()).find(|&r| en.matches[r][c]))
            .collect();
        for a in &cfg.axes {
            slots_axis(&mut slots, a);
        }
        Some(Grid {
            axes: cfg.axes.clone(),
            lo,
            hi,
            owner,
        })
    } else {
        None
    };
    Ok(CompiledScheme {
        name: cfg.name.clone(),
        mode,
        grades,
        rules,
        default,
        slots,
        resolved,
        warnings,
        grid,
        tiers,
        separator: cfg.separator.clone().unwrap_or_else(|| ";".to_string()),
    })
}

fn slots_axis(slots: &mut Slots, axis: &str) {
    slots.num_slot(axis);
}

fn internal(cfg: &SchemeConfig, i: usize, e: &expr::ParseError) -> GradeError {
    GradeError::Invalid {
        scheme: cfg.name.clone(),
        diagnostics: vec![check::parse_error(cfg, i, &cfg.rules[i].when, e)],
    }
}

/// Per-customer grades of one scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SchemeResult {
    /// Scheme name.
    pub scheme: String,
    /// Output column, `grade_<name>`.
    pub column: String,
    /// The mode it was graded with.
    pub mode: Mode,
    /// Grade labels; codes index this list (rule order, then tiers, then the default).
    pub grades: Vec<String>,
    /// The grades per customer, in table row order.
    pub codes: Codes,
    /// Separator used to join tags.
    pub separator: String,
    /// The statistics the conditions used, with the values they were resolved to (absent from
    /// results of clientele versions that did not record them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<ResolvedStat>,
}

/// Grade codes per customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Codes {
    /// One grade (or none: a grid customer with a NULL axis and no default) per customer.
    Exclusive(Vec<Option<u32>>),
    /// A bit set of grade codes per customer (`tags` mode, at most 64 tags).
    Tags(Vec<u64>),
}

impl SchemeResult {
    /// Number of customers.
    pub fn len(&self) -> usize {
        match &self.codes {
            Codes::Exclusive(v) => v.len(),
            Codes::Tags(v) => v.len(),
        }
    }

    /// True when no customers were graded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Customer `i`'s grade as it appears in the output column (tags joined).
    pub fn label(&self, i: usize) -> Option<Cow<'_, str>> {
        match &self.codes {
            Codes::Exclusive(v) => v[i].map(|c| Cow::Borrowed(self.grades[c as usize].as_str())),
            Codes::Tags(v) => {
                let m = v[i];
                if m == 0 {
                    return None;
                }
                let parts: Vec<&str> = (0..self.grades.len().min(64))
                    .filter(|&k| m & (1u64 << k) != 0)
                    .map(|k| self.grades[k].as_str())
                    .collect();
                Some(if parts.len() == 1 {
                    Cow::Borrowed(parts[0])
                } else {
                    Cow::Owned(parts.join(&self.separator))
                })
            }
        }
    }

    /// Whether customer `i` has grade (or tag) `code`.
    pub fn has(&self, i: usize, code: u32) -> bool {
        match &self.codes {
            Codes::Exclusive(v) => v[i] == Some(code),
            Codes::Tags(v) => code < 64 && v[i] & (1u64 << code) != 0,
        }
    }

    /// Names the built-in grades (those of the presets) in `lang`, so a run's column, lists
    /// and summary are in one language; a grade a user named keeps its name.
    pub fn name_builtin_grades(&mut self, lang: Lang) {
        for g in &mut self.grades {
            if let Some(l) = crate::builtin_label(g) {
                *g = l.name(lang).to_string();
            }
        }
    }

    /// The output column for the customer table (`grade_<name>`, text).
    pub fn to_column(&self) -> ColumnData {
        ColumnData::Text(match &self.codes {
            // one of the grades each: labelled without a string per customer
            Codes::Exclusive(v) => clientele_core::Texts::from_indices(
                &self.grades,
                v.iter().map(|c| c.map(|c| c as usize)),
            ),
            Codes::Tags(_) => (0..self.len())
                .map(|i| self.label(i).map(Cow::into_owned))
                .collect(),
        })
    }

    /// Customers per grade, in `grades` order, then the ungraded count. For tags a customer counts
    /// once per tag and "ungraded" means no tag.
    pub fn counts(&self) -> (Vec<usize>, usize) {
        let mut counts = vec![0usize; self.grades.len()];
        let mut none = 0;
        match &self.codes {
            Codes::Exclusive(v) => {
                for c in v {
                    match c {
                        Some(c) => counts[*c as usize] += 1,
                        None => none += 1,
                    }
                }
            }
            Codes::Tags(v) => {
                for &m in v {
                    if m == 0 {
                        none += 1;
                    }
                    for (k, n) in counts.iter_mut().enumerate().take(64) {
                        if m & (1u64 << k) != 0 {
                            *n += 1;
                        }
                    }
                }
            }
        }
        (counts, none)
    }
}

/// How many customers a rule's condition matches and how many it actually grades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RulePreview {
    /// The grade (tag, tier or default) of this row.
    pub grade: String,
    /// 1-based rule index; `None` for the default row and for tier rows of a points scheme.
    pub rule: Option<usize>,
    /// The condition (`None` for default and tier rows).
    pub when: Option<String>,
    /// Customers whose condition is true.
    pub matched_customers: usize,
    /// Customers that end up with this row's grade because of it (first match: not taken by an
    /// earlier rule; grid: in the cells it owns; tags/points: same as matched).
    pub taken_customers: usize,
}

impl CompiledScheme {
    /// Scheme name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Output column, `grade_<name>`.
    pub fn column(&self) -> String {
        clientele_core::Grouping::Grade(self.name.clone()).column()
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Grade labels, in code order.
    pub fn grades(&self) -> &[String] {
        &self.grades
    }

    /// Statistics resolved at compile time (`p80(monetary)` = 1234.5), for `config check` and
    /// the report.
    pub fn resolved(&self) -> &[ResolvedStat] {
        &self.resolved
    }

    /// Warnings found by the checks.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    fn frame<'a>(&self, table: &'a CustomerTable) -> Result<Frame<'a>, GradeError> {
        self.slots.load(table).map_err(|e| self.table_error(e))
    }

    /// A column the scheme reads, missing or unreadable, named with the rule that reads it.
    fn table_error(&self, e: clientele_core::CoreError) -> GradeError {
        {
            let col = match &e {
                clientele_core::CoreError::MissingColumn { name, .. }
                | clientele_core::CoreError::ColumnType { name, .. } => name.clone(),
                _ => String::new(),
            };
            let rule = self
                .rules
                .iter()
                .find(|r| expr::parse(&r.when).is_ok_and(|e| expr::columns(&e).contains(&col)))
                .map_or_else(
                    || "grid axes".to_string(),
                    |r| format!("rule {} (`{}`)", r.index, r.label),
                );
            GradeError::Table {
                scheme: self.name.clone(),
                rule,
                source: e,
            }
        }
    }

    /// Names the built-in grades in `lang` in the results it gives (as
    /// [`SchemeResult::name_builtin_grades`] names them in one result).
    pub fn name_builtin_grades(&mut self, lang: Lang) {
        for g in &mut self.grades {
            if let Some(l) = crate::builtin_label(g) {
                *g = l.name(lang).to_string();
            }
        }
    }

    /// The columns [`CompiledScheme::apply`] reads: a table of these alone (a part of the
    /// customers, say) is graded as the whole table grades them, once the statistics are
    /// resolved.
    pub fn columns(&self) -> Vec<&str> {
        self.slots.names().collect()
    }

    /// [`CompiledScheme::apply`] a part of the customers at a time
    /// ([`CustomerTable::part_ranges`]: a table kept on disk is read a part at a time, one in
    /// memory is one part), `each` handed each part's grades in row order (to write them);
    /// the whole table's grades returned, as one call gives them.
    pub fn apply_by_parts<E: From<GradeError>>(
        &self,
        table: &CustomerTable,
        mut each: impl FnMut(&SchemeResult) -> Result<(), E>,
    ) -> Result<SchemeResult, E> {
        let names = self.columns();
        let mut whole: Option<SchemeResult> = None;
        for rows in table.part_ranges() {
            let part = table.part(rows, &names).map_err(|e| self.table_error(e))?;
            let r = self.apply(&part)?;
            each(&r)?;
            match (&mut whole, r) {
                (None, r) => whole = Some(r),
                (Some(w), r) => match (&mut w.codes, r.codes) {
                    (Codes::Exclusive(a), Codes::Exclusive(b)) => a.extend(b),
                    (Codes::Tags(a), Codes::Tags(b)) => a.extend(b),
                    // one compiled scheme grades every part in its one mode
                    _ => {}
                },
            }
        }
        let whole = match whole {
            Some(w) => w,
            None => self.apply(table)?,
        };
        if whole.len() != table.len() {
            return Err(self
                .table_error(clientele_core::CoreError::ColumnLength {
                    name: self.column(),
                    expected: table.len(),
                    got: whole.len(),
                })
                .into());
        }
        Ok(whole)
    }

    /// Grades every customer of `table` (row order kept).
    pub fn apply(&self, table: &CustomerTable) -> Result<SchemeResult, GradeError> {
        let frame = self.frame(table)?;
        Ok(self.run(&frame, None))
    }

    /// Evaluates, optionally counting matches per rule for the preview.
    fn run(&self, frame: &Frame<'_>, preview: Option<&mut Vec<RulePreview>>) -> SchemeResult {
        let n = frame.len();
        let mut matched = vec![0usize; self.rules.len()];
        let mut taken = vec![0usize; self.rules.len()];
        let mut by_default = 0usize;
        let codes = match self.mode {
            Mode::FirstMatch => {
                let mut codes: Vec<Option<u32>> = vec![None; n];
                for (k, r) in self.rules.iter().enumerate() {
                    let t = r.cond.eval(frame);
                    let (mut m, mut tk) = (0, 0);
                    for (c, &x) in codes.iter_mut().zip(&t) {
                        if x == TRUE {
                            m += 1;
                            if c.is_none() {
                                *c = r.code;
                                tk += 1;
                            }
                        }
                    }
                    matched[k] = m;
                    taken[k] = tk;
                }
                for c in codes.iter_mut().filter(|c| c.is_none()) {
                    *c = self.default;
                    by_default += 1;
                }
                Codes::Exclusive(codes)
            }
            Mode::Grid => {
                let grid = self.grid.as_ref();
                let mut codes: Vec<Option<u32>> = vec![self.default; n];
                if let Some(g) = grid {
                    let cells = self.cells_from_frame(g, frame);
                    for (c, cell) in codes.iter_mut().zip(&cells) {
                        if let Some(r) = cell.and_then(|cell| g.owner[cell]) {
                            *c = self.rules[r].code;
                            taken[r] += 1;
                        } else {
                            by_default += 1;
                        }
                    }
                    if preview.is_some() {
                        for (k, r) in self.rules.iter().enumerate() {
                            matched[k] = count_true(&r.cond.eval(frame));
                        }
                    }
                }
                Codes::Exclusive(codes)
            }
            Mode::Tags => {
                let mut masks = vec![0u64; n];
                for (k, r) in self.rules.iter().enumerate() {
                    let t = r.cond.eval(frame);
                    let bit = r.code.map_or(0, |c| 1u64 << (c.min(63)));
                    for (m, &x) in masks.iter_mut().zip(&t) {
                        if x == TRUE {
                            *m |= bit;
                        }
                    }
                    matched[k] = count_true(&t);
                    taken[k] = matched[k];
                }
                if let Some(d) = self.default {
                    let bit = 1u64 << d.min(63);
                    for m in masks.iter_mut().filter(|m| **m == 0) {
                        *m = bit;
                        by_default += 1;
                    }
                }
                Codes::Tags(masks)
            }
            Mode::Points => {
                let mut total = vec![0f64; n];
                for (k, r) in self.rules.iter().enumerate() {
                    let t = r.cond.eval(frame);
                    for (s, &x) in total.iter_mut().zip(&t) {
                        if x == TRUE {
                            *s += r.points;
                        }
                    }
                    matched[k] = count_true(&t);
                    taken[k] = matched[k];
                }
                Codes::Exclusive(
                    total
                        .iter()
                        .map(|&s| {
                            self.tiers
                                .iter()
                                .find(|(min, _)| s >= *min)
                                .map(|t| t.1)
                                .or_else(|| {
                                    by_default += 1;
                                    self.default
                                })
                        })
                        .collect(),
                )
            }
        };
        let result = SchemeResult {
            scheme: self.name.clone(),
            column: self.column(),
            mode: self.mode,
            grades: self.grades.clone(),
            codes,
            separator: self.separator.clone(),
            resolved: self.resolved.clone(),
        };
        if let Some(out) = preview {
            let (counts, _) = result.counts();
            for (k, r) in self.rules.iter().enumerate() {
                out.push(RulePreview {
                    grade: r.label.clone(),
                    rule: Some(r.index),
                    when: Some(r.when.clone()),
                    matched_customers: matched[k],
                    taken_customers: taken[k],
                });
            }
            for &(_, code) in &self.tiers {
                out.push(RulePreview {
                    grade: self.grades[code as usize].clone(),
                    rule: None,
                    when: None,
                    matched_customers: counts[code as usize],
                    taken_customers: counts[code as usize],
                });
            }
            if let Some(d) = self.default {
                out.push(RulePreview {
                    grade: self.grades[d as usize].clone(),
                    rule: None,
                    when: None,
                    matched_customers: by_default,
                    taken_customers: by_default,
                });
            }
        }
        result
    }

    /// The grid cell of each customer (`None` when an axis is NULL, fractional or out of range).
    fn cells_from_frame(&self, g: &Grid, frame: &Frame<'_>) -> Vec<Option<usize>> {
        let mut cell: Vec<Option<usize>> = vec![Some(0); frame.len()];
        let w = g.width();
        let (lo, hi) = (g.lo as f64, g.hi as f64);
        for a in &g.axes {
            let vals = frame.numbers(a).unwrap_or_default();
            for (c, &x) in cell.iter_mut().zip(vals) {
                *c = match *c {
                    Some(idx) if x.fract() == 0.0 && x >= lo && x <= hi => {
                        Some(idx * w + (x - lo) as usize)
                    }
                    _ => None,
                };
            }
        }
        cell
    }
}

fn count_true(t: &[Tri]) -> usize {
    t.iter().filter(|&&x| x == TRUE).count()
}

/// Rule-by-rule counts on a table, for `clientele config check`: how many customers each rule's
/// condition matches and how many it takes, then the default (and tier) rows.
pub fn preview(
    scheme: &CompiledScheme,
    table: &CustomerTable,
) -> Result<Vec<RulePreview>, GradeError> {
    let frame = scheme.frame(table)?;
    let mut out = Vec::new();
    scheme.run(&frame, Some(&mut out));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_core::{ColumnData, Values};

    fn table(n_ids: &[&str]) -> CustomerTable {
        CustomerTable::new(n_ids.iter().map(|s| s.to_string()).collect())
    }

    fn scheme(toml_text: &str) -> SchemeConfig {
        let cfg = GradingConfig::from_toml(toml_text).unwrap();
        cfg.scheme.into_iter().next().unwrap()
    }

    fn labels(r: &SchemeResult) -> Vec<Option<String>> {
        (0..r.len())
            .map(|i| r.label(i).map(Cow::into_owned))
            .collect()
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    fn behaviour_table() -> CustomerTable {
        let mut t = table(&["a", "b", "c", "d", "e"]);
        t.push(
            "orders",
            ColumnData::Int(vec![Some(20), Some(12), Some(16), None, Some(16)].into()),
        )
        .unwrap();
        t.push(
            "monetary",
            ColumnData::Float(
                vec![
                    Some(900.0),
                    Some(450.0),
                    Some(501.0),
                    Some(1e6),
                    Some(500.0),
                ]
                .into(),
            ),
        )
        .unwrap();
        t.push(
            "categories",
            ColumnData::Int(vec![Some(6), Some(5), Some(6), Some(9), Some(6)].into()),
        )
        .unwrap();
        t
    }

    #[test]
    fn first_match_takes_the_first_true_rule_and_null_is_not_a_match() {
        let t = behaviour_table();
        let c = compile(&crate::presets::get("behaviour").unwrap(), &t).unwrap();
        let r = c.apply(&t).unwrap();
        // e: monetary 500 is not > 500 → 高级客户 (16 > 10, 500 > 400, 6 > 4)
        assert_eq!(
            labels(&r),
            [
                s("VIP"),
                s("高级客户"),
                s("VIP"),
                s("普通客户"),
                s("高级客户")
            ]
        );
        assert_eq!(r.to_column(), ColumnData::Text(labels(&r).into()));
        // labelled in the order the grades first appear, as collecting the strings does
        let want = clientele_core::Texts::from(labels(&r));
        assert!(matches!(r.to_column(), ColumnData::Text(t) if t.labels() == want.labels()));
        let p = preview(&c, &t).unwrap();
        let rows: Vec<(&str, Option<usize>, usize, usize)> = p
            .iter()
            .map(|x| {
                (
                    x.grade.as_str(),
                    x.rule,
                    x.matched_customers,
                    x.taken_customers,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("VIP", Some(1), 2, 2),
                ("高级客户", Some(2), 4, 2),
                ("普通客户", None, 1, 1)
            ]
        );
    }

    #[test]
    fn percentile_thresholds_are_resolved_and_reported() {
        let t = behaviour_table();
        let c = compile(
            &scheme(
                r#"
                [[scheme]]
                name = "big"
                rules = [{ grade = "top", when = "monetary >= p80(monetary)" }]
                default = "rest"
                "#,
            ),
            &t,
        )
        .unwrap();
        // monetary sorted: 450, 500, 501, 900, 1e6 → p80 = 900 + 0.2·(1e6 − 900)
        assert_eq!(c.resolved().len(), 1);
        assert_eq!(c.resolved()[0].expr, "p80(monetary)");
        let v = c.resolved()[0].value.unwrap();
        assert!((v - (900.0 + 0.2 * (1e6 - 900.0))).abs() < 1e-6, "{v}");
        let r = c.apply(&t).unwrap();
        assert_eq!(r.counts(), (vec![1, 4], 0));
    }

    #[test]
    fn grid_looks_up_cells_and_defaults_on_null_or_out_of_range() {
        let mut t = table(&["a", "b", "c", "d", "e", "f"]);
        t.push(
            "r_score",
            ColumnData::Int(vec![Some(5), Some(1), Some(3), None, Some(9), Some(4)].into()),
        )
        .unwrap();
        t.push(
            "f_score",
            ColumnData::Int(vec![Some(5), Some(1), Some(3), Some(2), Some(1), Some(1)].into()),
        )
        .unwrap();
        let mut cfg = crate::presets::get("rf_grid").unwrap();
        let c = compile(&cfg, &t).unwrap();
        let r = c.apply(&t).unwrap();
        assert_eq!(
            labels(&r),
            [
                s("Champions"),
                s("Hibernating"),
                s("Need Attention"),
                None,
                None,
                s("Promising")
            ]
        );
        cfg.default = Some("未评分".into());
        let c = compile(&cfg, &t).unwrap();
        let r = c.apply(&t).unwrap();
        assert_eq!(r.label(3).as_deref(), Some("未评分"));
        let p = preview(&c, &t).unwrap();
        let champions = &p[0];
        assert_eq!(
            (champions.matched_customers, champions.taken_customers),
            (1, 1)
        );
        assert_eq!(
            p.last().map(|x| (x.grade.as_str(), x.taken_customers)),
            Some(("未评分", 2))
        );
    }

    #[test]
    fn tags_are_non_exclusive_and_joined() {
        let mut t = table(&["a", "b", "c", "d"]);
        t.push(
            "income",
            ColumnData::Float(vec![Some(30000.0), Some(5000.0), None, Some(25000.0)].into()),
        )
        .unwrap();
        t.push(
            "age",
            ColumnData::Int(vec![Some(28), Some(50), None, Some(35)].into()),
        )
        .unwrap();
        let c = compile(&crate::presets::get("attributes").unwrap(), &t).unwrap();
        let r = c.apply(&t).unwrap();
        assert_eq!(
            labels(&r),
            [
                s("高收入客户;年轻客户"),
                s("成熟客户"),
                None,
                s("高收入客户;成熟客户")
            ]
        );
        assert_eq!(r.counts(), (vec![2, 1, 2], 1));
        let mut cfg = crate::presets::get("attributes").unwrap();
        cfg.default = Some("无标签".into());
        cfg.separator = Some("|".into());
        let r = compile(&cfg, &t).unwrap().apply(&t).unwrap();
        assert_eq!(r.label(2).as_deref(), Some("无标签"));
        assert_eq!(r.label(0).as_deref(), Some("高收入客户|年轻客户"));
    }

    #[test]
    fn points_add_up_to_tiers() {
        let t = behaviour_table();
        let cfg = scheme(
            r#"
            [[scheme]]
            name = "score"
            mode = "points"
            rules = [
              { when = "orders >= 15", points = 40 },
              { grade = "big spender", when = "monetary > 500", points = 50 },
              { when = "categories >= 6", points = 10 },
            ]
            tiers = [{ grade = "银卡", min_points = 50 }, { grade = "金卡", min_points = 90 }]
            default = "普通"
            "#,
        );
        let c = compile(&cfg, &t).unwrap();
        let r = c.apply(&t).unwrap();
        // a: 40+50+10 = 100 金卡; b: 0 普通; c: 100 金卡; d: NULL orders → 50+10 = 60 银卡;
        // e: 40+0+10 = 50 银卡
        assert_eq!(
            labels(&r),
            [s("金卡"), s("普通"), s("金卡"), s("银卡"), s("银卡")]
        );
        let p = preview(&c, &t).unwrap();
        assert_eq!(p[1].grade, "big spender");
        assert_eq!(p[0].grade, "orders >= 15");
        assert_eq!(
            p.iter().map(|x| x.taken_customers).collect::<Vec<_>>(),
            [3, 3, 4, 2, 2, 1]
        );
    }

    #[test]
    fn degenerate_tables_do_not_panic() {
        let cfg = crate::presets::get("behaviour").unwrap();
        // Zero customers: statistics are NULL, everyone (nobody) gets the default.
        let mut t = table(&[]);
        for c in ["orders", "categories"] {
            t.push(c, ColumnData::Int(Values::default())).unwrap();
        }
        t.push("monetary", ColumnData::Float(Values::default()))
            .unwrap();
        let r = compile(&cfg, &t).unwrap().apply(&t).unwrap();
        assert!(r.is_empty());
        let pct = crate::presets::get("behaviour_percentile").unwrap();
        let c = compile(&pct, &t).unwrap();
        assert!(c.resolved().iter().all(|x| x.value.is_none()));
        assert!(c.apply(&t).unwrap().is_empty());
        assert_eq!(preview(&c, &t).unwrap().len(), 3);
        // One customer, and identical customers: percentiles equal the value, >= matches all.
        for n in [1usize, 4] {
            let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            let mut t = CustomerTable::new(ids);
            t.push("orders", ColumnData::Int(vec![Some(3); n].into()))
                .unwrap();
            t.push("categories", ColumnData::Int(vec![Some(2); n].into()))
                .unwrap();
            t.push("monetary", ColumnData::Float(vec![Some(80.0); n].into()))
                .unwrap();
            let r = compile(&pct, &t).unwrap().apply(&t).unwrap();
            assert_eq!(r.counts(), (vec![n, 0, 0], 0));
            let r = compile(&cfg, &t).unwrap().apply(&t).unwrap();
            assert_eq!(r.counts(), (vec![0, 0, n], 0));
        }
    }

    #[test]
    fn satisfaction_preset_has_its_own_grade_for_null() {
        let mut t = table(&["a", "b", "c", "d", "e"]);
        t.push(
            "satisfaction",
            ColumnData::Float(vec![Some(4.5), Some(4.49), Some(3.0), Some(2.9), None].into()),
        )
        .unwrap();
        let r = compile(&crate::presets::get("satisfaction").unwrap(), &t)
            .unwrap()
            .apply(&t)
            .unwrap();
        assert_eq!(
            labels(&r),
            [
                s("高度满意客户"),
                s("满意客户"),
                s("满意客户"),
                s("不满意客户"),
                s("无评分")
            ]
        );
    }

    #[test]
    fn statistics_given_grade_a_few_customers_as_the_whole_table() {
        let t = behaviour_table();
        let cfg = scheme(
            r#"
            [[scheme]]
            name = "v"
            rules = [{ grade = "top", when = "monetary >= p60(monetary) AND orders > mean(orders)" }]
            default = "rest"
            "#,
        );
        let whole = compile(&cfg, &t).unwrap().apply(&t).unwrap();
        let stats: Vec<&str> = whole.resolved.iter().map(|r| r.expr.as_str()).collect();
        assert_eq!(stats, ["p60(monetary)", "mean(orders)"]);
        for row in 0..t.len() {
            let one = t.take(&[row]);
            let graded = compile_with_stats(&cfg, &one, &whole.resolved)
                .unwrap()
                .apply(&one)
                .unwrap();
            assert_eq!(graded.label(0), whole.label(row), "row {row}");
            assert_eq!(graded.resolved, whole.resolved);
        }
        // computed on one customer, p60 would be that customer's own spend
        let alone = t.take(&[2]);
        let own = compile(&cfg, &alone).unwrap().apply(&alone).unwrap();
        assert_ne!(own.resolved, whole.resolved);
        // a statistic not given is an error naming it
        let e = compile_with_stats(&cfg, &alone, &whole.resolved[..1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`mean(orders)` is not known"), "{e}");
        // the summary keeps them
        let summary = crate::summarize(&whole, &t, &crate::Playbook::builtin());
        assert_eq!(summary.resolved, whole.resolved);
    }

    #[test]
    fn applying_to_a_table_without_the_column_is_an_error() {
        let t = behaviour_table();
        let c = compile(&crate::presets::get("behaviour").unwrap(), &t).unwrap();
        let other = table(&["x"]);
        let e = c.apply(&other).unwrap_err().to_string();
        assert!(
            e.starts_with("scheme `behaviour`, rule 1 (`VIP`): column `orders` is not in"),
            "{e}"
        );
    }
}
