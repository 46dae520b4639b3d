//! The validated model ([`RfmModel`]) and what scoring returns ([`RfmResult`]).

use clientele_core::columns as col;
use clientele_core::{CustomerTable, Lang, Note, Texts};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{Method, MetricConfig, Reference, RfmConfig};
use crate::data::RfmData;
use crate::error::RfmError;
use crate::scheme::{
    CompiledScheme, Ctx, Rule, SchemeFit, SchemeResult, Segment, cn8, custom, grids, pymc,
};
use crate::score::{LevelNote, empty_level_notes, level_counts, score_all};
use crate::summary::{RfGrid, SegmentSummary, rf_grid, segment_summaries};
use crate::thresholds::{MetricData, MetricThresholds, Scorer, Thresholds, id_ranks};

/// Built-in scheme names.
pub const BUILTIN_SCHEMES: [&str; 4] = ["cn8", "rf10", "rfm11", "pymc"];

/// A checked `[rfm]` configuration, ready to score any number of data sets.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmModel {
    config: RfmConfig,
    scorers: [Scorer; 3],
    schemes: Vec<CompiledScheme>,
}

const METRICS: [&str; 3] = ["r", "f", "m"];
const METRIC_NAMES: [&str; 3] = ["recency", "frequency", "monetary"];

fn scorer(metric: &'static str, mc: &MetricConfig, default_bins: u8) -> Result<Scorer, RfmError> {
    let bad = |zh: String, en: String| {
        Err(RfmError::Method {
            metric,
            message: Note::new(zh, en),
        })
    };
    let m = mc.method.name();
    match mc.method {
        Method::Balanced | Method::Quantile | Method::Ntile => {
            if mc.cuts.is_some() {
                return bad(
                    format!(
                        "cuts 只用于 method = \"fixed\"，而不是 \"{m}\"；请去掉 cuts 或设置 \
                         method = \"fixed\""
                    ),
                    format!(
                        "cuts only apply to method = \"fixed\", not \"{m}\"; remove cuts or set \
                         method = \"fixed\""
                    ),
                );
            }
            if mc.strict.is_some() {
                return bad(
                    format!("strict 只用于 vs_mean / vs_median，而不是 \"{m}\""),
                    format!("strict only applies to vs_mean / vs_median, not \"{m}\""),
                );
            }
            let bins = mc.bins.unwrap_or(default_bins);
            if !(2..=9).contains(&bins) {
                return Err(RfmError::Bins { metric, bins });
            }
            Ok(Scorer {
                method: mc.method,
                bins,
                cuts: None,
                strict: true,
            })
        }
        Method::Fixed => {
            let Some(cuts) = &mc.cuts else {
                return bad(
                    "method = \"fixed\" 需要 cuts = [c1, c2, …]（按原始值递增的切分点；\
                     级数 = 切分点数 + 1）"
                        .into(),
                    "method = \"fixed\" needs cuts = [c1, c2, …] (increasing raw-value cut \
                     points; bins = number of cuts + 1)"
                        .into(),
                );
            };
            if cuts.is_empty() || cuts.len() > 8 {
                return bad(
                    format!(
                        "fixed 的 cuts 应有 1 到 8 个值（2 到 9 级），实际为 {}",
                        cuts.len()
                    ),
                    format!(
                        "fixed cuts must have 1 to 8 values (2 to 9 levels), got {}",
                        cuts.len()
                    ),
                );
            }
            if let Some(c) = cuts.iter().find(|c| !c.is_finite()) {
                return bad(
                    format!("fixed 的切分点 {c} 不是有限数"),
                    format!("fixed cut point {c} is not a finite number"),
                );
            }
            if let Some(w) = cuts.windows(2).find(|w| w[0] >= w[1]) {
                return bad(
                    format!("fixed 的 cuts 应严格递增，但 {} 之后是 {}", w[0], w[1]),
                    format!(
                        "fixed cuts must be strictly increasing, but {} is followed by {}",
                        w[0], w[1]
                    ),
                );
            }
            let bins = cuts.len() as u8 + 1;
            if let Some(b) = mc.bins
                && b != bins
            {
                return bad(
                    format!(
                        "bins = {b}，但 {} 个切分点构成 {bins} 级；请去掉 bins 或修正 cuts",
                        cuts.len()
                    ),
                    format!(
                        "bins = {b} but {} cuts make {bins} levels; drop bins or fix cuts",
                        cuts.len()
                    ),
                );
            }
            if mc.strict.is_some() {
                return bad(
                    "strict 只用于 vs_mean / vs_median，而不是 \"fixed\"".into(),
                    "strict only applies to vs_mean / vs_median, not \"fixed\"".into(),
                );
            }
            Ok(Scorer {
                method: Method::Fixed,
                bins,
                cuts: Some(cuts.clone()),
                strict: true,
            })
        }
        Method::VsMean | Method::VsMedian => {
            if let Some(b) = mc.bins
                && b != 2
            {
                return bad(
                    format!("method = \"{m}\" 总是 2 级（低/高），实际 bins = {b}；请去掉 bins"),
                    format!(
                        "method = \"{m}\" always has 2 levels (low/high), got bins = {b}; drop bins"
                    ),
                );
            }
            if mc.cuts.is_some() {
                return bad(
                    format!("cuts 只用于 method = \"fixed\"，而不是 \"{m}\""),
                    format!("cuts only apply to method = \"fixed\", not \"{m}\""),
                );
            }
            Ok(Scorer {
                method: mc.method,
                bins: 2,
                cuts: None,
                strict: mc.strict.unwrap_or(true),
            })
        }
    }
}

impl RfmModel {
    /// Checks the configuration and compiles the schemes (gaps, overlaps and bin mismatches are
    /// reported here, before any data is read).
    pub fn new(config: RfmConfig) -> Result<RfmModel, RfmError> {
        if !(2..=9).contains(&config.bins) {
            return Err(RfmError::Bins {
                metric: "bins",
                bins: config.bins,
            });
        }
        let scorers = [
            scorer("r", &config.r, config.bins)?,
            scorer("f", &config.f, config.bins)?,
            scorer("m", &config.m, config.bins)?,
        ];
        let mut dims = [scorers[0].bins, scorers[1].bins, scorers[2].bins];
        if let Some(fz) = &config.frozen {
            let parts = [&fz.recency, &fz.frequency, &fz.monetary];
            for (k, t) in parts.iter().enumerate() {
                t.validate(METRIC_NAMES[k], k != 0)?;
                dims[k] = t.bins;
            }
            if let Some(q) = &fz.pymc {
                for (k, e) in [&q.recency, &q.frequency, &q.monetary].iter().enumerate() {
                    if e.len() > 3
                        || e.iter().any(|c| !c.is_finite())
                        || e.windows(2).any(|w| w[0] >= w[1])
                    {
                        return Err(RfmError::Frozen {
                            metric: METRIC_NAMES[k],
                            message: Note::new(
                                format!("pymc 四分位切分点 {e:?} 应为至多 3 个严格递增的有限数"),
                                format!(
                                    "pymc quartile edges {e:?} must be at most 3 finite, \
                                     strictly increasing values"
                                ),
                            ),
                        });
                    }
                }
            }
            if let Some(c) = &fz.cn8
                && ![c.r, c.f, c.m].iter().all(|x| x.is_finite())
            {
                return Err(RfmError::Cn8(Note::new(
                    "冻结的参考值必须是有限数",
                    "frozen reference values must be finite",
                )));
            }
        }
        // Scheme list.
        let mut seen: Vec<&str> = Vec::new();
        for c in &config.custom {
            if BUILTIN_SCHEMES.contains(&c.name.as_str()) || seen.contains(&c.name.as_str()) {
                return Err(RfmError::DuplicateScheme(c.name.clone()));
            }
            seen.push(&c.name);
        }
        let names: Vec<String> = match &config.schemes {
            Some(s) => s.clone(),
            None => {
                let mut v = vec!["cn8".to_string()];
                if dims[0] == 5 && dims[1] == 5 {
                    v.push("rf10".into());
                }
                if dims == [5, 5, 5] {
                    v.push("rfm11".into());
                }
                v.push("pymc".into());
                v.extend(config.custom.iter().map(|c| c.name.clone()));
                v
            }
        };
        let mut schemes = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(RfmError::DuplicateScheme(name.clone()));
            }
            let need5 = |scheme: &'static str, axes: &[usize]| -> Result<(), RfmError> {
                for &k in axes {
                    if dims[k] != 5 {
                        return Err(RfmError::SchemeGrid {
                            scheme,
                            metric: METRICS[k],
                            needed: 5,
                            bins: dims[k],
                        });
                    }
                }
                Ok(())
            };
            let compiled = match name.as_str() {
                "cn8" => {
                    let c = &config.cn8;
                    match (c.reference, c.values.is_some()) {
                        (Reference::Value, false) => {
                            return Err(RfmError::Cn8(Note::new(
                                "reference = \"value\" 需要 values = { r = …, f = …, m = … }",
                                "reference = \"value\" needs values = { r = …, f = …, m = … }",
                            )));
                        }
                        (Reference::Mean | Reference::Median, true) => {
                            return Err(RfmError::Cn8(Note::new(
                                "values 只与 reference = \"value\" 一起使用；请去掉它们，\
                                 或设置 reference = \"value\"",
                                "values are only used with reference = \"value\"; remove them \
                                 or set reference = \"value\"",
                            )));
                        }
                        _ => {}
                    }
                    if let Some(v) = c.values
                        && ![v.r, v.f, v.m].iter().all(|x| x.is_finite())
                    {
                        return Err(RfmError::Cn8(Note::new(
                            "values 必须是有限数",
                            "values must be finite numbers",
                        )));
                    }
                    CompiledScheme {
                        name: name.clone(),
                        segments: cn8::segments(),
                        rule: Rule::Cn8(c.clone()),
                    }
                }
                "rf10" => {
                    need5("rf10", &[0, 1])?;
                    let (segments, g) = grids::rf10(dims[2]);
                    CompiledScheme {
                        name: name.clone(),
                        segments,
                        rule: Rule::Grid(g),
                    }
                }
                "rfm11" => {
                    need5("rfm11", &[0, 1, 2])?;
                    let (segments, g) = grids::rfm11();
                    CompiledScheme {
                        name: name.clone(),
                        segments,
                        rule: Rule::Grid(g),
                    }
                }
                "pymc" => CompiledScheme {
                    name: name.clone(),
                    segments: pymc::segments(),
                    rule: Rule::Pymc,
                },
                other => {
                    let Some(c) = config.custom.iter().find(|c| c.name == other) else {
                        let mut known: Vec<&str> = BUILTIN_SCHEMES.to_vec();
                        known.extend(config.custom.iter().map(|c| c.name.as_str()));
                        return Err(RfmError::UnknownScheme {
                            name: other.to_string(),
                            known: known.join(", "),
                        });
                    };
                    let (segments, g) = custom::compile(c, dims)?;
                    CompiledScheme {
                        name: name.clone(),
                        segments,
                        rule: Rule::Grid(g),
                    }
                }
            };
            schemes.push(compiled);
        }
        Ok(RfmModel {
            config,
            scorers,
            schemes,
        })
    }

    /// The configuration this model was built from.
    pub fn config(&self) -> &RfmConfig {
        &self.config
    }

    /// Names of the schemes that will run, in output order.
    pub fn scheme_names(&self) -> Vec<&str> {
        self.schemes.iter().map(|s| s.name.as_str()).collect()
    }

    /// Scores a customer table (columns `recency_days` and the configured frequency and
    /// monetary columns; `monetary` for revenue).
    pub fn score_table(&self, table: &CustomerTable) -> Result<RfmResult, RfmError> {
        let data = RfmData::from_table(table, self.config.frequency, self.config.monetary)?;
        Ok(self.score(&data))
    }

    /// [`RfmModel::score_table`] a part of the customers at a time
    /// ([`CustomerTable::part_ranges`]): the cut points and the schemes' references taken from
    /// every customer's three values, then each part scored and segmented with them, `each`
    /// handed each part's rows in order (to write them); the report of the whole table
    /// returned, as one call gives it.
    pub fn score_table_by_parts<E: From<RfmError>>(
        &self,
        table: &CustomerTable,
        mut each: impl FnMut(&RfmRows) -> Result<(), E>,
    ) -> Result<RfmReport, E> {
        let data = RfmData::from_table(table, self.config.frequency, self.config.monetary)?;
        let fit = self.fit(&data);
        let ranges = table.part_ranges();
        let mut whole: Option<RfmRows> = None;
        // as many parts at a time as there are threads, handed on in order
        for window in ranges.chunks(rayon::current_num_threads().max(1)) {
            let scored: Vec<RfmRows> = window
                .par_iter()
                .map(|rows| {
                    if *rows == (0..data.len()) {
                        self.rows_of(&fit, &data)
                    } else {
                        self.rows_of(&fit, &data.rows(rows.clone()))
                    }
                })
                .collect();
            for scored in scored {
                each(&scored)?;
                match &mut whole {
                    None => whole = Some(scored),
                    Some(w) => w.append(scored),
                }
            }
        }
        let whole = whole.unwrap_or_else(|| self.rows_of(&fit, &data));
        // the report has no per-customer codes: they are not made
        Ok(self.result_without_codes(fit, whole, &data).report())
    }

    /// Scores validated data. Cannot fail: data problems are caught when [`RfmData`] is built.
    pub fn score(&self, data: &RfmData) -> RfmResult {
        let fit = self.fit(data);
        let rows = self.rows_of(&fit, data);
        self.result(fit, rows, data)
    }

    /// What scoring takes from every customer: each metric's cut points (frozen ones when
    /// given) and each scheme's references.
    fn fit(&self, data: &RfmData) -> Fit {
        let values: [&[f64]; 3] = [&data.recency_days, &data.frequency, &data.monetary];
        let columns = [
            col::RECENCY_DAYS,
            data.frequency_column,
            data.monetary_column,
        ];
        // equal under `total_cmp` is equal bit for bit: any sort gives the same vector
        let sorted: [Vec<f64>; 3] = values.map(|v| {
            let mut s = v.to_vec();
            s.par_sort_unstable_by(f64::total_cmp);
            s
        });
        let frozen = self.config.frozen.as_ref();
        let needs_rank = frozen.is_none()
            && self
                .scorers
                .iter()
                .filter(|s| s.method == Method::Ntile)
                .count()
                > 1;
        let id_rank = needs_rank.then(|| id_ranks(&data.ids));
        let th: [MetricThresholds; 3] = std::array::from_fn(|k| match frozen {
            Some(fz) => [&fz.recency, &fz.frequency, &fz.monetary][k].clone(),
            None => self.scorers[k].thresholds(&MetricData {
                column: columns[k],
                values: values[k],
                sorted: &sorted[k],
                ids: &data.ids,
                id_rank: id_rank.as_deref(),
                higher_is_better: k != 0,
            }),
        });
        // every customer's scores, only for a split against the mean or median score
        let scores: [Vec<u8>; 3] = if self.schemes.iter().any(|s| s.fit_reads_scores()) {
            std::array::from_fn(|k| score_all(&th[k], values[k], &data.ids))
        } else {
            Default::default()
        };
        let ctx = Ctx {
            data,
            r: &scores[0],
            f: &scores[1],
            m: &scores[2],
            sorted: [&sorted[0], &sorted[1], &sorted[2]],
            frozen,
        };
        let schemes = self.schemes.iter().map(|s| s.fit(&ctx)).collect();
        Fit {
            sorted,
            thresholds: th,
            schemes,
        }
    }

    /// The scores and segments of the customers of `data` (all of them or a part) by `fit`.
    fn rows_of(&self, fit: &Fit, data: &RfmData) -> RfmRows {
        let values: [&[f64]; 3] = [&data.recency_days, &data.frequency, &data.monetary];
        let [r_score, f_score, m_score]: [Vec<u8>; 3] =
            std::array::from_fn(|k| score_all(&fit.thresholds[k], values[k], &data.ids));
        let ctx = Ctx {
            data,
            r: &r_score,
            f: &f_score,
            m: &m_score,
            sorted: [&fit.sorted[0], &fit.sorted[1], &fit.sorted[2]],
            frozen: None,
        };
        let (labels, high) = (self.schemes.iter().zip(&fit.schemes))
            .map(|(s, f)| s.labels(f, &ctx))
            .unzip();
        RfmRows {
            r_score,
            f_score,
            m_score,
            schemes: self
                .schemes
                .iter()
                .map(|s| (s.name.clone(), s.segments.clone()))
                .collect(),
            labels,
            high,
        }
    }

    /// The result of every customer's rows: codes, counts, notes, segment summaries and the
    /// grid.
    fn result(&self, fit: Fit, rows: RfmRows, data: &RfmData) -> RfmResult {
        let rfm_code = (0..rows.len()).map(|i| rows.rfm_code(i)).collect();
        RfmResult {
            rfm_code,
            ..self.result_without_codes(fit, rows, data)
        }
    }

    /// [`Self::result`] without the per-customer codes (a string each: 0.7 GB at 18M
    /// customers), for a report.
    fn result_without_codes(&self, fit: Fit, rows: RfmRows, data: &RfmData) -> RfmResult {
        let Fit {
            sorted,
            thresholds: th,
            schemes: fits,
        } = fit;
        let scores = [&rows.r_score, &rows.f_score, &rows.m_score];
        let counts: [Vec<u64>; 3] = std::array::from_fn(|k| level_counts(scores[k], th[k].bins));
        let notes = (0..3)
            .flat_map(|k| empty_level_notes(METRIC_NAMES[k], &th[k], &counts[k], &sorted[k]))
            .collect();
        let n = data.len();
        let schemes = (self.schemes.iter().zip(&fits))
            .zip(rows.labels.into_iter().zip(&rows.high))
            .map(|((s, f), (labels, &high))| SchemeResult {
                name: s.name.clone(),
                summary: segment_summaries(&s.segments, &labels, data),
                segments: s.segments.clone(),
                labels,
                notes: s.notes(f, high, n),
            })
            .collect();
        let grid = rf_grid(
            &rows.r_score,
            &rows.f_score,
            th[0].bins,
            th[1].bins,
            &data.monetary,
        );
        let [recency, frequency, monetary] = th;
        let [cr, cf, cm] = counts;
        RfmResult {
            r_score: rows.r_score,
            f_score: rows.f_score,
            m_score: rows.m_score,
            rfm_code: Vec::new(),
            thresholds: Thresholds {
                recency,
                frequency,
                monetary,
                cn8: fits.iter().find_map(SchemeFit::cn8),
                pymc: fits.iter().find_map(SchemeFit::pymc),
            },
            level_counts: LevelCounts {
                recency: cr,
                frequency: cf,
                monetary: cm,
            },
            notes,
            schemes,
            rf_grid: grid,
        }
    }
}

/// What [`RfmModel`] takes from every customer before scoring any.
struct Fit {
    /// Each metric's values, sorted (the empty-level notes read them).
    sorted: [Vec<f64>; 3],
    thresholds: [MetricThresholds; 3],
    schemes: Vec<SchemeFit>,
}

/// The scores and segments of some customers, in row order: a part of a table scored part by
/// part ([`RfmModel::score_table_by_parts`]).
#[derive(Debug, Clone)]
pub struct RfmRows {
    /// Recency score (most recent = highest).
    pub r_score: Vec<u8>,
    /// Frequency score.
    pub f_score: Vec<u8>,
    /// Monetary score.
    pub m_score: Vec<u8>,
    /// Each scheme's name and segments, in configured order.
    pub schemes: Vec<(String, Vec<Segment>)>,
    /// Each scheme's segment (index into its segments) per customer.
    labels: Vec<Vec<u16>>,
    /// Each scheme's customers high on R, F and M (8-class).
    high: Vec<[usize; 3]>,
}

impl RfmRows {
    /// Number of customers.
    pub fn len(&self) -> usize {
        self.r_score.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.r_score.is_empty()
    }

    /// Customer `i`'s scores as one code, e.g. `"545"`.
    pub fn rfm_code(&self, i: usize) -> String {
        [self.r_score[i], self.f_score[i], self.m_score[i]]
            .iter()
            .map(|&s| char::from(b'0' + s))
            .collect()
    }

    /// The `rfm_code` column: [`RfmRows::rfm_code`] of every customer, without a string
    /// each (scores are digits, so a code is one of a thousand).
    pub fn code_column(&self) -> Texts {
        let scores = || self.r_score.iter().zip(&self.f_score).zip(&self.m_score);
        if scores().any(|((&r, &f), &m)| r.max(f).max(m) > 9) {
            return (0..self.len()).map(|i| Some(self.rfm_code(i))).collect();
        }
        let codes: Vec<String> = (0..1000).map(|c| format!("{c:03}")).collect();
        let index = |((&r, &f), &m): ((&u8, &u8), &u8)| {
            Some(usize::from(r) * 100 + usize::from(f) * 10 + usize::from(m))
        };
        Texts::from_indices(&codes, scores().map(index))
    }

    /// Each customer's segment under the `s`-th scheme, named in `lang`.
    pub fn segment_column(&self, s: usize, lang: Lang) -> Texts {
        let names: Vec<&str> = self.schemes[s].1.iter().map(|g| g.name(lang)).collect();
        Texts::from_indices(&names, self.labels[s].iter().map(|&l| Some(usize::from(l))))
    }

    /// Customer `i`'s segment under the `s`-th scheme.
    pub fn segment(&self, s: usize, i: usize) -> &Segment {
        &self.schemes[s].1[usize::from(self.labels[s][i])]
    }

    /// `next`'s customers after these.
    fn append(&mut self, next: RfmRows) {
        self.r_score.extend(next.r_score);
        self.f_score.extend(next.f_score);
        self.m_score.extend(next.m_score);
        for (a, b) in self.labels.iter_mut().zip(next.labels) {
            a.extend(b);
        }
        for (a, b) in self.high.iter_mut().zip(next.high) {
            for k in 0..3 {
                a[k] += b[k];
            }
        }
    }
}

/// Customers per score level (index 0 = score 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LevelCounts {
    /// R levels.
    pub recency: Vec<u64>,
    /// F levels.
    pub frequency: Vec<u64>,
    /// M levels.
    pub monetary: Vec<u64>,
}

/// Everything one scoring run produced. Per-customer vectors are in input row order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RfmResult {
    /// Recency score (most recent = highest).
    pub r_score: Vec<u8>,
    /// Frequency score.
    pub f_score: Vec<u8>,
    /// Monetary score.
    pub m_score: Vec<u8>,
    /// Scores as one string, e.g. `"545"`.
    pub rfm_code: Vec<String>,
    /// Thresholds used; give them back via `rfm.frozen` to score later runs the same way.
    pub thresholds: Thresholds,
    /// Customers per score level.
    pub level_counts: LevelCounts,
    /// One note per empty score level, saying why it is empty.
    pub notes: Vec<LevelNote>,
    /// One result per scheme, in configured order.
    pub schemes: Vec<SchemeResult>,
    /// R×F counts and mean monetary for the heatmap.
    pub rf_grid: RfGrid,
}

/// [`RfmResult`] without per-customer rows: the part that goes into `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RfmReport {
    /// Customers scored.
    pub customers: usize,
    /// Thresholds used.
    pub thresholds: Thresholds,
    /// Customers per score level.
    pub level_counts: LevelCounts,
    /// Empty-level explanations.
    pub notes: Vec<LevelNote>,
    /// Per-scheme segment summaries.
    pub schemes: Vec<SchemeReport>,
    /// R×F heatmap data.
    pub rf_grid: RfGrid,
}

/// One scheme's summary without per-customer labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SchemeReport {
    /// Scheme name.
    pub name: String,
    /// Segments with their counts and value.
    pub segments: Vec<SegmentSummary>,
    /// Caveats, in both languages.
    pub notes: Vec<clientele_core::Note>,
}

impl RfmResult {
    /// Number of customers scored.
    pub fn len(&self) -> usize {
        self.r_score.len()
    }

    /// True when no customers were scored.
    pub fn is_empty(&self) -> bool {
        self.r_score.is_empty()
    }

    /// The result of one scheme by name.
    pub fn scheme(&self, name: &str) -> Option<&SchemeResult> {
        self.schemes.iter().find(|s| s.name == name)
    }

    /// The segment of customer `row` under scheme `name`.
    pub fn segment(&self, name: &str, row: usize) -> Option<&Segment> {
        self.scheme(name).map(|s| s.segment_of(row))
    }

    /// The thresholds to freeze (put in `rfm.frozen`).
    pub fn frozen(&self) -> Thresholds {
        self.thresholds.clone()
    }

    /// The summary part, for `summary.json`.
    pub fn report(&self) -> RfmReport {
        RfmReport {
            customers: self.len(),
            thresholds: self.thresholds.clone(),
            level_counts: self.level_counts.clone(),
            notes: self.notes.clone(),
            schemes: self
                .schemes
                .iter()
                .map(|s| SchemeReport {
                    name: s.name.clone(),
                    segments: s.summary.clone(),
                    notes: s.notes.clone(),
                })
                .collect(),
            rf_grid: self.rf_grid.clone(),
        }
    }
}
