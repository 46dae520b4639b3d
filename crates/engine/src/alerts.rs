//! Alerts between two consecutive runs: the groups whose size or value moved by more than a
//! share, and the groups that appeared or vanished, for grading schemes, RFM segment schemes,
//! lifecycle stages and value tiers (ABC) present in both runs.
//!
//! Read from the two summaries alone (no customer table): group sizes and values are the ones
//! the summaries hold. Groups are matched by their stable key (a built-in grade, RFM segment or
//! stage is the same group in a Chinese and an English run) and named in the newer run's
//! language.

use std::collections::BTreeMap;

use clientele_core::{Grouping, Note};
use serde::{Deserialize, Serialize};

use crate::{EngineError, Summary, ValueBasis, Vocabulary};

/// When a group's move is worth an alert.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertRule {
    size_share: f64,
    min_customers: u64,
}

impl Default for AlertRule {
    /// A move of more than 20 % and at least 20 customers.
    fn default() -> Self {
        AlertRule {
            size_share: 0.2,
            min_customers: 20,
        }
    }
}

impl AlertRule {
    /// A group alerts when its customers or value moved by more than `size_share` of the
    /// older run's (0.2 = 20 %) and its customers by at least `min_customers` (for a value:
    /// the group has at least `min_customers` customers in one of the runs), so that tiny
    /// groups do not alarm. `size_share` must be finite and > 0.
    pub fn new(size_share: f64, min_customers: u64) -> Result<AlertRule, EngineError> {
        if !(size_share.is_finite() && size_share > 0.0) {
            return Err(EngineError::InvalidConfig(format!(
                "alert rule: size_share must be a finite share > 0 (0.2 = 20 %), got \
                 {size_share}"
            )));
        }
        Ok(AlertRule {
            size_share,
            min_customers,
        })
    }

    /// The relative move that alerts.
    pub fn size_share(&self) -> f64 {
        self.size_share
    }

    /// The fewest customers that alert.
    pub fn min_customers(&self) -> u64 {
        self.min_customers
    }
}

/// What moved.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    /// The number of customers in the group.
    Customers,
    /// The group's value: Σ CLV when both runs have CLV, else Σ revenue (see
    /// [`Alert::basis`]).
    Value,
}

/// Which way a group moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Grew.
    Up,
    /// Shrank.
    Down,
    /// Had nothing in the older run (no customers, or no such group).
    Appeared,
    /// Has nothing in the newer run.
    Vanished,
}

/// One group that moved between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alert {
    /// The grouping's key: a grading scheme's name, `rfm_<scheme>`, `lifecycle` or
    /// `value_tier` (as in target lists and migrations).
    pub grouping: String,
    /// The group's stable key (`vip`, `important_value`, `active`, `A`, or a user's grade name).
    pub key: String,
    /// The group as the newer run names it (in its language).
    pub grade: String,
    /// What moved.
    pub metric: AlertMetric,
    /// What the value sums, for [`AlertMetric::Value`].
    pub basis: Option<ValueBasis>,
    /// The older run's number.
    pub old: f64,
    /// The newer run's number.
    pub new: f64,
    /// (new − old) / old; `None` when the group appeared (old is 0).
    pub relative_change: Option<f64>,
    /// Which way.
    pub direction: Direction,
    /// One line for people: `VIP: 412 → 305 customers (−26 %)`.
    pub message: Note,
}

/// One group's numbers in one run.
#[derive(Debug, Clone)]
struct Group {
    zh: String,
    en: String,
    customers: f64,
    value: Option<f64>,
}

/// One grouping's groups by key, and what its value sums.
struct Groups {
    groups: BTreeMap<String, Group>,
    basis: Option<ValueBasis>,
}

/// The groups of every grouping of a summary, by grouping key.
fn groupings(s: &Summary, clv: bool) -> BTreeMap<String, Groups> {
    let vocab = Vocabulary::of(s);
    let mut out = BTreeMap::new();
    for g in &s.grades {
        let grouping = Grouping::Grade(g.scheme.clone());
        let groups = g
            .grades
            .iter()
            .map(|x| {
                let label = vocab.label(&grouping, &x.grade);
                let value = if clv {
                    Some(x.mean_clv.unwrap_or(0.0) * x.customers as f64)
                } else {
                    x.revenue
                };
                let (key, zh, en) = match label {
                    Some(l) => (l.key, l.zh, l.en),
                    None => (x.grade.clone(), x.grade.clone(), x.grade.clone()),
                };
                let group = Group {
                    zh,
                    en,
                    customers: x.customers as f64,
                    value,
                };
                (key, group)
            })
            .collect();
        let basis = Some(if clv {
            ValueBasis::Clv
        } else {
            ValueBasis::Revenue
        });
        out.insert(grouping.key(), Groups { groups, basis });
    }
    for sc in s.rfm.iter().flat_map(|r| &r.schemes) {
        let groups = sc
            .segments
            .iter()
            .map(|x| {
                let group = Group {
                    zh: x.zh.clone(),
                    en: x.en.clone(),
                    customers: x.customers as f64,
                    value: Some(x.revenue),
                };
                (x.id.clone(), group)
            })
            .collect();
        let groups = Groups {
            groups,
            basis: Some(ValueBasis::Revenue),
        };
        out.insert(Grouping::Rfm(sc.name.clone()).key(), groups);
    }
    if let Some(l) = &s.lifecycle {
        let groups = l
            .stages
            .counts
            .iter()
            .map(|c| {
                let group = Group {
                    zh: c.name_zh.clone(),
                    en: c.name_en.clone(),
                    customers: c.count as f64,
                    value: None,
                };
                (c.stage.id().to_string(), group)
            })
            .collect();
        let groups = Groups {
            groups,
            basis: None,
        };
        out.insert(Grouping::Lifecycle.key(), groups);
    }
    if let Some(v) = &s.value_tiers {
        let basis = match v.column.as_str() {
            clientele_core::columns::CLV => ValueBasis::Clv,
            _ => ValueBasis::Revenue,
        };
        let groups = v
            .abc
            .iter()
            .map(|t| {
                let group = Group {
                    zh: t.tier.clone(),
                    en: t.tier.clone(),
                    customers: t.customers as f64,
                    value: Some(t.value),
                };
                (t.tier.clone(), group)
            })
            .collect();
        let groups = Groups {
            groups,
            basis: Some(basis),
        };
        out.insert(Grouping::ValueTier.key(), groups);
    }
    out
}

/// Whether a run's grades carry their CLV (the run has a CLV column).
fn has_clv(s: &Summary) -> bool {
    s.clv.done().is_some_and(|c| c.clv_total.is_some())
}

/// `1234567` → `1,234,567` (rounded to a whole number).
fn whole(x: f64) -> String {
    let r = x.round();
    let out = clientele_core::thousands(&format!("{:.0}", r.abs()));
    if r < 0.0 { format!("−{out}") } else { out }
}

/// The line of an alert in both languages.
fn message(group: (&str, &str), metric: AlertMetric, basis: Option<ValueBasis>, a: &Alert) -> Note {
    let (zh_name, en_name) = group;
    let (old, new) = (whole(a.old), whole(a.new));
    let (what_zh, what_en) = match (metric, basis) {
        (AlertMetric::Customers, _) => ("", ""),
        (AlertMetric::Value, Some(ValueBasis::Clv)) => ("CLV ", "CLV "),
        (AlertMetric::Value, _) => ("收入 ", "revenue "),
    };
    let (unit_zh, unit_en) = match metric {
        AlertMetric::Customers => (" 人", " customers"),
        AlertMetric::Value => ("", ""),
    };
    let (change_zh, change_en) = match (a.direction, a.relative_change) {
        (Direction::Appeared, _) | (_, None) => ("新出现".to_string(), "new".to_string()),
        (Direction::Vanished, _) => ("消失".to_string(), "gone".to_string()),
        (_, Some(r)) => {
            let pct = (r * 100.0).round();
            let sign = if pct < 0.0 { "−" } else { "+" };
            let n = format!("{sign}{}", pct.abs());
            (format!("{n}%"), format!("{n} %"))
        }
    };
    Note::new(
        format!("{zh_name}：{what_zh}{old} → {new}{unit_zh}（{change_zh}）"),
        format!("{en_name}: {what_en}{old} → {new}{unit_en} ({change_en})"),
    )
}

/// The groups that moved from `old` to `new` (two consecutive runs) by more than `rule`
/// allows, largest relative move first (appeared groups first), in a fixed order.
///
/// For every grading scheme, RFM segment scheme, the lifecycle stages and the ABC value tiers
/// present in both runs, each group's customers, and its value (Σ CLV of its customers when
/// both runs have CLV, else Σ revenue; lifecycle stages have no value), alert when they moved
/// by more than [`AlertRule::size_share`] and the customers by at least
/// [`AlertRule::min_customers`] (for a value: the group has that many customers in one run).
/// A group with customers in one run and none (or no such group) in the other appeared or
/// vanished, under the same `min_customers`.
pub fn alerts(old: &Summary, new: &Summary, rule: &AlertRule) -> Vec<Alert> {
    let clv = has_clv(old) && has_clv(new);
    let (before, after) = (groupings(old, clv), groupings(new, clv));
    let min = rule.min_customers as f64;
    let mut out = Vec::new();
    for (grouping, now) in &after {
        let Some(then) = before.get(grouping) else {
            continue;
        };
        let keys: std::collections::BTreeSet<&String> =
            then.groups.keys().chain(now.groups.keys()).collect();
        for key in keys {
            let (o, n) = (then.groups.get(key), now.groups.get(key));
            // named in the newer run's language (a vanished group too)
            let Some(group) = n.or(o) else { continue };
            let (zh, en) = (group.zh.clone(), group.en.clone());
            let name = new.lang.pick(&zh, &en).to_string();
            let (oc, nc) = (
                o.map_or(0.0, |x| x.customers),
                n.map_or(0.0, |x| x.customers),
            );
            let mut push = |metric: AlertMetric, basis, a: f64, b: f64, enough: bool| {
                let direction = match (a, b) {
                    (a, b) if a <= 0.0 && b > 0.0 && metric == AlertMetric::Customers => {
                        Direction::Appeared
                    }
                    (a, b) if a > 0.0 && b <= 0.0 && metric == AlertMetric::Customers => {
                        Direction::Vanished
                    }
                    (a, b) if b >= a => Direction::Up,
                    _ => Direction::Down,
                };
                let relative_change =
                    (a != 0.0 && a.is_finite() && b.is_finite()).then(|| (b - a) / a.abs());
                let moved = match (direction, relative_change) {
                    (Direction::Appeared, _) => true,
                    (_, Some(r)) => r.abs() > rule.size_share,
                    // a value from 0: moved when it is not 0 now
                    (_, None) => b != 0.0,
                };
                if !(moved && enough) {
                    return;
                }
                let mut alert = Alert {
                    grouping: grouping.clone(),
                    key: key.clone(),
                    grade: name.clone(),
                    metric,
                    basis,
                    old: a,
                    new: b,
                    relative_change,
                    direction,
                    message: Note::new("", ""),
                };
                alert.message = message((&zh, &en), metric, basis, &alert);
                out.push(alert);
            };
            push(AlertMetric::Customers, None, oc, nc, (nc - oc).abs() >= min);
            if let (Some(basis), Some(a), Some(b)) = (
                now.basis.filter(|_| then.basis == now.basis),
                o.map_or(Some(0.0), |x| x.value),
                n.map_or(Some(0.0), |x| x.value),
            ) {
                push(AlertMetric::Value, Some(basis), a, b, oc.max(nc) >= min);
            }
        }
    }
    // largest move first: appeared groups (no relative change) lead
    let size = |a: &Alert| a.relative_change.map_or(f64::INFINITY, f64::abs);
    out.sort_by(|a, b| {
        size(b)
            .total_cmp(&size(a))
            .then_with(|| a.grouping.cmp(&b.grouping))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.metric.cmp(&b.metric))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{ShopSpec, generate};
    use crate::{AnalyzeOptions, Config, NoProgress, analyze};
    use clientele_core::Lang;
    use std::sync::OnceLock;

    /// Two runs of one synthetic shop, 90 days apart (CLV on, clusters off).
    fn runs() -> &'static (Summary, Summary) {
        static RUNS: OnceLock<(Summary, Summary)> = OnceLock::new();
        RUNS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let mut spec = ShopSpec::new(800, 11);
            spec.days = 400;
            let shop = generate(&spec, &dir.path().join("shop"), &|_| {}).unwrap();
            let mut config = Config::default();
            config.source.transactions = vec![shop.transactions];
            config.source.attributes = Some(shop.attributes);
            config.cluster.enabled = false;
            let new = analyze(&config, &AnalyzeOptions::default(), &NoProgress).unwrap();
            config.time.as_of = Some(clientele_core::Day(new.summary.as_of.0 - 90));
            let old = analyze(&config, &AnalyzeOptions::default(), &NoProgress).unwrap();
            (old.summary, new.summary)
        })
    }

    fn grade_mut<'a>(
        s: &'a mut Summary,
        scheme: &str,
        grade: &str,
    ) -> &'a mut clientele_grade::GradeSummary {
        s.grades
            .iter_mut()
            .find(|g| g.scheme == scheme)
            .and_then(|g| g.grades.iter_mut().find(|x| x.grade == grade))
            .unwrap()
    }

    #[test]
    fn a_rule_needs_a_finite_positive_share() {
        for bad in [0.0, -0.1, f64::NAN, f64::INFINITY] {
            let e = AlertRule::new(bad, 20).unwrap_err();
            assert_eq!(e.fault(), crate::Fault::User, "{bad}");
            assert!(e.to_string().contains("size_share"), "{e}");
        }
        let r = AlertRule::new(0.5, 0).unwrap();
        assert_eq!((r.size_share(), r.min_customers()), (0.5, 0));
        assert_eq!(AlertRule::default(), AlertRule::new(0.2, 20).unwrap());
    }

    #[test]
    fn a_run_compared_with_itself_alerts_nothing() {
        let (_, new) = runs();
        assert!(alerts(new, new, &AlertRule::default()).is_empty());
        let everything = AlertRule::new(1e-12, 0).unwrap();
        assert!(alerts(new, new, &everything).is_empty());
    }

    #[test]
    fn a_shrunken_grade_alerts_once_with_its_line_in_both_languages() {
        let (_, base) = runs();
        let (old, mut new) = (base.clone(), base.clone());
        let vip = grade_mut(&mut new, "behaviour", "普通客户");
        let (was, was_clv) = (vip.customers, vip.mean_clv.unwrap());
        assert!(was >= 100, "{was}");
        // three quarters of the customers, the same mean CLV: both metrics fall by 25 %
        vip.customers = was * 3 / 4;
        let now = vip.customers;
        let a = alerts(&old, &new, &AlertRule::default());
        assert_eq!(a.len(), 2, "{a:#?}");
        let c = &a[0];
        assert_eq!(
            (c.grouping.as_str(), c.grade.as_str(), c.metric, c.direction),
            (
                "behaviour",
                "普通客户",
                AlertMetric::Customers,
                Direction::Down
            )
        );
        assert_eq!((c.old, c.new), (was as f64, now as f64));
        let r = (now as f64 - was as f64) / was as f64;
        assert_eq!(c.relative_change, Some(r));
        let pct = (r * 100.0).round().abs();
        assert_eq!(
            c.message.en,
            format!(
                "Regular customer: {} → {} customers (−{pct} %)",
                whole(was as f64),
                whole(now as f64)
            )
        );
        assert_eq!(
            c.message.zh,
            format!(
                "普通客户：{} → {} 人（−{pct}%）",
                whole(was as f64),
                whole(now as f64)
            )
        );
        let v = &a[1];
        assert_eq!(
            (v.metric, v.basis),
            (AlertMetric::Value, Some(ValueBasis::Clv))
        );
        assert_eq!(v.old, was_clv * was as f64);
        assert!(
            v.message.en.starts_with("Regular customer: CLV "),
            "{}",
            v.message.en
        );
        // the same move under a looser rule, or below the customer floor, does not alert
        assert!(alerts(&old, &new, &AlertRule::new(0.3, 20).unwrap()).is_empty());
        let floor = (was - now) as u64 + 1;
        let quiet = AlertRule::new(0.2, floor).unwrap();
        assert!(
            alerts(&old, &new, &quiet)
                .iter()
                .all(|a| a.metric == AlertMetric::Value)
        );
    }

    #[test]
    fn groups_that_appear_or_vanish_lead_and_are_named_in_the_newer_runs_language() {
        let (_, base) = runs();
        let mut old = base.clone();
        let mut new = base.clone();
        // the old run had no VIP; the new run lost every 高级客户
        let vip = grade_mut(&mut old, "behaviour", "VIP");
        vip.customers = 0;
        vip.mean_clv = None;
        grade_mut(&mut new, "behaviour", "VIP").customers = 40;
        let senior = grade_mut(&mut new, "behaviour", "高级客户");
        let lost = senior.customers;
        senior.customers = 0;
        senior.mean_clv = None;
        grade_mut(&mut old, "behaviour", "高级客户").customers = lost.max(30);
        let a = alerts(&old, &new, &AlertRule::default());
        let first = &a[0];
        assert_eq!(
            (first.key.as_str(), first.direction, first.relative_change),
            ("vip", Direction::Appeared, None)
        );
        assert_eq!(first.message.en, "VIP: 0 → 40 customers (new)");
        let gone = a
            .iter()
            .find(|x| x.direction == Direction::Vanished)
            .unwrap();
        assert_eq!(gone.grade, "高级客户");
        assert_eq!(gone.relative_change, Some(-1.0));
        assert!(
            gone.message.zh.ends_with(" → 0 人（消失）"),
            "{}",
            gone.message.zh
        );
        // sorted by the size of the move, deterministically
        let sizes: Vec<f64> = a
            .iter()
            .map(|x| x.relative_change.map_or(f64::INFINITY, f64::abs))
            .collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        assert_eq!(a, alerts(&old, &new, &AlertRule::default()));
        // an English newer run names them in English
        new.lang = Lang::En;
        let en = alerts(&old, &new, &AlertRule::default());
        let gone = en
            .iter()
            .find(|x| x.direction == Direction::Vanished)
            .unwrap();
        assert_eq!(gone.grade, "Senior customer");
    }

    #[test]
    fn ninety_days_on_the_customer_base_moves_and_every_alert_is_consistent() {
        let (old, new) = runs();
        let rule = AlertRule::new(0.1, 5).unwrap();
        let a = alerts(old, new, &rule);
        assert!(!a.is_empty());
        for x in &a {
            match x.direction {
                Direction::Appeared => assert!(x.old == 0.0 && x.new > 0.0, "{x:?}"),
                Direction::Vanished => assert!(x.new == 0.0, "{x:?}"),
                Direction::Up => assert!(x.new >= x.old, "{x:?}"),
                Direction::Down => assert!(x.new < x.old, "{x:?}"),
            }
            if let Some(r) = x.relative_change {
                assert!(r.abs() > 0.1, "{x:?}");
            }
            if x.metric == AlertMetric::Customers {
                assert!((x.new - x.old).abs() >= 5.0, "{x:?}");
            }
            assert_eq!(x.basis.is_some(), x.metric == AlertMetric::Value);
            assert!(!x.message.zh.is_empty() && !x.message.en.is_empty());
        }
        // lifecycle stages are compared by customers only
        assert!(
            a.iter()
                .filter(|x| x.grouping == "lifecycle")
                .all(|x| x.metric == AlertMetric::Customers)
        );
        let json = serde_json::to_value(&a).unwrap();
        assert!(json[0]["metric"].is_string() && json[0]["message"]["zh"].is_string());
    }
}
