//! What a run recommends looking at first: the groups to act on and the best customers. These
//! are decisions, so they are made here, once, and carried in the [`crate::Summary`] for every
//! surface to show as they are.

use clientele_core::columns::{self as col, LIFECYCLE_KEY};
use clientele_core::{CustomerTable, Grouping};

use crate::models::ModelOutputs;
use crate::{
    GroupKind, HIGHLIGHTS, Highlights, NEXT_STEPS, NextStep, Summary, TargetList, TopCustomer,
};

/// The groups to act on: every grade, RFM segment and lifecycle stage that has customers and
/// a playbook action (or, when no group has an action, a target list), largest first.
pub(crate) fn next_steps(models: &ModelOutputs, lists: &[TargetList]) -> Vec<NextStep> {
    // the target list of a group of `scheme` known by any of `names`
    let list = |scheme: &str, names: &[&str]| {
        lists
            .iter()
            .find(|t| t.scheme == scheme && names.contains(&t.grade.as_str()))
    };
    let mut groups = Vec::new();
    for s in &models.grades {
        for g in &s.grades {
            groups.push(NextStep {
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
            });
        }
    }
    for s in models.rfm.iter().flat_map(|r| &r.schemes) {
        let list_scheme = Grouping::Rfm(s.name.clone()).key();
        for seg in &s.segments {
            let names = [seg.zh.as_str(), seg.en.as_str(), seg.id.as_str()];
            let found = list(&list_scheme, &names);
            // as the table names it (the run's language), which is also its list's grade
            let group = found.map_or_else(|| seg.id.clone(), |t| t.grade.clone());
            groups.push(NextStep {
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
            });
        }
    }
    if let Some(l) = &models.lifecycle {
        for c in &l.stages.counts {
            let id = c.stage.id();
            groups.push(NextStep {
                kind: GroupKind::Lifecycle,
                scheme: LIFECYCLE_KEY.to_string(),
                group: id.to_string(),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                customers: c.count,
                share: Some(c.share),
                // stages count leads too, who have no revenue
                revenue_share: None,
                action_zh: c.action_zh.clone(),
                action_en: c.action_en.clone(),
                file: list(LIFECYCLE_KEY, &[id]).map(|t| t.file.clone()),
            });
        }
    }
    let has_action = |g: &NextStep| g.action_zh.is_some() || g.action_en.is_some();
    let any_action = groups.iter().any(has_action);
    let mut chosen: Vec<NextStep> = groups
        .into_iter()
        .filter(|g| {
            g.customers > 0
                && if any_action {
                    has_action(g)
                } else {
                    g.file.is_some()
                }
        })
        .collect();
    // stable: equal sizes keep the order above (grades, RFM, stages)
    chosen.sort_by_key(|g| std::cmp::Reverse(g.customers));
    chosen.truncate(NEXT_STEPS);
    chosen
}

/// The `n` best customers by CLV (by monetary without CLV), ties by id.
pub(crate) fn top_customers(t: &CustomerTable, n: usize) -> Vec<TopCustomer> {
    let key = if t.get(col::CLV).is_some() {
        col::CLV
    } else {
        col::MONETARY
    };
    let Ok(values) = t.numbers(key) else {
        return Vec::new();
    };
    let mut idx: Vec<usize> = (0..t.len()).filter(|&i| values[i].is_some()).collect();
    idx.sort_by(|&a, &b| {
        values[b]
            .unwrap_or(0.0)
            .total_cmp(&values[a].unwrap_or(0.0))
            .then_with(|| t.ids()[a].cmp(&t.ids()[b]))
    });
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
