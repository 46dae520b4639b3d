//! The marketing playbook: a recommended action for every grade and segment the presets, the
//! RFM schemes, the lifecycle stages and the value tiers produce, in Chinese and English.
//!
//! Built-in texts are short and concrete (channel, offer, frequency). A `[playbook]` table in the
//! config overrides or adds entries: `"VIP" = "专属客服 + 每月新品预览"` (both languages) or
//! `"VIP" = { zh = "…", en = "…" }`. Lookup is exact first, then by a normalised key (case,
//! spaces, `_`, `-` and apostrophes ignored) so `potential_loyalists` finds "Potential
//! Loyalists"; the lifecycle stage `at_risk` and the R×F segment "At Risk" therefore share one
//! entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use clientele_core::Lang;

/// `[playbook]`: grade name → action.
pub type PlaybookConfig = BTreeMap<String, PlaybookEntry>;

/// One override: the same text for both languages, or one per language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum PlaybookEntry {
    /// Used for zh and en.
    Both(String),
    /// Per language; a missing language keeps the built-in text.
    PerLang {
        /// Chinese text.
        #[serde(default)]
        zh: Option<String>,
        /// English text.
        #[serde(default)]
        en: Option<String>,
    },
}

/// (names, zh, en). The first name is canonical; the others are aliases used by other schemes.
const BUILTIN: &[(&[&str], &str, &str)] = &[
    // Purchase behaviour
    (
        &["VIP"],
        "专属客服一对一维护；每月新品优先体验与会员日专享礼；高价值活动邀约，避免频繁打折",
        "Dedicated account manager; monthly early access to new products and member-day gifts; invite to exclusive events, avoid blanket discounts",
    ),
    (
        &["高级客户"],
        "推送会员升级路径（距 VIP 还差多少）；每两周个性化推荐 + 满额赠品，拉高客单与品类数",
        "Show the path to VIP (what is missing); fortnightly personalised picks plus spend-threshold gifts to lift basket and category breadth",
    ),
    (
        &["普通客户"],
        "自动化营销：每月一次邮件/短信推荐热销品；首单复购券，培养购买习惯",
        "Automated marketing: one monthly email/SMS of best sellers; a repeat-purchase coupon to build the habit",
    ),
    // Attributes
    (
        &["高收入客户"],
        "主推高端/新品与增值服务；私域社群与线下体验活动邀约，少用低价促销",
        "Lead with premium lines, new arrivals and services; invite to private community and in-store events, little price promotion",
    ),
    (
        &["年轻客户"],
        "社交媒体与小程序触达；潮流新品、限时拼团、分享返券",
        "Reach via social media and mini-programs; trend items, limited-time group deals, referral coupons",
    ),
    (
        &["成熟客户"],
        "短信/电话与会员刊物；强调品质、售后与家庭装组合，积分兑换",
        "SMS/phone and member newsletter; stress quality, after-sales and family bundles, points redemption",
    ),
    // Profit value
    (
        &["高价值客户"],
        "重点维护：专属客服、生日礼与优先发货；每季度回访，保持高毛利品类推荐",
        "Protect: dedicated service, birthday gift, priority shipping; quarterly check-in, keep recommending high-margin lines",
    ),
    (
        &["中等价值客户"],
        "交叉销售高毛利品类；满减券提升客单，每月一次精准推荐",
        "Cross-sell high-margin categories; spend-threshold coupons to lift basket, one targeted recommendation a month",
    ),
    (
        &["低价值客户"],
        "低成本自动化触达（邮件/公众号）；引导购买高毛利商品，控制优惠成本",
        "Low-cost automated touches (email, official account); steer to higher-margin items, cap discount cost",
    ),
    // Satisfaction
    (
        &["高度满意客户"],
        "邀请评价、晒单与转介绍（推荐有礼）；纳入新品内测与口碑大使计划",
        "Ask for reviews and referrals (refer-a-friend reward); enrol in beta tests and ambassador programme",
    ),
    (
        &["满意客户"],
        "跟进使用体验，发放小额复购券；收集改进建议，争取提升到高度满意",
        "Follow up on experience with a small repeat coupon; collect suggestions to move them to highly satisfied",
    ),
    (
        &["不满意客户"],
        "48 小时内客服回访了解原因，给予补偿券或退换货便利；问题解决后再营销",
        "Service call within 48 hours to find the cause; compensation coupon or easy returns; market again only after the fix",
    ),
    (
        &["无评分"],
        "订单完成后短信/推送邀请打分（附小额积分奖励），补齐满意度数据",
        "Invite a rating by SMS/push after delivery (small points reward) to fill in satisfaction data",
    ),
    // Chinese RFM 8 classes
    (
        &["重要价值客户", "important_value"],
        "VIP 专属服务与新品优先体验；会员权益升级，保持高频互动，避免打扰式促销",
        "VIP service and early access; upgrade membership benefits, keep frequent contact without intrusive promotions",
    ),
    (
        &["重要发展客户", "important_development"],
        "近期高消费但频次低：会员体系、订阅/复购券与积分翻倍，提升购买频次",
        "Recent big spenders who rarely buy: membership, subscription or repeat coupons, double points to raise frequency",
    ),
    (
        &["重要保持客户", "important_retention"],
        "老顾客久未购买：专人电话/短信回访，专属召回礼包，两周内重点唤回",
        "Loyal but absent: personal call/SMS, exclusive win-back pack, focus on recall within two weeks",
    ),
    (
        &["重要挽留客户", "important_win_back"],
        "高消费但久未且少购买：流失预警，大额定向券 + 客服回访了解原因",
        "High spend, infrequent, long ago: churn alert; large targeted coupon plus service call to learn why",
    ),
    (
        &["一般价值客户", "general_value"],
        "常买但客单低：搭配推荐、满减与组合装，提升客单价",
        "Frequent but low spend: bundles, cross-sell and spend-threshold offers to raise order value",
    ),
    (
        &["一般发展客户", "general_development"],
        "新近低频低额：新客引导（使用指南、首单复购券），观察后再判断价值",
        "Recent, low frequency and spend: onboarding (guides, second-order coupon); watch before judging value",
    ),
    (
        &["一般保持客户", "general_retention"],
        "历史常买、金额低、近期未买：常规维护，每月一次低成本提醒",
        "Used to buy often, low spend, not recently: routine upkeep, one low-cost reminder a month",
    ),
    (
        &["一般挽留客户", "general_win_back"],
        "低价值且已流失：低成本自动化触达（季度一次），不投入高额优惠",
        "Low value and lapsed: low-cost automated touch once a quarter, no expensive offers",
    ),
    // R×F / R×FM segments
    (
        &["Champions", "冠军客户"],
        "奖励忠诚：新品抢先购、会员专属礼遇，邀请成为品牌推荐官；勿过度打折",
        "Reward them: early access, member-only perks, invite as brand advocates; don't over-discount",
    ),
    (
        &["Loyal Customers", "忠诚客户"],
        "向上销售更高价值商品，邀请评价；会员积分加速，每月一次个性化推荐",
        "Upsell higher-value products, ask for reviews; accelerated points, one personalised recommendation a month",
    ),
    (
        &["Potential Loyalists", "Potential Loyalist", "潜在忠诚客户"],
        "推荐加入会员/忠诚计划，基于历史的个性化推荐，第二、三单激励",
        "Offer membership or loyalty programme, personalised recommendations, incentives for the next orders",
    ),
    (
        &["New Customers", "Recent Customers", "新客户"],
        "新客引导：欢迎邮件/短信、使用指南，7 天内复购券，建立早期成功体验",
        "Onboarding: welcome email/SMS, how-to guides, a repeat coupon within 7 days for early success",
    ),
    (
        &["Promising", "有潜力客户"],
        "提升品牌认知：免费试用、小样与限时优惠，每两周一次轻触达",
        "Build awareness: free trials, samples and limited-time offers, light touch every two weeks",
    ),
    (
        &[
            "Need Attention",
            "Customers Needing Attention",
            "需要关注客户",
        ],
        "限时优惠与基于购买记录的个性化推荐，重新激活兴趣",
        "Limited-time offers and recommendations based on past purchases to re-engage",
    ),
    (
        &["About To Sleep", "即将沉睡客户"],
        "分享热销品与实用内容，小额优惠券唤醒，两周内再联系一次",
        "Share best sellers and useful content, small coupon to wake them, follow up within two weeks",
    ),
    (
        &["At Risk", "at_risk", "有流失风险客户"],
        "个性化邮件/短信与续购提醒，专属优惠挽回，了解流失原因",
        "Personalised email/SMS and renewal reminders, a tailored offer to win back, ask why they drifted",
    ),
    (
        &["Can't Lose Them", "cant_lose", "不能失去的客户"],
        "重点挽回：专人联系、新品或升级款推荐、大额回归礼，不可失去",
        "Win back at all costs: personal contact, new or upgraded products, a generous return gift",
    ),
    (
        &["Hibernating", "休眠客户"],
        "推荐其他相关品类与特别折扣，低频（每月一次）低成本触达",
        "Suggest other relevant categories and special discounts, low-frequency (monthly) low-cost contact",
    ),
    (
        &["Lost", "churned", "流失客户"],
        "一次性召回活动（大额券/调研问卷），无响应则停止投入",
        "One reach-out campaign (big coupon or survey); stop spending if there is no response",
    ),
    // PyMC-Marketing default segments
    (
        &["Premium Customer", "优质客户"],
        "核心优质客户：会员专属权益与新品优先，季度关怀回访",
        "Premium: member-only perks and early access, quarterly care call",
    ),
    (
        &["Repeat Customer", "回头客"],
        "回头客：积分加速与组合推荐，提升客单价",
        "Repeat buyers: accelerated points and bundle recommendations to lift order value",
    ),
    (
        &["Top Spender", "高消费客户"],
        "高消费但频次一般：订阅/补货提醒与会员日活动，提升购买频次",
        "Big spenders who buy less often: subscriptions, replenishment reminders, member days to raise frequency",
    ),
    (
        &["At Risk Customer", "风险客户"],
        "风险客户：个性化召回券与满意度回访，了解原因",
        "At risk: personalised win-back coupon and a satisfaction call to learn why",
    ),
    (
        &["Inactive Customer", "不活跃客户"],
        "不活跃：低成本自动化唤醒（每月一次），无响应则降频",
        "Inactive: low-cost automated wake-up once a month, reduce contact if no response",
    ),
    (
        &["Other", "其他"],
        "常规维护：按月推送热销与新品，观察行为再细分",
        "Routine: monthly best sellers and new arrivals; watch behaviour before segmenting further",
    ),
    // Lifecycle stages
    (
        &["potential"],
        "线索培育：首单优惠券 + 品牌介绍，3 次触达内促成首购",
        "Lead nurturing: first-order coupon plus brand story, aim for a first purchase within 3 contacts",
    ),
    (
        &["new"],
        "新客 30 天旅程：欢迎礼、使用指导、第二单优惠",
        "30-day new-customer journey: welcome gift, usage tips, second-order discount",
    ),
    (
        &["active"],
        "保持节奏：按购买周期推送补货提醒与个性化推荐，积分激励",
        "Keep the rhythm: replenishment reminders at their purchase cycle, personalised picks, points rewards",
    ),
    (
        &["reactivated"],
        "回流客户：欢迎回来礼遇，30 天内跟进复购，防止再次流失",
        "Welcome back: a return perk and a follow-up within 30 days to prevent relapse",
    ),
    // Value tiers
    (
        &["A"],
        "A 类（贡献前 80% 价值）：专属服务与优先资源，季度回访，防止流失",
        "Tier A (first 80 % of value): dedicated service and priority resources, quarterly check-in, prevent churn",
    ),
    (
        &["B"],
        "B 类：交叉销售与会员升级激励，推动向 A 类转化",
        "Tier B: cross-sell and membership-upgrade incentives to move them into A",
    ),
    (
        &["C"],
        "C 类：低成本自动化营销，按需促销，控制服务成本",
        "Tier C: low-cost automated marketing, occasional promotions, keep service cost low",
    ),
    (
        &["D", "无贡献"],
        "无贡献（零或负价值）：核查退货原因，暂停优惠投放",
        "No contribution (zero or negative value): review return reasons, pause discounts",
    ),
    (
        &["H"],
        "高贡献（前 20% 客户）：VIP 礼遇与专属客服",
        "Heavy (top 20 % of customers): VIP treatment and dedicated service",
    ),
    (
        &["M"],
        "中贡献：提升频次与客单，推动成为高贡献客户",
        "Medium: lift frequency and basket to move them to Heavy",
    ),
    (
        &["L"],
        "低贡献：自动化低成本触达",
        "Light: automated low-cost contact",
    ),
];

fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\'' | '’'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A built-in action, without overrides.
pub fn action(grade: &str, lang: Lang) -> Option<&'static str> {
    let pick = |&(_, zh, en): &(&[&str], &'static str, &'static str)| match lang {
        Lang::Zh => zh,
        Lang::En => en,
    };
    if let Some(e) = BUILTIN.iter().find(|(names, _, _)| names.contains(&grade)) {
        return Some(pick(e));
    }
    let key = normalise(grade);
    BUILTIN
        .iter()
        .find(|(names, _, _)| names.iter().any(|n| normalise(n) == key))
        .map(pick)
        .or_else(|| {
            // a built-in grade in the other language (`Senior customer` is `高级客户`)
            let l = crate::builtin_label(grade)?;
            [l.zh.as_str(), l.key.as_str()]
                .into_iter()
                .filter(|n| *n != grade)
                .find_map(|n| BUILTIN.iter().find(|(names, _, _)| names.contains(&n)))
                .map(pick)
        })
}

/// Every grade name with a built-in action (canonical names and aliases).
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN
        .iter()
        .flat_map(|(n, _, _)| n.iter().copied())
        .collect()
}

/// The built-in playbook with config overrides applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Playbook {
    overrides: PlaybookConfig,
}

impl Playbook {
    /// Built-in texts only.
    pub fn builtin() -> Playbook {
        Playbook::default()
    }

    /// Built-in texts with `[playbook]` entries taking precedence.
    pub fn with_overrides(overrides: &PlaybookConfig) -> Playbook {
        Playbook {
            overrides: overrides.clone(),
        }
    }

    /// The action for a grade: the override if any (exact or normalised name), else built-in.
    pub fn action(&self, grade: &str, lang: Lang) -> Option<&str> {
        // an override may name a built-in grade in either language or by its key
        let label = crate::builtin_label(grade);
        let names: Vec<&str> = std::iter::once(grade)
            .chain(
                label
                    .iter()
                    .flat_map(|l| [l.key.as_str(), l.zh.as_str(), l.en.as_str()]),
            )
            .collect();
        let entry = names.iter().find_map(|name| {
            let key = normalise(name);
            self.overrides.get(*name).or_else(|| {
                self.overrides
                    .iter()
                    .find(|(k, _)| normalise(k) == key)
                    .map(|(_, v)| v)
            })
        });
        let over = match entry {
            Some(PlaybookEntry::Both(s)) => Some(s.as_str()),
            Some(PlaybookEntry::PerLang { zh, en }) => match lang {
                Lang::Zh => zh.as_deref(),
                Lang::En => en.as_deref(),
            },
            None => None,
        };
        over.or_else(|| action(grade, lang))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_name_has_both_languages() {
        let names = [
            "VIP",
            "高级客户",
            "普通客户",
            "高收入客户",
            "年轻客户",
            "成熟客户",
            "高价值客户",
            "中等价值客户",
            "低价值客户",
            "高度满意客户",
            "满意客户",
            "不满意客户",
            "无评分",
            "重要价值客户",
            "重要发展客户",
            "重要保持客户",
            "重要挽留客户",
            "一般价值客户",
            "一般发展客户",
            "一般保持客户",
            "一般挽留客户",
            "Champions",
            "Loyal Customers",
            "Potential Loyalists",
            "New Customers",
            "Promising",
            "Need Attention",
            "About To Sleep",
            "At Risk",
            "Can't Lose Them",
            "Hibernating",
            "Lost",
            "potential",
            "new",
            "active",
            "at_risk",
            "churned",
            "reactivated",
            "A",
            "B",
            "C",
            "D",
        ];
        for n in names {
            for lang in [Lang::Zh, Lang::En] {
                assert!(
                    action(n, lang).is_some_and(|s| !s.is_empty()),
                    "{n} {lang:?}"
                );
            }
        }
        assert_eq!(
            action("potential_loyalists", Lang::En),
            action("Potential Loyalists", Lang::En)
        );
        assert_eq!(
            action("cant_lose", Lang::Zh),
            action("Can't Lose Them", Lang::Zh)
        );
        // the rfm crate's ids and display names
        for n in [
            "Loyal customers",
            "important_win_back",
            "不能失去的客户",
            "Other",
            "about_to_sleep",
        ] {
            assert!(action(n, Lang::En).is_some(), "{n}");
        }
        assert_eq!(action("nope", Lang::Zh), None);
    }

    #[test]
    fn every_preset_grade_has_an_action() {
        for n in crate::presets::names() {
            let s = crate::presets::get(n).unwrap();
            let grades = s
                .rules
                .iter()
                .filter_map(|r| r.grade.clone())
                .chain(s.default.clone());
            for g in grades {
                assert!(action(&g, Lang::Zh).is_some(), "{n}: {g}");
            }
        }
    }

    #[test]
    fn overrides_win_per_language() {
        let cfg: PlaybookConfig =
            toml::from_str("VIP = \"致电\"\n[\"At Risk\"]\nen = \"Call them\"\n").unwrap();
        let p = Playbook::with_overrides(&cfg);
        assert_eq!(p.action("VIP", Lang::En), Some("致电"));
        assert_eq!(p.action("at_risk", Lang::En), Some("Call them"));
        assert_eq!(p.action("At Risk", Lang::Zh), action("At Risk", Lang::Zh));
        assert_eq!(p.action("Lost", Lang::En), action("Lost", Lang::En));
    }
}
