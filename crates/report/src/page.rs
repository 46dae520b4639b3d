//! Payload → HTML through the embedded minijinja template.

use minijinja::{Environment, UndefinedBehavior, context};
use serde_json::Value;

use crate::{CHARTS_EMBEDDED, ECHARTS_JS, Lang, ReportError, i18n};

const TEMPLATE: &str = include_str!("../templates/report.html");
pub(crate) const CSS: &str = include_str!("../templates/report.css");
pub(crate) const APP_JS: &str = include_str!("../templates/app.js");

/// JSON for an inline `<script>`: no `</script>` or `<!--` can end or confuse the element.
pub(crate) fn script_json(v: &Value) -> String {
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
    let env = environment()?;
    let tmpl = env.get_template("report.html").map_err(template_error)?;
    tmpl.render(context! {
        p => payload,
        L => labels(lang),
        lang => lang.code(),
        charts => charts && !ECHARTS_JS.is_empty(),
        css => CSS,
        app_js => APP_JS,
        echarts_js => ECHARTS_JS,
        payload_json => script_json(payload),
    })
    .map_err(template_error)
}

/// Sections of a payload as the report shows them (its `section` macro), for a page of
/// another surface that carries the same sections as `<script type="application/json"
/// id="data">`, the report's CSS, `app.js` and ECharts.
pub(crate) fn render_sections(sections: &[Value], lang: Lang) -> Result<String, ReportError> {
    let env = environment()?;
    let tmpl = env.get_template("report.html").map_err(template_error)?;
    let empty = serde_json::json!({"title": "", "meta": [], "nav": [], "sections": []});
    let page = tmpl
        .render_captured(context! {
            p => empty,
            L => labels(lang),
            lang => lang.code(),
            charts => CHARTS_EMBEDDED && !ECHARTS_JS.is_empty(),
            css => "",
            app_js => "",
            echarts_js => "",
            payload_json => "{}",
        })
        .map_err(template_error)?;
    let mut html = String::new();
    for s in sections {
        let s = minijinja::Value::from_serialize(s);
        html.push_str(
            &page
                .state()
                .call_macro("section", &[s])
                .map_err(template_error)?,
        );
        html.push('\n');
    }
    Ok(html)
}

fn environment() -> Result<Environment<'static>, ReportError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.add_template("report.html", TEMPLATE)
        .map_err(template_error)?;
    Ok(env)
}

fn labels(lang: Lang) -> std::collections::BTreeMap<&'static str, &'static str> {
    match lang {
        Lang::Zh => i18n::ZH,
        Lang::En => i18n::EN,
    }
    .iter()
    .copied()
    .collect()
}

fn template_error(e: minijinja::Error) -> ReportError {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ReportError::Template(msg)
}
