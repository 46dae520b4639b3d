//! User grids: rules of inclusive (R, F, M) score ranges compiled into a complete lookup grid.
//! Checked on the discrete grid before use, because published rule sets silently overlap and
//! leave gaps (segmentation.md §2.1–2.3): every cell must be covered (or a default given), rules
//! may not overlap unless `first_match = true`, and no rule may be unreachable.

use super::{Grid, Segment};
use crate::config::CustomScheme;
use crate::error::RfmError;

const MAX_LISTED: usize = 12;

fn cell_name(r: u8, f: u8, m: u8) -> String {
    format!("R{r}F{f}M{m}")
}

fn list(cells: &[String]) -> String {
    let mut s = cells
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if cells.len() > MAX_LISTED {
        s.push_str(&format!(", … ({} more)", cells.len() - MAX_LISTED));
    }
    s
}

fn slug(en: &str) -> String {
    let mut s: String = en
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    s.trim_matches('_').to_string()
}

/// Validates `scheme` on a grid with `dims` levels and compiles it.
pub(crate) fn compile(
    scheme: &CustomScheme,
    dims: [u8; 3],
) -> Result<(Vec<Segment>, Grid), RfmError> {
    let err = |zh: String, en: String| RfmError::Custom {
        scheme: scheme.name.clone(),
        message: clientele_core::Note::new(zh, en),
    };
    if scheme.rules.is_empty() {
        return Err(err(
            "没有规则；请添加规则，例如 { zh = \"高价值\", en = \"High value\", r = [4, 5] }"
                .into(),
            "has no rules; add rules like { zh = \"高价值\", en = \"High value\", r = [4, 5] }"
                .into(),
        ));
    }
    // Segments: rules with the same (zh, en) share one segment.
    let mut segments: Vec<Segment> = Vec::new();
    let mut rule_seg = Vec::with_capacity(scheme.rules.len());
    let names = scheme
        .rules
        .iter()
        .map(|r| (r.zh.as_str(), r.en.as_str()))
        .chain(
            scheme
                .default
                .iter()
                .map(|d| (d.zh.as_str(), d.en.as_str())),
        );
    for (zh, en) in names {
        let idx = match segments.iter().position(|s| s.zh == zh && s.en == en) {
            Some(i) => i,
            None => {
                let mut id = slug(en);
                if id.is_empty() {
                    id = format!("segment_{}", segments.len() + 1);
                }
                if segments.iter().any(|s| s.id == id) {
                    id = format!("{id}_{}", segments.len() + 1);
                }
                segments.push(Segment {
                    id,
                    zh: zh.to_string(),
                    en: en.to_string(),
                });
                segments.len() - 1
            }
        };
        rule_seg.push(idx as u16);
    }
    // Ranges.
    let mut ranges = Vec::with_capacity(scheme.rules.len());
    for (i, rule) in scheme.rules.iter().enumerate() {
        let mut rr = [[1u8, 1u8]; 3];
        for (k, (axis, range)) in [("r", rule.r), ("f", rule.f), ("m", rule.m)]
            .into_iter()
            .enumerate()
        {
            let [lo, hi] = range.unwrap_or([1, dims[k]]);
            if lo < 1 || lo > hi || hi > dims[k] {
                let (n, axis_up, d) = (i + 1, axis.to_uppercase(), dims[k]);
                return Err(err(
                    format!(
                        "规则 {n}（{}）：{axis} = [{lo}, {hi}] 不是 {axis_up} 的 1..={d} 级内的范围；\
                         请用 [低, 高]，且 1 ≤ 低 ≤ 高 ≤ {d}",
                        rule.zh
                    ),
                    format!(
                        "rule {n} ({}): {axis} = [{lo}, {hi}] is not a range within the {axis_up} \
                         levels 1..={d}; use [low, high] with 1 ≤ low ≤ high ≤ {d}",
                        rule.en
                    ),
                ));
            }
            rr[k] = [lo, hi];
        }
        ranges.push(rr);
    }
    let matches =
        |i: usize, c: [u8; 3]| (0..3).all(|k| ranges[i][k][0] <= c[k] && c[k] <= ranges[i][k][1]);
    let default_seg = scheme
        .default
        .as_ref()
        .map(|_| rule_seg[scheme.rules.len()]);
    let mut wins = vec![0usize; scheme.rules.len()];
    let mut uncovered = Vec::new();
    let mut first_overlap: Option<(usize, usize, String)> = None;
    let mut overlaps = 0usize;
    let grid = Grid::build(dims, |r, f, m| {
        let c = [r, f, m];
        let mut hit = (0..scheme.rules.len()).filter(|&i| matches(i, c));
        match hit.next() {
            Some(first) => {
                if let Some(second) = hit.next() {
                    overlaps += 1;
                    if first_overlap.is_none() {
                        first_overlap = Some((first, second, cell_name(r, f, m)));
                    }
                }
                wins[first] += 1;
                rule_seg[first]
            }
            None => {
                uncovered.push(cell_name(r, f, m));
                default_seg.unwrap_or(0)
            }
        }
    });
    if !scheme.first_match
        && let Some((a, b, cell)) = first_overlap
    {
        let (ra, rb) = (&scheme.rules[a], &scheme.rules[b]);
        return Err(err(
            format!(
                "规则 {}（{}）和规则 {}（{}）都匹配格子 {cell}（共 {overlaps} 个重叠的格子）；\
                 请缩小其中一个范围，或设置 first_match = true 让前面的规则优先",
                a + 1,
                ra.zh,
                b + 1,
                rb.zh
            ),
            format!(
                "rules {} ({}) and {} ({}) both match cell {cell} ({overlaps} overlapping cells \
                 in all); narrow one of the ranges, or set first_match = true to let the earlier \
                 rule win",
                a + 1,
                ra.en,
                b + 1,
                rb.en
            ),
        ));
    }
    if let Some(i) = wins.iter().position(|&w| w == 0) {
        let r = &scheme.rules[i];
        return Err(err(
            format!(
                "规则 {}（{}）永远不会生效：它覆盖的每个格子都被前面的规则占了；请把它上移，或缩小前面的规则",
                i + 1,
                r.zh
            ),
            format!(
                "rule {} ({}) can never apply: every cell it covers is taken by earlier rules; \
                 move it up or narrow the earlier rules",
                i + 1,
                r.en
            ),
        ));
    }
    if scheme.default.is_none() && !uncovered.is_empty() {
        let total: usize = dims.iter().map(|&d| usize::from(d)).product();
        let (n, cells) = (uncovered.len(), list(&uncovered));
        return Err(err(
            format!(
                "{total} 个 (R, F, M) 格子中有 {n} 个没有规则覆盖：{cells}；请为它们添加规则，\
                 或设置 default = {{ zh = \"其他\", en = \"Other\" }}"
            ),
            format!(
                "{n} of {total} (R, F, M) cells are not covered by any rule: {cells}; add rules \
                 for them or set default = {{ zh = \"其他\", en = \"Other\" }}"
            ),
        ));
    }
    Ok((segments, grid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CustomRule, SegmentNames};

    fn rule(en: &str, r: Option<[u8; 2]>, f: Option<[u8; 2]>, m: Option<[u8; 2]>) -> CustomRule {
        CustomRule {
            zh: format!("{en}zh"),
            en: en.into(),
            r,
            f,
            m,
        }
    }

    fn scheme(rules: Vec<CustomRule>) -> CustomScheme {
        CustomScheme {
            name: "mine".into(),
            rules,
            first_match: false,
            default: None,
        }
    }

    #[test]
    fn complete_partition_compiles() {
        let s = scheme(vec![
            rule("High", Some([4, 5]), None, None),
            rule("Low", Some([1, 3]), None, None),
        ]);
        let (segs, g) = compile(&s, [5, 5, 5]).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].id, "high");
        assert_eq!(g.get(5, 1, 1), 0);
        assert_eq!(g.get(3, 5, 5), 1);
    }

    #[test]
    fn uncovered_cells_are_listed() {
        let s = scheme(vec![rule("High", Some([4, 5]), None, None)]);
        let e = compile(&s, [5, 5, 5]).unwrap_err().to_string();
        assert!(e.contains("custom scheme `mine`"), "{e}");
        assert!(e.contains("75 of 125"), "{e}");
        assert!(e.contains("R1F1M1"), "{e}");
        assert!(e.contains("default ="), "{e}");
        // the same in Chinese, the rules named by their Chinese names
        let zh = compile(&s, [5, 5, 5]).unwrap_err().zh();
        assert!(
            zh.starts_with("自定义方案 `mine`：125 个 (R, F, M) 格子中有 75 个"),
            "{zh}"
        );
        let s = scheme(vec![
            rule("High", Some([3, 5]), None, None),
            rule("Low", Some([1, 3]), None, None),
        ]);
        let zh = compile(&s, [5, 5, 5]).unwrap_err().zh();
        assert!(
            zh.contains("规则 1（Highzh）和规则 2（Lowzh）都匹配格子"),
            "{zh}"
        );
    }

    #[test]
    fn default_fills_gaps() {
        let mut s = scheme(vec![rule("High", Some([4, 5]), None, None)]);
        s.default = Some(SegmentNames {
            zh: "其他".into(),
            en: "Other".into(),
        });
        let (segs, g) = compile(&s, [5, 5, 5]).unwrap();
        assert_eq!(segs[usize::from(g.get(1, 1, 1))].en, "Other");
    }

    #[test]
    fn overlap_is_an_error_naming_both_rules_and_a_cell() {
        let s = scheme(vec![
            rule("A", Some([3, 5]), None, None),
            rule("B", Some([1, 3]), None, None),
        ]);
        let e = compile(&s, [5, 5, 5]).unwrap_err().to_string();
        assert!(e.contains("rules 1 (A) and 2 (B)"), "{e}");
        assert!(e.contains("R3F1M1"), "{e}");
        assert!(e.contains("first_match = true"), "{e}");
    }

    #[test]
    fn shadowed_rule_is_unreachable_even_with_first_match() {
        let mut s = scheme(vec![
            rule("All", None, None, None),
            rule("Champions", Some([5, 5]), Some([5, 5]), Some([5, 5])),
        ]);
        s.first_match = true;
        let e = compile(&s, [5, 5, 5]).unwrap_err().to_string();
        assert!(e.contains("rule 2 (Champions) can never apply"), "{e}");
    }

    #[test]
    fn range_outside_levels_is_rejected() {
        let s = scheme(vec![rule("A", Some([0, 5]), None, None)]);
        let e = compile(&s, [5, 5, 5]).unwrap_err().to_string();
        assert!(e.contains("r = [0, 5]"), "{e}");
        let s = scheme(vec![rule("A", None, Some([1, 6]), None)]);
        assert!(compile(&s, [5, 5, 5]).is_err());
    }

    #[test]
    fn empty_scheme_is_rejected() {
        assert!(compile(&scheme(vec![]), [5, 5, 5]).is_err());
    }
}
