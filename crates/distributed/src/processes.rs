//! The scheduler and executor processes, from Ballista's own libraries: the `clientele`
//! binary is the whole cluster, so client, scheduler and executors share one DataFusion.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use crate::DistributedError;

/// Settings of a scheduler process.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Address the gRPC service listens on (clients and executors connect here).
    pub bind: SocketAddr,
    /// Seconds without a heartbeat after which an executor is taken as lost and its tasks
    /// are run again elsewhere.
    pub executor_timeout_seconds: u64,
}

/// Settings of an executor process.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler: (String, u16),
    /// Address the executor listens on (Arrow Flight: shuffle data and results).
    pub bind_host: String,
    /// The Arrow Flight port.
    pub port: u16,
    /// The executor's gRPC port (tasks pushed by the scheduler).
    pub grpc_port: u16,
    /// Where shuffle files are written (a temporary folder when `None`).
    pub work_dir: Option<PathBuf>,
    /// Tasks run at once (the machine's cores when 0).
    pub concurrent_tasks: usize,
}

/// Ballista's log lines on stderr, at the level of `RUST_LOG` (`error`, `warn`, `info`,
/// `debug`; default `warn`).
struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("[{} {}] {}", r.level(), r.target(), r.args());
        }
    }
    fn flush(&self) {}
}

fn init_log() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(log::LevelFilter::Warn);
    if log::set_logger(&Stderr).is_ok() {
        log::set_max_level(level);
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, DistributedError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| DistributedError::Process(format!("starting a runtime: {e}")))
}

fn failed(what: &str, e: impl std::fmt::Display) -> DistributedError {
    DistributedError::Process(format!("the {what} stopped: {e}"))
}

/// Runs a scheduler until the process is stopped.
pub fn run_scheduler(opts: &SchedulerOptions) -> Result<(), DistributedError> {
    let config = SchedulerConfig {
        bind_host: opts.bind.ip().to_string(),
        bind_port: opts.bind.port(),
        external_host: opts.bind.ip().to_string(),
        executor_timeout_seconds: opts.executor_timeout_seconds,
        no_executors_grace_period_seconds: opts.executor_timeout_seconds,
        // checked at least twice per timeout, so a lost executor is noticed within it
        expire_dead_executor_interval_seconds: (opts.executor_timeout_seconds / 2).clamp(1, 15),
        // the fold plan's function, with its parameters, to the executors
        override_logical_codec: Some(Arc::new(crate::fold::FoldLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(crate::fold::FoldPhysicalCodec::default())),
        ..SchedulerConfig::default()
    };
    init_log();
    runtime()?.block_on(async {
        let cluster = BallistaCluster::new_from_config(&config)
            .await
            .map_err(|e| failed("scheduler", e))?;
        eprintln!("clientele cluster scheduler listening on {}", opts.bind);
        start_server(cluster, opts.bind, Arc::new(config))
            .await
            .map_err(|e| failed("scheduler", e))
    })
}

/// Runs an executor, registered with its scheduler, until the process is stopped.
pub fn run_executor(opts: &ExecutorOptions) -> Result<(), DistributedError> {
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: opts.bind_host.clone(),
        external_host: Some(opts.bind_host.clone()),
        port: opts.port,
        grpc_port: opts.grpc_port,
        scheduler_host: opts.scheduler.0.clone(),
        scheduler_port: opts.scheduler.1,
        scheduler_connect_timeout_seconds: 30,
        vcores: if opts.concurrent_tasks == 0 {
            defaults.vcores
        } else {
            opts.concurrent_tasks
        },
        work_dir: opts.work_dir.as_ref().map(|p| p.display().to_string()),
        // a heartbeat well inside the scheduler's timeout
        executor_heartbeat_interval_seconds: 5,
        // the fold plan's function: these executors run it
        override_logical_codec: Some(Arc::new(crate::fold::FoldLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(crate::fold::FoldPhysicalCodec::default())),
        ..defaults
    };
    if let Some(dir) = &opts.work_dir {
        std::fs::create_dir_all(dir).map_err(|e| DistributedError::Staging {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
    }
    init_log();
    runtime()?.block_on(async {
        eprintln!(
            "clientele cluster executor on {}:{} (scheduler {}:{})",
            opts.bind_host, opts.port, opts.scheduler.0, opts.scheduler.1
        );
        start_executor_process(Arc::new(config))
            .await
            .map_err(|e| failed("executor", e))
    })
}
