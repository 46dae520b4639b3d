//! The two built-in lookup grids on 1–5 scores.
//!
//! * `rf10`: the R×F 10-segment grid (Guillaume Martin's regex map, anchored); M is ignored.
//!   It is a complete partition of the 25 R×F cells (segmentation.md §2.4).
//! * `rfm11`: the 11-segment R×FM scheme with FM = ⌈(F+M)/2⌉ (half steps round up). The
//!   circulated interval list overlaps so that only 7 of its 11 segments can ever be assigned
//!   (§2.3); this explicit grid keeps each segment inside its published R and FM ranges and
//!   makes all 11 reachable:
//!
//! ```text
//! R\FM  1               2                 3                 4           5
//! 5     New             Potential loyal.  Potential loyal.  Champions   Champions
//! 4     Promising       Potential loyal.  Loyal             Champions   Champions
//! 3     About to sleep  Need attention    Need attention    Loyal       Loyal
//! 2     Hibernating     Hibernating       At risk           At risk     At risk
//! 1     Lost            Hibernating       At risk           Can't lose  Can't lose
//! ```

use super::{Grid, Segment};

const CHAMPIONS: u16 = 0;
const LOYAL: u16 = 1;
const POTENTIAL: u16 = 2;
const NEW: u16 = 3;
const PROMISING: u16 = 4;
const NEED_ATTENTION: u16 = 5;
const ABOUT_TO_SLEEP: u16 = 6;
const AT_RISK: u16 = 7;
const CANT_LOSE: u16 = 8;
const HIBERNATING: u16 = 9;
const LOST: u16 = 10;

fn named() -> Vec<Segment> {
    vec![
        Segment::new("champions", "冠军客户", "Champions"),
        Segment::new("loyal_customers", "忠诚客户", "Loyal customers"),
        Segment::new("potential_loyalists", "潜在忠诚客户", "Potential loyalists"),
        Segment::new("new_customers", "新客户", "New customers"),
        Segment::new("promising", "有潜力客户", "Promising"),
        Segment::new("need_attention", "需要关注客户", "Need attention"),
        Segment::new("about_to_sleep", "即将沉睡客户", "About to sleep"),
        Segment::new("at_risk", "有流失风险客户", "At risk"),
        Segment::new("cant_lose", "不能失去的客户", "Can't lose them"),
        Segment::new("hibernating", "休眠客户", "Hibernating"),
        Segment::new("lost", "流失客户", "Lost"),
    ]
}

/// The R×F 10-segment grid, rows R = 1..5, columns F = 1..5.
const RF10: [[u16; 5]; 5] = [
    [HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANT_LOSE],
    [HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANT_LOSE],
    [ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEED_ATTENTION, LOYAL, LOYAL],
    [PROMISING, POTENTIAL, POTENTIAL, LOYAL, LOYAL],
    [NEW, POTENTIAL, POTENTIAL, CHAMPIONS, CHAMPIONS],
];

/// The R×FM 11-segment grid, rows R = 1..5, columns FM = 1..5.
const RFM11: [[u16; 5]; 5] = [
    [LOST, HIBERNATING, AT_RISK, CANT_LOSE, CANT_LOSE],
    [HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, AT_RISK],
    [ABOUT_TO_SLEEP, NEED_ATTENTION, NEED_ATTENTION, LOYAL, LOYAL],
    [PROMISING, POTENTIAL, LOYAL, CHAMPIONS, CHAMPIONS],
    [NEW, POTENTIAL, POTENTIAL, CHAMPIONS, CHAMPIONS],
];

/// Segments and grid of `rf10` (10 segments: `lost` is not part of it). M is ignored, so the
/// grid spans however many M levels there are.
pub(crate) fn rf10(m_bins: u8) -> (Vec<Segment>, Grid) {
    let mut segs = named();
    segs.truncate(10);
    let g = Grid::build([5, 5, m_bins], |r, f, _| {
        RF10[usize::from(r - 1)][usize::from(f - 1)]
    });
    (segs, g)
}

/// FM bucket of an (F, M) pair: the mean rounded half up.
pub fn fm_bucket(f: u8, m: u8) -> u8 {
    (f + m).div_ceil(2)
}

/// Segments and grid of `rfm11`.
pub(crate) fn rfm11() -> (Vec<Segment>, Grid) {
    let g = Grid::build([5, 5, 5], |r, f, m| {
        RFM11[usize::from(r - 1)][usize::from(fm_bucket(f, m) - 1)]
    });
    (named(), g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rf10_matches_the_regex_map() {
        let (segs, g) = rf10(5);
        let name = |r, f| segs[usize::from(g.get(r, f, 1))].id.as_str();
        assert_eq!(name(5, 1), "new_customers");
        assert_eq!(name(4, 1), "promising");
        assert_eq!(name(3, 3), "need_attention");
        assert_eq!(name(5, 5), "champions");
        assert_eq!(name(4, 5), "loyal_customers");
        assert_eq!(name(3, 4), "loyal_customers");
        assert_eq!(name(2, 5), "cant_lose");
        assert_eq!(name(1, 3), "at_risk");
        assert_eq!(name(2, 2), "hibernating");
        assert_eq!(name(3, 2), "about_to_sleep");
        assert_eq!(name(4, 3), "potential_loyalists");
        let mut used = vec![0; segs.len()];
        for &c in &g.cells {
            used[usize::from(c)] += 1;
        }
        assert!(
            used.iter().all(|&u| u > 0),
            "every segment reachable: {used:?}"
        );
    }

    #[test]
    fn rfm11_reaches_all_eleven_segments() {
        let (segs, g) = rfm11();
        let mut used = vec![0; segs.len()];
        for &c in &g.cells {
            used[usize::from(c)] += 1;
        }
        assert!(used.iter().all(|&u| u > 0), "{used:?}");
        assert_eq!(fm_bucket(4, 5), 5);
        assert_eq!(fm_bucket(3, 4), 4);
        assert_eq!(fm_bucket(1, 1), 1);
        // 4 F/M combos give FM = 1 only via (1,1); R=1 FM=1 is Lost.
        assert_eq!(segs[usize::from(g.get(1, 1, 1))].id, "lost");
        assert_eq!(segs[usize::from(g.get(1, 1, 2))].id, "hibernating");
    }
}
