//! The monitoring loop: re-run the configured analysis on a schedule (and on `POST
//! /api/v1/runs`), keep every run's summary and snapshot, and list the groups whose size or
//! value moved between consecutive runs as alerts.
//!
//! A refresh analyzes with the primary run as `--previous` (so the new run carries migration
//! and drift against it), writes the new run over the primary folder atomically (the engine's
//! output folders), and keeps the previous runs' `summary.json` and snapshot in its
//! `history/` folder. Readers see the old run until the new one is loaded whole.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use clientele_engine::{
    Alert, AlertRule, AnalyzeOptions, Config, EngineError, ExtraFile, NoProgress, Summary,
};
use serde::Serialize;

use crate::api::{Q, RunInfo, RunQuery};
use crate::{ApiError, AppState, Library, ServeError, ServeOptions};

/// The folder of earlier runs inside a refreshed output folder.
pub const HISTORY_DIR: &str = "history";

/// When to refresh.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Every day at 00:00 UTC.
    Daily,
    /// Every hour on the hour.
    Hourly,
    /// A five-field cron expression, in UTC (`30 6 * * 1-5`: 06:30 on weekdays).
    Cron(String),
}

impl FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Schedule, String> {
        match s.trim() {
            "daily" => Ok(Schedule::Daily),
            "hourly" => Ok(Schedule::Hourly),
            c => {
                if c.split_whitespace().count() != 5 {
                    return Err(format!(
                        "`{c}` is not daily, hourly or a cron expression of five fields \
                         (minute hour day month weekday, e.g. `30 6 * * 1-5`)"
                    ));
                }
                croner::Cron::from_str(c)
                    .map(|_| Schedule::Cron(c.to_string()))
                    .map_err(|e| format!("cron `{c}`: {e}"))
            }
        }
    }
}

impl Schedule {
    fn cron(&self) -> croner::Cron {
        let pattern = match self {
            Schedule::Daily => "0 0 * * *",
            Schedule::Hourly => "0 * * * *",
            Schedule::Cron(c) => c.as_str(),
        };
        croner::Cron::from_str(pattern).expect("checked when parsed")
    }

    /// How long from `now` to the next refresh.
    pub fn wait_from(&self, now: SystemTime) -> Duration {
        let now: chrono::DateTime<chrono::Utc> = now.into();
        self.cron()
            .find_next_occurrence(&now, false)
            .ok()
            .and_then(|next| (next - now).to_std().ok())
            .unwrap_or(Duration::from_secs(3600))
    }
}

/// The alerts of the latest refresh (or, after a restart, between the primary run and the
/// last run its history keeps).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Alerts {
    /// The run the alerts are about.
    pub run: String,
    /// Its as-of date.
    pub as_of: String,
    /// The as-of date of the run compared with, when there is one.
    pub previous_as_of: Option<String>,
    /// The rule: relative change and minimum customers.
    pub min_share: f64,
    /// Minimum change in customers.
    pub min_customers: u64,
    /// The groups that moved, largest move first.
    pub alerts: Vec<Alert>,
}

/// Runs refreshes, one at a time.
pub struct Refresher {
    library: Arc<Library>,
    config: Option<PathBuf>,
    allowed: bool,
    rule: AlertRule,
    busy: tokio::sync::Mutex<()>,
    latest: Mutex<Option<Alerts>>,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Refresher {
    /// A refresher for the served library; alerts start from the primary run's history.
    pub fn new(opts: &ServeOptions, library: Arc<Library>) -> Result<Refresher, ServeError> {
        let rule = AlertRule::new(opts.alert_share, opts.alert_min_customers)
            .map_err(|e| ServeError::Settings(e.to_string()))?;
        let r = Refresher {
            library,
            config: opts.config.clone(),
            allowed: opts.allow_refresh,
            rule,
            busy: tokio::sync::Mutex::new(()),
            latest: Mutex::new(None),
        };
        let first = r.alerts_from_history();
        *r.latest.lock().unwrap_or_else(|e| e.into_inner()) = first;
        Ok(r)
    }

    /// Alerts between the primary run and the newest run in its `history/`.
    fn alerts_from_history(&self) -> Option<Alerts> {
        let run = self.library.run(None).ok()?;
        let previous = history(&run.run.dir).into_iter().last()?;
        let text = std::fs::read_to_string(previous.join("summary.json")).ok()?;
        let old = Summary::from_json(&text).ok()?;
        Some(self.alerts_between(&old, &run.run.summary, &run.name))
    }

    fn alerts_between(&self, old: &Summary, new: &Summary, name: &str) -> Alerts {
        Alerts {
            run: name.to_string(),
            as_of: new.as_of.to_string(),
            previous_as_of: Some(old.as_of.to_string()),
            min_share: self.rule.size_share(),
            min_customers: self.rule.min_customers(),
            alerts: clientele_engine::alerts(old, new, &self.rule),
        }
    }

    /// The latest alerts.
    pub fn latest(&self) -> Option<Alerts> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-runs the analysis now; refuses while another refresh runs.
    pub async fn refresh(&self) -> Result<Alerts, ApiError> {
        let Ok(_guard) = self.busy.try_lock() else {
            return Err(ApiError::new(StatusCode::CONFLICT, "a refresh is running")
                .fix("wait for it to finish, then ask again")
                .zh("正在刷新")
                .fix_zh("请等它完成后再试"));
        };
        let config = self.config.clone().ok_or_else(|| {
            ApiError::new(StatusCode::CONFLICT, "no config to re-run")
                .fix("start the server with --config c.toml")
                .zh("没有可重新运行的配置")
                .fix_zh("请用 --config c.toml 启动服务器")
        })?;
        let library = Arc::clone(&self.library);
        let (old, new) = tokio::task::spawn_blocking(move || refresh_once(&library, &config))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .map_err(|e| {
                eprintln!("clientele serve: refresh failed: {e}");
                ApiError::engine(e)
            })?;
        let name = self
            .library
            .run(None)
            .map(|r| r.name.clone())
            .unwrap_or_default();
        let alerts = self.alerts_between(&old, &new, &name);
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(alerts.clone());
        Ok(alerts)
    }

    /// Refreshes on `schedule` until the server stops. A failed refresh is logged and the
    /// served runs stay as they were.
    pub async fn run_on(self: Arc<Self>, schedule: Schedule) {
        loop {
            tokio::time::sleep(schedule.wait_from(SystemTime::now())).await;
            match self.refresh().await {
                Ok(a) => eprintln!(
                    "clientele serve: refreshed: as of {}, {} alert(s)",
                    a.as_of,
                    a.alerts.len()
                ),
                Err(e) => eprintln!("clientele serve: refresh failed: {}", e.message),
            }
        }
    }
}

/// The earlier runs kept in `dir/history/`, oldest first.
pub fn history(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(HISTORY_DIR))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("summary.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// One refresh: analyze against the primary run, keep it in history, write, reload.
fn refresh_once(library: &Library, config_path: &Path) -> Result<(Summary, Summary), EngineError> {
    let primary = library.dirs[0].clone();
    let config = Config::load(config_path)?;
    let old = library
        .run(None)
        .map(|r| r.run.summary.clone())
        .map_err(|e| EngineError::Internal(e.message))?;
    let has_snapshot = primary.join(clientele_engine::SNAPSHOT_FILE).is_file();
    let a = clientele_engine::analyze(
        &config,
        &AnalyzeOptions {
            previous: has_snapshot.then(|| primary.clone()),
            ..AnalyzeOptions::default()
        },
        &NoProgress,
    )?;
    // what the folder kept so far, and the run being replaced
    let mut extra = Vec::new();
    let mut n = 0;
    for h in history(&primary) {
        n += 1;
        for f in ["summary.json", "snapshot.json"] {
            if let Ok(bytes) = std::fs::read(h.join(f)) {
                let name = h.file_name().map(|x| x.to_string_lossy().into_owned());
                if let Some(name) = name {
                    extra.push(ExtraFile {
                        name: format!("{HISTORY_DIR}/{name}/{f}"),
                        bytes,
                    });
                }
            }
        }
    }
    let entry = format!("{HISTORY_DIR}/{:04}-{}", n + 1, old.as_of);
    for (from, to) in [
        ("summary.json", "summary.json"),
        (clientele_engine::SNAPSHOT_FILE, "snapshot.json"),
    ] {
        if let Ok(bytes) = std::fs::read(primary.join(from)) {
            extra.push(ExtraFile {
                name: format!("{entry}/{to}"),
                bytes,
            });
        }
    }
    extra.extend(
        clientele_report::report_files(&a.summary)
            .map_err(|e| EngineError::Internal(e.to_string()))?,
    );
    let mut inputs = config.input_paths();
    inputs.push(config_path.to_path_buf());
    clientele_engine::write_outputs(
        &a,
        &primary,
        config.output.format,
        config.output.parquet_compression,
        &inputs,
        &extra,
    )?;
    library.reload_primary()?;
    Ok((old, a.summary))
}

/// `POST /api/v1/runs` answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Refreshed {
    /// The new primary run.
    pub run: RunInfo,
    /// Its alerts against the run it replaced.
    pub alerts: Alerts,
}

pub(crate) async fn run_now(
    State(s): State<AppState>,
) -> Result<(StatusCode, Json<Refreshed>), ApiError> {
    if !s.refresher.allowed {
        return Err(
            ApiError::new(StatusCode::FORBIDDEN, "this server is read-only")
                .fix(
                    "start it with --allow-refresh and --config to let callers re-run the analysis",
                )
                .zh("此服务器只读")
                .fix_zh("用 --allow-refresh 和 --config 启动它，调用方才能重新运行分析"),
        );
    }
    let alerts = s.refresher.refresh().await?;
    let run = s.library.run(None)?;
    Ok((
        StatusCode::CREATED,
        Json(Refreshed {
            run: crate::api::run_info(&run),
            alerts,
        }),
    ))
}

pub(crate) async fn alerts(
    State(s): State<AppState>,
    Q(_q): Q<RunQuery>,
) -> Result<Json<Alerts>, ApiError> {
    let run = s.library.run(None)?;
    Ok(Json(s.refresher.latest().unwrap_or_else(|| Alerts {
        run: run.name.clone(),
        as_of: run.run.summary.as_of.to_string(),
        previous_as_of: None,
        min_share: s.refresher.rule.size_share(),
        min_customers: s.refresher.rule.min_customers(),
        alerts: Vec::new(),
    })))
}
