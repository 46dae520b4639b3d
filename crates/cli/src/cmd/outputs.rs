//! What an analysis adds to its output folder besides the engine's files (report.html), and
//! the summary it prints.

use std::path::Path;

use anyhow::Result;
use clientele_core::Lang;
use clientele_engine::{Analysis, ExtraFile, OutputFormat};

/// `report.html` in the run's language ([`clientele_report::report_files`]).
pub(super) fn report_files(a: &Analysis) -> Result<Vec<ExtraFile>> {
    Ok(clientele_report::report_files(&a.summary)?)
}

pub(super) fn print_summary(
    a: &Analysis,
    dir: &Path,
    files: &[String],
    format: OutputFormat,
) -> Result<()> {
    let sm = &a.summary;
    let k = &sm.kpis;
    let lang = sm.lang;
    for d in &sm.inputs.duplicates {
        say_in!(
            lang,
            "注意：{} 被多次指定（作为文件、在文件夹中或通过通配符），只读取一次",
            "note: {} was named more than once (as a file, in a folder or by a pattern); read once",
            d
        )?;
    }
    let st = &sm.inputs;
    say_in!(
        lang,
        "读取 {} 行 = 接受 {} + 拒绝 {}（+ 基准日之后 {}）",
        "read {} = accepted {} + rejected {} (+ after as-of {})",
        st.read,
        st.accepted,
        st.rejected,
        st.after_as_of
    )?;
    if st.return_only_customers > 0 {
        say_in!(
            lang,
            "{} 位客户截至基准日只有退货，未计入客户表（净额 {:.2}）",
            "{} customers with only returns up to the as-of date are not in the table (net {:.2})",
            st.return_only_customers,
            st.return_only_amount
        )?;
    }
    say_in!(
        lang,
        "基准日 {} · 客户 {} · 销售额 {:.2} · 订单 {} · 客单价 {:.2}",
        "as of {} · {} customers · revenue {:.2} · {} orders · AOV {:.2}",
        sm.as_of,
        k.customers,
        k.revenue,
        k.orders,
        k.avg_order_value
    )?;
    say_in!(
        lang,
        "复购客户 {:.1}% · 近 90 天购买 {:.1}% · 人均 {:.2} 单",
        "repeat customers {:.1}% · bought in the last 90 days {:.1}% · {:.2} orders per customer",
        k.repeat_customer_share * 100.0,
        k.active_90d_share * 100.0,
        k.orders_per_customer
    )?;
    if let Some(c) = sm.clv.done() {
        let m = &c.model;
        let params: Vec<String> = m
            .param_names
            .iter()
            .zip(&m.params)
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect();
        let unit = c.unit.label(lang);
        let converged = match (m.converged, lang) {
            (true, Lang::Zh) => "拟合收敛",
            (false, Lang::Zh) => "拟合未收敛",
            (true, Lang::En) => "fit converged",
            (false, Lang::En) => "fit NOT converged",
        };
        let value = c
            .clv_total
            .map(|t| {
                let mean = c.clv_mean.unwrap_or(0.0);
                match lang {
                    Lang::Zh => format!("，CLV 合计 {t:.2}，人均 {mean:.2}"),
                    Lang::En => format!(", CLV total {t:.2}, mean {mean:.2}"),
                }
            })
            .unwrap_or_default();
        say_in!(
            lang,
            "CLV：{0}（{1}）{2} · 对数似然 {3:.2} · {4} · 未来 {6} 个月预计购买 {5:.0} 次{7}",
            "CLV: {} ({}) {} · log-likelihood {:.2} · {} · {:.0} expected purchases in {} months{}",
            model_name(&m.model),
            unit,
            params.join(", "),
            m.log_likelihood,
            converged,
            c.expected_purchases_total,
            {
                let m = c.options.horizon_months();
                if m.fract() == 0.0 {
                    format!("{m:.0}")
                } else {
                    format!("{m:.1}")
                }
            },
            value
        )?;
        if let Some(cmp) = &c.comparison {
            print_comparison(lang, cmp)?;
        }
        if let Some(why) = c.clv_skipped_in(lang) {
            say_in!(
                lang,
                "CLV：未计算价值（已计算存活概率和预计购买次数）：{}",
                "CLV: value not computed (P(alive) and expected purchases are): {}",
                why
            )?;
        }
        for n in &c.notes {
            say_in!(lang, "CLV 说明：{}", "CLV note: {}", n.text(lang))?;
        }
    }
    if let Some(e) = sm.clv.problem_in(lang) {
        say_in!(lang, "CLV：未计算：{}", "CLV: not computed: {}", e)?;
    }
    if let Some(r) = &sm.rfm {
        for s in r
            .schemes
            .iter()
            .filter(|s| s.name == "cn8" || s.name == "rf10")
        {
            let parts: Vec<String> = s
                .segments
                .iter()
                .filter(|g| g.customers > 0)
                .map(|g| format!("{} {}", lang.pick(&g.zh, &g.en), g.customers))
                .collect();
            say!("RFM {}: {}", s.name, parts.join(" · "))?;
        }
    }
    if let Some(l) = &sm.lifecycle {
        let parts: Vec<String> = l
            .stages
            .counts
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| format!("{} {}", lang.pick(&c.name_zh, &c.name_en), c.count))
            .collect();
        say_in!(lang, "生命周期：{}", "lifecycle: {}", parts.join(" · "))?;
    }
    if let Some(c) = sm.clusters.done() {
        let parts: Vec<String> = c
            .profiles
            .iter()
            .map(|p| {
                format!(
                    "{}: {} {}",
                    p.label,
                    lang.pick(&p.name_zh, &p.name_en),
                    p.size
                )
            })
            .collect();
        say_in!(
            lang,
            "K-means 聚类（k={}）：{}",
            "k-means (k={}): {}",
            c.model.k,
            parts.join(" · ")
        )?;
    }
    if let Some(e) = sm.clusters.problem_in(lang) {
        say_in!(
            lang,
            "K-means 聚类：未计算：{}",
            "k-means: not computed: {}",
            e
        )?;
    }
    if let Some(v) = sm.validation.done() {
        let r = &v.report;
        say_in!(
            lang,
            "留出期 {} .. {}：预测合计 {:.1}，实际 {:.0}，MAE {:.3}（基准 {:.3}）",
            "holdout {} .. {}: Σ predicted {:.1} vs actual {:.0}, MAE {:.3} (baseline {:.3})",
            v.calibration_end,
            v.observation_end,
            r.model.sum_predicted,
            r.model.sum_actual,
            r.model.mae,
            r.baseline.mae
        )?;
    }
    if let Some(e) = sm.validation.problem_in(lang) {
        say_in!(
            lang,
            "留出期验证：未计算：{}",
            "holdout validation: not computed: {}",
            e
        )?;
    }
    for g in &sm.grades {
        let scheme = match lang {
            Lang::Zh => clientele_engine::grade::presets::classic_title_zh(&g.scheme),
            Lang::En => None,
        }
        .unwrap_or(&g.scheme);
        let parts: Vec<String> = g
            .grades
            .iter()
            .map(|x| format!("{} {}", x.grade, x.customers))
            .collect();
        say_in!(lang, "{}：{}", "grading {}: {}", scheme, parts.join(" · "))?;
    }
    for s in &sm.skipped_presets {
        say_in!(
            lang,
            "未应用的经典分级：{}",
            "classic grading not applied: {}",
            s.text(lang)
        )?;
    }
    for s in &sm.side_tables {
        // rows, not customers: satisfaction has several rows per customer
        let columns = if s.columns_added.is_empty() {
            String::new()
        } else {
            match lang {
                Lang::Zh => format!("，新增列：{}", s.columns_added.join(", ")),
                Lang::En => format!(", columns: {}", s.columns_added.join(", ")),
            }
        };
        let kind = match (s.kind.as_str(), lang) {
            ("attributes", Lang::Zh) => "客户属性".to_string(),
            ("satisfaction", Lang::Zh) => "满意度".to_string(),
            ("leads", Lang::Zh) => "潜在客户".to_string(),
            (other, _) => other.to_string(),
        };
        say_in!(
            lang,
            "{}：{} 行，其中 {} 行属于客户表中的客户{}",
            "{}: {} rows, {} of them for customers in the table{}",
            kind,
            s.rows,
            s.matched,
            columns
        )?;
    }
    if sm.leads_without_purchase > 0 {
        say_in!(
            lang,
            "{} 位潜在客户尚未购买",
            "{} leads have not bought yet",
            sm.leads_without_purchase
        )?;
    }
    // the list folder with its count, in the run's language
    let lists = sm.target_lists.len();
    let files: Vec<String> = files
        .iter()
        .map(|f| match (f.as_str(), lang) {
            ("segments/", Lang::Zh) => format!("segments/（{lists} 份名单）"),
            ("segments/", Lang::En) => format!("segments/ ({lists} lists)"),
            _ => f.clone(),
        })
        .collect();
    say_in!(
        lang,
        "输出位于 {}：{}",
        "outputs in {}: {}",
        dir.display(),
        files.join(", ")
    )?;
    // `--format auto` left the CSV out: say why and how to have it
    if format == OutputFormat::Auto && !format.writes_csv(a.summary.kpis.customers) {
        say_in!(
            lang,
            "未写 customers.csv：{} 位客户超出 Excel 一张工作表的 1048576 行（--format both 仍会写出）；名单可用 clientele export 导出",
            "customers.csv not written: {} customers exceed the 1,048,576 rows of an Excel sheet (--format both writes it anyway); export lists with clientele export",
            a.summary.kpis.customers
        )?;
    }
    Ok(())
}

/// `model = "auto"`: each candidate's score and which one was kept, and why.
pub(super) fn print_comparison(
    lang: Lang,
    cmp: &clientele_engine::clv::ModelComparison,
) -> Result<()> {
    use clientele_engine::clv::Criterion;
    let holdout = cmp.criterion == Criterion::HoldoutMae;
    say_in!(
        lang,
        "模型比较（{}）：",
        "model comparison ({}):",
        match (holdout, lang) {
            (true, Lang::Zh) => "留出期每位客户购买次数的平均绝对误差，越小越好",
            (true, Lang::En) =>
                "holdout mean absolute error of each customer's purchases, lower is better",
            (false, Lang::Zh) => "BIC，越小越好",
            (false, Lang::En) => "BIC, lower is better",
        }
    )?;
    for c in &cmp.candidates {
        let score = if holdout { c.holdout_mae } else { c.bic };
        let mark = if c.model == cmp.chosen { "→" } else { " " };
        let line = match (score, c.error_in(lang)) {
            (Some(v), _) => {
                let ll = c.log_likelihood.unwrap_or(f64::NAN);
                match lang {
                    Lang::Zh => format!("{v:.4} · 对数似然 {ll:.2}"),
                    Lang::En => format!("{v:.4} · log-likelihood {ll:.2}"),
                }
            }
            (None, Some(e)) => lang.pick("未能拟合：", "not fitted: ").to_string() + e,
            (None, None) => "—".to_string(),
        };
        say!("  {mark} {:<11} {line}", model_name(c.model.name()))?;
    }
    let (chosen, best) = (model_name(cmp.chosen.name()), model_name(cmp.best.name()));
    if cmp.chosen == cmp.best {
        say_in!(
            lang,
            "  选用 {}：得分最好。",
            "  kept {}: the best score.",
            chosen
        )?;
    } else if holdout {
        say_in!(
            lang,
            "  选用 {}：与最好的 {} 相差不到 {:.0}%，按默认顺序优先（docs/MODEL_CHOICE.md）。",
            "  kept {}: within {2:.0} % of the best, {1}, and preferred in the default order (docs/MODEL_CHOICE.md).",
            chosen,
            best,
            cmp.tie_margin * 100.0
        )?;
    } else {
        say_in!(
            lang,
            "  选用 {}：BIC 与最好的 {} 相差不超过 {}，按默认顺序优先（docs/MODEL_CHOICE.md）。",
            "  kept {}: BIC within {2} of the best, {1}, and preferred in the default order (docs/MODEL_CHOICE.md).",
            chosen,
            best,
            cmp.tie_margin
        )?;
    }
    Ok(())
}

/// A transaction model as papers and people name it (`bg_nbd` → `BG/NBD`).
pub(super) fn model_name(id: &str) -> &str {
    match id {
        "bg_nbd" => "BG/NBD",
        "mbg_nbd" => "MBG/NBD",
        "pareto_nbd" => "Pareto/NBD",
        "bg_bb" => "BG/BB",
        other => other,
    }
}
