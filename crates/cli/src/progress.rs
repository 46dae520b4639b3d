//! indicatif progress bars behind the ingest `Progress` hook; hidden when stderr is not a
//! terminal or with `--quiet`. Steps are labelled in the run's language.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use clientele_core::{Lang, Note};
use clientele_engine::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte-based progress bar for file reads, which also keeps the wall time of every step
/// it shows (for `--timings`).
#[derive(Debug)]
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
    /// The language of the labels: the locale's until a command knows its run's.
    lang: Mutex<Lang>,
    /// The step shown now, and the steps done with their wall time.
    open: Mutex<Option<(String, Instant)>>,
    done: Mutex<Vec<(String, Duration)>>,
}

impl Bars {
    pub fn new(quiet: bool, lang: Lang) -> Bars {
        Bars {
            bar: Mutex::new(None),
            quiet,
            lang: Mutex::new(lang),
            open: Mutex::new(None),
            done: Mutex::new(Vec::new()),
        }
    }

    /// The steps done so far with their wall time, in order.
    pub fn steps(&self) -> Vec<(String, Duration)> {
        self.close();
        self.done.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// Ends the step shown now, keeping its wall time.
    fn close(&self) {
        if let Ok(mut o) = self.open.lock()
            && let Some((label, since)) = o.take()
            && let Ok(mut d) = self.done.lock()
        {
            d.push((label, since.elapsed()));
        }
    }

    /// The label of the step shown now.
    pub fn current_step(&self) -> Option<String> {
        self.open
            .lock()
            .ok()?
            .as_ref()
            .map(|(label, _)| label.clone())
    }

    /// Takes the bar off the terminal (before a message that ends the run).
    pub fn clear(&self) {
        if let Ok(b) = self.bar.lock()
            && let Some(pb) = b.as_ref()
        {
            pb.finish_and_clear();
        }
    }

    /// Labels the steps from now on in `lang` (the run's, once its config is read).
    pub fn set_lang(&self, lang: Lang) {
        if let Ok(mut l) = self.lang.lock() {
            *l = lang;
        }
    }

    /// The language the steps are labelled in.
    pub fn lang(&self) -> Lang {
        self.lang.lock().map_or(Lang::default(), |l| *l)
    }

    /// Ends the step shown, and shows `label` with a bar drawn by `template` (indicatif's).
    fn open_bar(&self, label: &Note, total: Option<u64>, template: &str) {
        let label = label.text(self.lang());
        self.close();
        if let Ok(mut o) = self.open.lock() {
            *o = Some((label.to_string(), Instant::now()));
        }
        let pb = ProgressBar::with_draw_target(total, self.target());
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        pb.set_style(style);
        pb.set_message(label.to_string());
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(pb);
        }
    }

    /// True with `--quiet`.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        }
    }

    /// A spinner for steps without a known size.
    pub fn spinner(&self, msg: &str) -> ProgressBar {
        let pb = ProgressBar::with_draw_target(None, self.target());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    }
}

impl Progress for Bars {
    fn start(&self, label: &Note, total_bytes: Option<u64>) {
        let eta = self.lang().pick("剩余", "eta");
        let template = format!(
            "{{msg:40!}} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}} {eta} {{eta}}"
        );
        self.open_bar(label, total_bytes, &template);
    }

    fn start_count(&self, label: &Note, total: u64, unit: &Note) {
        let lang = self.lang();
        let (unit, eta) = (unit.text(lang), lang.pick("剩余", "eta"));
        let template = format!("{{msg:40!}} [{{bar:30}}] {{pos}}/{{len}} {unit} {eta} {{eta}}");
        self.open_bar(label, Some(total), &template);
    }

    fn advance(&self, bytes: u64) {
        if let Ok(b) = self.bar.lock()
            && let Some(pb) = b.as_ref()
        {
            pb.inc(bytes);
        }
    }

    fn finish(&self) {
        self.close();
        if let Ok(mut b) = self.bar.lock()
            && let Some(pb) = b.take()
        {
            pb.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps are kept (for `--timings` and the memory message) in the language set last,
    /// counted phases included.
    #[test]
    fn steps_are_named_in_the_runs_language() {
        let bars = Bars::new(true, Lang::En);
        bars.start(&Note::new("读取 a.csv", "reading a.csv"), Some(10));
        bars.set_lang(Lang::Zh);
        let parts = Note::new("分块构建顾客表", "building the customer table by parts");
        bars.start_count(&parts, 16, &Note::new("块", "parts"));
        assert_eq!(bars.current_step().as_deref(), Some("分块构建顾客表"));
        bars.advance(3);
        bars.finish();
        let steps: Vec<String> = bars.steps().into_iter().map(|(s, _)| s).collect();
        assert_eq!(steps, ["reading a.csv", "分块构建顾客表"]);
    }
}
