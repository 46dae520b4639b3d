//! `clientele serve`: the dashboard and the JSON API over finished analyses.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clientele_server::{Limits, Schedule, ServeOptions};

pub(super) const EXAMPLES: &str = "\
Examples:
  clientele serve clientele-demo/out                 dashboard on http://127.0.0.1:8750
  clientele serve out-2025-06 out-2025-07            two runs: history and migration per customer
  CLIENTELE_TOKEN=… clientele serve out --bind 0.0.0.0:8750
  clientele serve out --config shop.toml --refresh daily --token … --allow-refresh

示例：
  clientele serve clientele-demo/out                 在 http://127.0.0.1:8750 打开仪表盘";

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Output folders of `clientele analyze`; the first is the primary run.
    #[arg(required = true, value_name = "OUT_DIR")]
    dirs: Vec<PathBuf>,
    /// Address to listen on. Anything but loopback needs a token.
    #[arg(long, default_value = clientele_server::DEFAULT_BIND)]
    bind: SocketAddr,
    /// Token every route but /health requires (`Authorization: Bearer …`; browsers log in
    /// once at /login). At least 16 characters.
    #[arg(long, env = "CLIENTELE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The config to re-run on refresh (its sources included).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Re-run the analysis on a schedule: daily, hourly, or a five-field cron expression in
    /// UTC ("30 6 * * 1-5").
    #[arg(long, value_parser = parse_schedule)]
    refresh: Option<Schedule>,
    /// Allow POST /api/v1/runs to re-run the analysis (needs --token and --config).
    #[arg(long)]
    allow_refresh: bool,
    /// Alert when a group's customers or value move by more than this share between runs.
    #[arg(long, default_value_t = 0.2)]
    alert_share: f64,
    /// …and by at least this many customers.
    #[arg(long, default_value_t = 20)]
    alert_min_customers: u64,
    /// Most customers per API page.
    #[arg(long, default_value_t = Limits::default().page_size)]
    max_page: usize,
    /// Most customers in one export.
    #[arg(long, default_value_t = Limits::default().export_rows)]
    max_export: usize,
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    s.parse()
}

pub(super) fn run(a: ServeArgs, quiet: bool) -> Result<()> {
    let mut opts = ServeOptions::new(a.dirs);
    opts.bind = a.bind;
    opts.token = a.token.filter(|t| !t.is_empty());
    opts.config = a.config;
    opts.refresh = a.refresh;
    opts.allow_refresh = a.allow_refresh;
    opts.alert_share = a.alert_share;
    opts.alert_min_customers = a.alert_min_customers;
    opts.limits.page_size = a.max_page.max(1);
    opts.limits.export_rows = a.max_export;
    opts.check()?;
    if !quiet {
        eprintln!("clientele serve: loading {} run(s)…", opts.dirs.len());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the server runtime")?;
    let secured = opts.token.is_some();
    rt.block_on(clientele_server::serve(opts, |addr, library| {
        // the first line a script or test waits for
        println!("listening on http://{addr}");
        if !quiet {
            for r in library.runs().iter() {
                let steps: Vec<String> = r
                    .load_steps
                    .iter()
                    .map(|(what, s)| format!("{what} {s:.2} s"))
                    .collect();
                eprintln!(
                    "run {}: {} customers, as of {} (loaded: {})",
                    r.name,
                    r.table().len(),
                    r.run.summary.as_of,
                    steps.join(", ")
                );
            }
            eprintln!(
                "dashboard: http://{addr}/   API: http://{addr}/api/v1/   docs: http://{addr}/openapi.json{}",
                if secured { "   (token required)" } else { "" }
            );
        }
    }))?;
    Ok(())
}
