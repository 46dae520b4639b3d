//! `clientele`: customer grading and customer analysis from sales data.

mod cmd;
mod memory;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc (v3) instead of the system allocator: it reuses the memory freed between the
/// steps (row buffers, decoded batches, partition buffers) where glibc hands it back to the
/// system and pages it in again, a third of the page faults and a tenth of the time of the
/// customer-table step (docs/BENCHMARKS.md, session 7).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status of an internal error (a bug in clientele, not in the user's input): BSD's
/// `EX_SOFTWARE`, apart from the 2 of every error the user can fix.
const EXIT_INTERNAL: u8 = 70;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error: {info}\n{}", report_hint());
    }));
    let cli = cmd::Cli::parse();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmd::run(cli)));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        // The reader of our output went away (`clientele compare a b | head`): done.
        Ok(Err(err)) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            let mut msg = format!("error: {err}");
            // a step's error already says its model's words ("clv: <the clv error>"): a cause
            // is shown only when it adds something
            for cause in err.chain().skip(1) {
                let cause = cause.to_string();
                if !msg.contains(&cause) {
                    msg.push_str(&format!("\n  caused by: {cause}"));
                }
            }
            eprintln!("{msg}");
            if is_internal(&err) {
                eprintln!("{}", report_hint());
                ExitCode::from(EXIT_INTERNAL)
            } else {
                ExitCode::from(2)
            }
        }
        Err(_) => ExitCode::from(EXIT_INTERNAL),
    }
}

fn report_hint() -> String {
    format!(
        "This is a bug in clientele {}, not a problem with your data. Please report it with the \
         command line you ran, the output of `clientele --version`, this message and, if you can \
         share them, the first rows of the input.",
        env!("CARGO_PKG_VERSION")
    )
}

/// Errors that are clientele's fault, not the input's or the environment's: the engine's
/// [`Fault::Internal`](clientele_engine::Fault::Internal), and an ingest failure that is not
/// about the input.
fn is_internal(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<clientele_engine::EngineError>()
            .is_some_and(|e| e.fault() == clientele_engine::Fault::Internal)
            || matches!(
                c.downcast_ref::<clientele_ingest::IngestError>(),
                Some(clientele_ingest::IngestError::Engine(_))
            )
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
