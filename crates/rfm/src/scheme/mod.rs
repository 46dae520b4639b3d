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

/// Labels from one scheme, plus anything it computed that belongs in the thresholds.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub labels: Vec<u16>,
    pub notes: Vec<Note>,
    pub cn8: Option<cn8::Cn8Reference>,
    pub pymc: Option<pymc::PymcQuartiles>,
}

impl CompiledScheme {
    pub(crate) fn apply(&self, ctx: &Ctx<'_>) -> Applied {
        match &self.rule {
            Rule::Grid(g) => Applied {
                labels: ctx
                    .r
                    .iter()
                    .zip(ctx.f)
                    .zip(ctx.m)
                    .map(|((&r, &f), &m)| g.get(r, f, m))
                    .collect(),
                ..Applied::default()
            },
            Rule::Cn8(cfg) => cn8::apply(cfg, ctx),
            Rule::Pymc => pymc::apply(ctx),
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
