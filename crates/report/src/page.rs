//! Payload → HTML through the embedded minijinja template.

use minijinja::{Environment, UndefinedBehavior, context};
use serde_json::Value;

use crate::{CHARTS_EMBEDDED, ECHARTS_JS, Lang, ReportError, i18n};

const TEMPLATE: &str = include_str!("../templates/report.html");
const CSS: &str = include_str!("../templates/report.css");
const APP_JS: &str = include_str!("../templates/app.js");

/// JSON for an inline `<script>`: no `</script>` or `<!--` can end or confuse the element.
fn script_json(v: &Value) -> String {
    let s = v.to_string();
    s.replace("</", "<\\/")
        .replace("<!--", "<\\!--")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

pub(crate) fn render(payload: &Value, lang: Lang) -> Result<String, ReportError> {
    render_with(payload, lang, CHARTS_EMBEDDED)
}

pub(crate) fn render_with(
    payload: &Value,
    lang: Lang,
    charts: bool,
) -> Result<String, ReportError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError::Template(e.to_string()))?;
    let tmpl = env
        .get_template("report.html")
        .map_err(|e| ReportError::Template(e.to_string()))?;
    let labels: std::collections::BTreeMap<&str, &str> = match lang {
        Lang::Zh => i18n::ZH,
        Lang::En => i18n::EN,
    }
    .iter()
    .copied()
    .collect();
    tmpl.render(context! {
        p => payload,
        L => labels,
        lang => lang.code(),
        charts => charts && !ECHARTS_JS.is_empty(),
        css => CSS,
        app_js => APP_JS,
        echarts_js => ECHARTS_JS,
        payload_json => script_json(payload),
    })
    .map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        ReportError::Template(msg)
    })
}
