//! `clientele cluster scheduler|executor`: the cluster engine's processes, from the same
//! binary (and the same DataFusion) as the client.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use clientele_distributed::{ExecutorOptions, SchedulerOptions};

pub(super) const EXAMPLES: &str = "\
Examples (one machine; on several, bind to each machine's own address):
  clientele cluster scheduler --bind 127.0.0.1:50050
  clientele cluster executor --scheduler 127.0.0.1:50050 --port 50051 --grpc-port 50052 --work-dir /tmp/ex1
  clientele cluster executor --scheduler 127.0.0.1:50050 --port 50061 --grpc-port 50062 --work-dir /tmp/ex2
  clientele analyze orders.csv --cluster df://127.0.0.1:50050";

#[derive(Debug, Subcommand)]
pub(super) enum ClusterCommand {
    /// Run a scheduler: clients submit their jobs here and executors register here.
    Scheduler {
        /// Address of its gRPC service.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
        /// Seconds without a heartbeat before an executor is taken as lost (its tasks then
        /// run again on the others).
        #[arg(long, default_value_t = 30)]
        executor_timeout: u64,
    },
    /// Run an executor, registered with a scheduler.
    Executor {
        /// The scheduler's host:port.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// Address to listen on (and announce to the scheduler and the other executors).
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// Arrow Flight port: shuffle data and results are fetched here.
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port for tasks the scheduler pushes.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Folder for shuffle files (default: a new temporary folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Tasks at once (default: the machine's cores).
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
    },
}

pub(super) fn run(c: ClusterCommand) -> Result<()> {
    match c {
        ClusterCommand::Scheduler {
            bind,
            executor_timeout,
        } => clientele_distributed::run_scheduler(&SchedulerOptions {
            bind,
            executor_timeout_seconds: executor_timeout,
        })?,
        ClusterCommand::Executor {
            scheduler,
            bind_host,
            port,
            grpc_port,
            work_dir,
            concurrent_tasks,
        } => {
            let (host, sport) = scheduler
                .rsplit_once(':')
                .context("--scheduler: give host:port, e.g. 127.0.0.1:50050")?;
            let sport: u16 = sport
                .parse()
                .context("--scheduler: the port must be a number, e.g. 127.0.0.1:50050")?;
            clientele_distributed::run_executor(&ExecutorOptions {
                scheduler: (host.to_string(), sport),
                bind_host,
                port,
                grpc_port,
                work_dir,
                concurrent_tasks,
            })?
        }
    }
    Ok(())
}
