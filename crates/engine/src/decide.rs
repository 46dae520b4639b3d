//! What a run recommends looking at first: the groups to act on and the best customers. These
//! are decisions, so they are made here, once, and carried in the [`crate::Summary`] for every
//! surface to show as they are.

use clientele_core::columns::{self as col, LIFECYCLE_KEY};
use clientele_core::{CustomerTable, Grouping};
use rayon::prelude::*;

use crate::models::ModelOutputs;
use crate::{
    GroupKind, HIGHLIGHTS, Highlights, NEXT_STEPS, NextStep, Summary, TargetList, TopCustomer,
    ValueBasis,
};

/// A group's share of all customers above which it is no target: a group of most customers
/// (`普通客户`, 95 % of a shop) is the shop, not a segment to act on.
const MAX_TARGET_SHARE: f64 = 0.5;

/// Two groups whose customers overlap at least this much (Jaccard: shared / either) are one
/// group of people, as are two groups of the same name (`冠军客户` of the R×F grid and of the
/// R×FM grid). The one with more at stake is kept. A small group inside a large one (VIPs
/// among 重要价值客户) is a group of its own.
const SAME_PEOPLE: f64 = 0.6;

/// Keys of catch-all groups, which name no one to act on: customers without a rating, and the
/// PyMC scheme's `其他` (other).
const CATCH_ALL: &[&str] = &["unrated", "other"];

/// The groups to act on: grades, RFM segments and lifecycle stages that have customers and a
/// playbook action, are not most of the shop nor a catch-all, ordered by value at stake (Σ
/// expected CLV of their customers, Σ past revenue without CLV), one entry per group of
/// people ([`SAME_PEOPLE`]). When no group has an action, groups with a target list stand in.
pub(crate) fn next_steps(
    table: &CustomerTable,
    models: &ModelOutputs,
    lists: &[TargetList],
) -> Vec<NextStep> {
    // the target list of a group of `scheme` known by any of `names`
    let list = |scheme: &str, names: &[&str]| {
        lists
            .iter()
            .find(|t| t.scheme == scheme && names.contains(&t.grade.as_str()))
    };
    // (step, the customer-table column holding the group, tag separator)
    let mut groups: Vec<(NextStep, String, Option<String>)> = Vec::new();
    for s in &models.grades {
        for g in &s.grades {
            if g.label
                .as_ref()
                .is_some_and(|l| CATCH_ALL.contains(&l.key.as_str()))
            {
                continue;
            }
            let step = NextStep {
                kind: GroupKind::Grade,
                scheme: s.scheme.clone(),
                group: g.grade.clone(),
                name_zh: g.label.as_ref().map_or(&g.grade, |l| &l.zh).clone(),
                name_en: g.label.as_ref().map_or(&g.grade, |l| &l.en).clone(),
                customers: g.customers as u64,
                share: Some(g.share),
                revenue_share: g.revenue_share,
                action_zh: g.action_zh.clone(),
                action_en: g.action_en.clone(),
                file: list(&s.scheme, &[g.grade.as_str()]).map(|t| t.file.clone()),
                value_at_stake: None,
                value_basis: None,
            };
            groups.push((step, s.column.clone(), s.separator.clone()));
        }
    }
    for s in models.rfm.iter().flat_map(|r| &r.schemes) {
        let grouping = Grouping::Rfm(s.name.clone());
        let list_scheme = grouping.key();
        for seg in &s.segments {
            if CATCH_ALL.contains(&seg.id.as_str()) {
                continue;
            }
            let names = [seg.zh.as_str(), seg.en.as_str(), seg.id.as_str()];
            let found = list(&list_scheme, &names);
            // as the table names it (the run's language), which is also its list's grade
            let group = found.map_or_else(|| seg.id.clone(), |t| t.grade.clone());
            let step = NextStep {
                kind: GroupKind::Rfm,
                scheme: s.name.clone(),
                group,
                name_zh: seg.zh.clone(),
                name_en: seg.en.clone(),
                customers: seg.customers,
                share: seg.share,
                revenue_share: seg.revenue_share,
                action_zh: seg.action_zh.clone(),
                action_en: seg.action_en.clone(),
                file: found.map(|t| t.file.clone()),
                value_at_stake: None,
                value_basis: None,
            };
            groups.push((step, grouping.column(), None));
        }
    }
    if let Some(l) = &models.lifecycle {
        for c in &l.stages.counts {
            let names = [c.name_zh.as_str(), c.name_en.as_str(), c.stage.id()];
            let found = list(LIFECYCLE_KEY, &names);
            let step = NextStep {
                kind: GroupKind::Lifecycle,
                scheme: LIFECYCLE_KEY.to_string(),
                group: found.map_or_else(|| c.stage.id().to_string(), |t| t.grade.clone()),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                customers: c.count,
                share: Some(c.share),
                // stages count leads too, who have no revenue
                revenue_share: None,
                action_zh: c.action_zh.clone(),
                action_en: c.action_en.clone(),
                file: found.map(|t| t.file.clone()),
                value_at_stake: None,
                value_basis: None,
            };
            groups.push((step, Grouping::Lifecycle.column(), None));
        }
    }
    let has_action = |g: &NextStep| g.action_zh.is_some() || g.action_en.is_some();
    let any_action = groups.iter().any(|(g, _, _)| has_action(g));
    groups.retain(|(g, _, _)| {
        g.customers > 0
            && g.share.is_none_or(|s| s <= MAX_TARGET_SHARE)
            && if any_action {
                has_action(g)
            } else {
                g.file.is_some()
            }
    });
    let (basis, values) = match table.number_view(col::CLV) {
        Ok(v) => (ValueBasis::Clv, Some(v)),
        Err(_) => (ValueBasis::Revenue, table.number_view(col::MONETARY).ok()),
    };
    // each group's members and value at stake on its own (side by side, each sum in row order)
    let members: Vec<Members> = groups
        .par_iter_mut()
        .map(|(g, column, sep)| {
            let m = Members::of(table, column, &g.group, sep.as_deref());
            let stake: f64 = m
                .rows()
                .filter_map(|i| values.and_then(|v| v.get(i)))
                .filter(|v| v.is_finite())
                .sum();
            g.value_at_stake = Some(stake);
            g.value_basis = Some(basis);
            m
        })
        .collect();
    // more at stake first; ties: more customers, then the order above (grades, RFM, stages)
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        let (ga, gb) = (&groups[a].0, &groups[b].0);
        gb.value_at_stake
            .unwrap_or(0.0)
            .total_cmp(&ga.value_at_stake.unwrap_or(0.0))
            .then(gb.customers.cmp(&ga.customers))
            .then(a.cmp(&b))
    });
    let mut chosen: Vec<usize> = Vec::new();
    for i in order {
        if chosen.len() == NEXT_STEPS {
            break;
        }
        let same_name = |j: usize| {
            let (a, b) = (&groups[i].0, &groups[j].0);
            a.name_zh == b.name_zh || a.name_en.eq_ignore_ascii_case(&b.name_en)
        };
        if chosen
            .iter()
            .all(|&j| !same_name(j) && members[i].jaccard(&members[j]) < SAME_PEOPLE)
        {
            chosen.push(i);
        }
    }
    let mut groups: Vec<Option<NextStep>> = groups.into_iter().map(|(g, _, _)| Some(g)).collect();
    chosen
        .into_iter()
        .filter_map(|i| groups[i].take())
        .collect()
}

/// The rows of a group's customers, as a bit set.
struct Members {
    bits: Vec<u64>,
    count: u64,
}

impl Members {
    /// The customers whose `column` is `group` (for tags: carries the tag).
    fn of(table: &CustomerTable, column: &str, group: &str, sep: Option<&str>) -> Members {
        let mut bits = vec![0u64; table.len().div_ceil(64)];
        let mut count = 0;
        if let Ok(values) = table.texts(column) {
            // which distinct values are the group: a handful of labels, then a code per row
            let hits: Vec<bool> = values
                .labels()
                .iter()
                .map(|v| match sep {
                    Some(sep) => v.split(sep).any(|t| t == group),
                    None => v == group,
                })
                .collect();
            for i in 0..values.len() {
                if values.code(i).is_some_and(|c| hits[c as usize]) {
                    bits[i / 64] |= 1 << (i % 64);
                    count += 1;
                }
            }
        }
        Members { bits, count }
    }

    /// The rows, in order (set bits only: most groups are a small share of the customers).
    fn rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &b)| {
            std::iter::successors((b != 0).then_some(b), |&rest| {
                let rest = rest & (rest - 1);
                (rest != 0).then_some(rest)
            })
            .map(move |bits| w * 64 + bits.trailing_zeros() as usize)
        })
    }

    /// Shared customers / customers in either.
    fn jaccard(&self, other: &Members) -> f64 {
        let both: u64 = self
            .bits
            .iter()
            .zip(&other.bits)
            .map(|(a, b)| u64::from((a & b).count_ones()))
            .sum();
        let either = self.count + other.count - both;
        if either == 0 {
            0.0
        } else {
            both as f64 / either as f64
        }
    }
}

/// The `n` best customers by CLV (by monetary without CLV), ties by id.
pub(crate) fn top_customers(t: &CustomerTable, n: usize) -> Vec<TopCustomer> {
    let key = if t.has_column(col::CLV) {
        col::CLV
    } else {
        col::MONETARY
    };
    let Ok(values) = t.number_view(key) else {
        return Vec::new();
    };
    // read as they come: no list of every customer's value
    let present = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)));
    let idx = clientele_core::rank::largest_few(t.ids(), present, n);
    let num = |c: &str, i: usize| t.get(c).and_then(|col| col.number(i));
    let int = |c: &str, i: usize| t.ints(c).ok().and_then(|v| v.get(i));
    let text = |c: &str, i: usize| t.get(c).and_then(|col| col.text(i));
    idx.into_iter()
        .take(n)
        .map(|i| TopCustomer {
            customer_id: t.ids()[i].to_string(),
            monetary: num(col::MONETARY, i),
            orders: int(col::ORDERS, i),
            recency_days: int(col::RECENCY_DAYS, i),
            clv: num(col::CLV, i),
            p_alive: num(col::P_ALIVE, i),
            rfm_segment: text(col::RFM_SEGMENT, i),
            value_tier: text(col::VALUE_TIER, i),
            lifecycle_stage: text(col::LIFECYCLE_STAGE, i),
            cluster_name: text(col::CLUSTER_NAME, i),
        })
        .collect()
}

/// The migrations, history groupings and breakdown a surface shows when it has room for a few.
pub(crate) fn highlights(s: &Summary) -> Highlights {
    let mut migrations: Vec<&clientele_lifecycle::Migration> = s
        .migration
        .iter()
        .flat_map(|m| m.lifecycle.iter().chain(&m.schemes))
        .collect();
    // with a single grouping, its matrix is worth showing even when nobody moved
    if migrations.len() > 1 {
        migrations.retain(|m| m.moved > 0);
    }
    // stable: groupings of equal rank keep the comparison's order
    migrations.sort_by_key(|m| grouping_rank(&m.name));
    let mut history: Vec<&String> = s
        .history
        .last()
        .map_or(Vec::new(), |p| p.sizes.keys().collect());
    history.sort_by_key(|k| grouping_rank(k));
    let breakdown = s.behaviour.done().and_then(|b| {
        let by = |d: &str| b.breakdowns.iter().position(|x| x.dimension == d);
        ["city", "channel", "age", "gender"]
            .into_iter()
            .find_map(by)
            .or((!b.breakdowns.is_empty()).then_some(0))
    });
    Highlights {
        migrations: migrations
            .iter()
            .take(HIGHLIGHTS)
            .map(|m| m.name.clone())
            .collect(),
        history: history.into_iter().take(HIGHLIGHTS).cloned().collect(),
        breakdown,
    }
}

/// Where a grouping (by its scheme key) comes when only a few are shown: the ones a marketer
/// reads first, then the rest.
fn grouping_rank(key: &str) -> usize {
    let first = [
        Grouping::Lifecycle,
        Grouping::Rfm(col::CN8_SCHEME.to_string()),
        Grouping::ValueTier,
        Grouping::Grade("behaviour".to_string()),
        Grouping::Grade("profit".to_string()),
        Grouping::Cluster,
    ];
    let g = Grouping::of_key(key);
    first.iter().position(|x| *x == g).unwrap_or(first.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_core::ColumnData;

    /// A group's members are the rows whose value is the group (or carries it as a tag), in
    /// row order, across word boundaries of the bit set.
    #[test]
    fn members_are_the_rows_of_the_group_in_order() {
        let n = 200;
        let ids: Vec<String> = (0..n).map(|i| format!("c{i:03}")).collect();
        let mut t = CustomerTable::new(ids);
        let grade = |i: usize| match i % 7 {
            0 => Some("VIP"),
            3 => Some("VIP|new"),
            5 => None,
            _ => Some("other"),
        };
        t.push("g", ColumnData::Text((0..n).map(grade).collect()))
            .unwrap();
        let whole = Members::of(&t, "g", "VIP", None);
        let want: Vec<usize> = (0..n).filter(|&i| grade(i) == Some("VIP")).collect();
        assert_eq!(whole.rows().collect::<Vec<_>>(), want);
        assert_eq!(whole.count, want.len() as u64);
        let tagged = Members::of(&t, "g", "VIP", Some("|"));
        let want: Vec<usize> = (0..n).filter(|&i| i % 7 == 0 || i % 7 == 3).collect();
        assert_eq!(tagged.rows().collect::<Vec<_>>(), want);
        assert!(Members::of(&t, "g", "nobody", None).rows().next().is_none());
        assert!(
            Members::of(&t, "missing", "VIP", None)
                .rows()
                .next()
                .is_none()
        );
    }
}
