//! A fitted model's parameters and fit line, shown by the value and validation sections.

use clientele_engine::clv::FitReport;
use serde_json::json;

use super::Ctx;
use super::card::{Table, c_num, or_dash};
use crate::fmt_num::{int, num};

/// Parameters with their standard errors ("–" where the Hessian gave none).
pub(super) fn param_table(c: &Ctx, fit: &FitReport) -> Table {
    let mut t = Table::new(vec![
        (c.t("fit.param"), false),
        (c.t("fit.estimate"), true),
        (c.t("fit.std_error"), true),
    ]);
    param_rows(&mut t, fit);
    t
}

/// Adds the parameters of `fit` to a parameter table.
pub(super) fn param_rows(t: &mut Table, fit: &FitReport) {
    for (i, (name, value)) in fit.param_names.iter().zip(&fit.params).enumerate() {
        let se = fit.std_errors.as_ref().and_then(|s| s.get(i)).copied();
        t.row(vec![
            json!(name),
            c_num(*value, 4),
            or_dash(se, |v| c_num(v, 4)),
        ]);
    }
}

/// "BG/NBD: log-likelihood …, n customers, k iterations, converged yes".
pub(super) fn fit_line(c: &Ctx, fit: &FitReport) -> String {
    c.tf(
        "fit.line",
        &[
            ("model", c.t_or(&format!("model.{}", fit.model), &fit.model)),
            ("ll", num(fit.log_likelihood, 1)),
            ("n", int(fit.n_customers)),
            ("iter", int(fit.iterations as f64)),
            ("conv", c.t(if fit.converged { "yes" } else { "no" })),
        ],
    )
}
