//! `clientele`: customer grading and customer analysis from sales data.

mod cmd;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc (v3) instead of the system allocator: it reuses the memory freed between the
/// steps (row buffers, decoded batches, partition buffers) where glibc hands it back to the
/// system and pages it in again, a third of the page faults and a tenth of the time of the
/// customer-table step (docs/BENCHMARKS.md, session 7).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut msg = format!("error: {err}");
            for cause in err.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}
