//! Segment schemes: names per customer from scores (or, for the 8-class scheme on raw values and
//! PyMC's quartiles, from the raw metrics). Grid schemes are compiled once into a lookup table
//! over every (R, F, M) cell, which is both fast and what makes gaps and overlaps checkable.

pub mod cn8;
pub mod custom;
pub mod grids;
pub mod pymc;

use clientele_core::Note;
use serde::{Deserialize, Serialize};

use crate::data::RfmData;
use crate::summary::SegmentSummary;
use crate::thresholds::Thresholds;

pub use clientele_core::Lang;

/// A segment: a stable id (for files and APIs) and display names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Segment {
    /// Stable ASCII id, e.g. `important_value`, `champions`.
    pub id: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
}

impl Segment {
    pub(crate) fn new(id: &str, zh: &str, en: &str) -> Segment {
        Segment {
            id: id.to_string(),
            zh: zh.to_string(),
            en: en.to_string(),
        }
    }

    /// The name in one language.
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// Complete lookup over the score grid: one segment index per (R, F, M) cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    pub dims: [u8; 3],
    pub cells: Vec<u16>,
}

impl Grid {
    /// Builds a grid by calling `f(r, f, m)` for every cell (scores 1-based).
    pub(crate) fn build(dims: [u8; 3], mut f: impl FnMut(u8, u8, u8) -> u16) -> Grid {
        let mut cells = Vec::with_capacity(dims.iter().map(|&d| usize::from(d)).product());
        for r in 1..=dims[0] {
            for fq in 1..=dims[1] {
                for m in 1..=dims[2] {
                    cells.push(f(r, fq, m));
                }
            }
        }
        Grid { dims, cells }
    }

    #[inline]
    pub(crate) fn get(&self, r: u8, f: u8, m: u8) -> u16 {
        let [_, df, dm] = self.dims;
        let i = (usize::from(r - 1) * usize::from(df) + usize::from(f - 1)) * usize::from(dm)
            + usize::from(m - 1);
        self.cells[i]
    }
}

/// How a compiled scheme assigns segments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    Grid(Grid),
    Cn8(crate::config::Cn8Config),
    Pymc,
}

/// A validated scheme ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledScheme {
    pub name: String,
    pub segments: Vec<Segment>,
    pub rule: Rule,
}

/// What a scheme needs to label customers.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub data: &'a RfmData,
    pub r: &'a [u8],
    pub f: &'a [u8],
    pub m: &'a [u8],
    /// Sorted raw values, for means/quantiles independent of row order.
    pub sorted: [&'a [f64]; 3],
    pub frozen: Option<&'a Thresholds>,
}

/// What a scheme takes from every customer before it labels any: the 8-class references, the
/// PyMC quartile edges (frozen ones when given).
#[derive(Debug, Clone)]
pub(crate) enum SchemeFit {
    Grid,
    Cn8(Option<cn8::Cn8Reference>),
    Pymc(pymc::PymcQuartiles),
}

impl SchemeFit {
    /// The 8-class references, to report.
    pub fn cn8(&self) -> Option<cn8::Cn8Reference> {
        match self {
            SchemeFit::Cn8(r) => *r,
            _ => None,
        }
    }

    /// The quartile edges, to report.
    pub fn pymc(&self) -> Option<pymc::PymcQuartiles> {
        match self {
            SchemeFit::Pymc(q) => Some(q.clone()),
            _ => None,
        }
    }
}

impl CompiledScheme {
    /// The scheme's fit on every customer of `ctx` (whose `sorted` values, and scores for an
    /// 8-class split on scores, are every customer's).
    pub(crate) fn fit(&self, ctx: &Ctx<'_>) -> SchemeFit {
        match &self.rule {
            Rule::Grid(_) => SchemeFit::Grid,
            Rule::Cn8(cfg) => SchemeFit::Cn8(cn8::fit(cfg, ctx)),
            Rule::Pymc => SchemeFit::Pymc(pymc::fit(ctx)),
        }
    }

    /// Whether the fit reads every customer's scores (an 8-class split against the mean or
    /// median score).
    pub(crate) fn fit_reads_scores(&self) -> bool {
        matches!(&self.rule, Rule::Cn8(cfg) if cfg.on == crate::config::CompareOn::Score
            && cfg.reference != crate::config::Reference::Value)
    }

    /// The segment of each customer of `ctx` (any of them: a part of the customers is
    /// labelled as all of them are), and how many are high on R, F and M (8-class).
    pub(crate) fn labels(&self, fit: &SchemeFit, ctx: &Ctx<'_>) -> (Vec<u16>, [usize; 3]) {
        match (&self.rule, fit) {
            (Rule::Grid(g), _) => (
                ctx.r
                    .iter()
                    .zip(ctx.f)
                    .zip(ctx.m)
                    .map(|((&r, &f), &m)| g.get(r, f, m))
                    .collect(),
                [0; 3],
            ),
            (Rule::Cn8(_), SchemeFit::Cn8(rf)) => cn8::labels(rf.as_ref(), ctx),
            (Rule::Pymc, SchemeFit::Pymc(q)) => (pymc::labels(q, ctx), [0; 3]),
            // a fit is made by its own scheme
            _ => (Vec::new(), [0; 3]),
        }
    }

    /// Caveats about the scheme on `n` customers, `high` of them high on R, F and M.
    pub(crate) fn notes(&self, fit: &SchemeFit, high: [usize; 3], n: usize) -> Vec<Note> {
        match fit {
            SchemeFit::Grid => Vec::new(),
            SchemeFit::Cn8(rf) => cn8::notes(rf.as_ref(), high, n),
            SchemeFit::Pymc(q) => pymc::notes(q, n),
        }
    }
}

/// One scheme's labels and per-segment summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SchemeResult {
    /// Scheme name (`cn8`, `rf10`, `rfm11`, `pymc` or a custom name).
    pub name: String,
    /// Segments in the scheme's order; `labels` index into this.
    pub segments: Vec<Segment>,
    /// Segment index per customer, in input row order.
    pub labels: Vec<u16>,
    /// Per-segment counts and value, in `segments` order (empty segments included).
    pub summary: Vec<SegmentSummary>,
    /// Caveats about this run of the scheme (degenerate data, deviations from the source tool).
    pub notes: Vec<Note>,
}

impl SchemeResult {
    /// The segment of customer `row`.
    pub fn segment_of(&self, row: usize) -> &Segment {
        &self.segments[usize::from(self.labels[row])]
    }

    /// Segment names per customer in one language, in row order.
    pub fn names(&self, lang: Lang) -> Vec<&str> {
        self.labels
            .iter()
            .map(|&l| self.segments[usize::from(l)].name(lang))
            .collect()
    }
}
