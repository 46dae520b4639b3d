//! `clientele`: customer grading and customer analysis from sales data.

mod allocator;
mod cmd;
mod memory;
mod progress;

use std::process::ExitCode;

use clap::Parser;
use clientele_core::Lang;

/// mimalloc (v3) instead of the system allocator: it reuses the memory freed between the
/// steps (row buffers, decoded batches, partition buffers) where glibc hands it back to the
/// system and pages it in again, a third of the page faults and a tenth of the time of the
/// customer-table step (docs/BENCHMARKS.md, session 7). Blocks larger than mimalloc keeps
/// (whole columns) are kept for reuse by [`allocator::KeepHuge`].
#[global_allocator]
static GLOBAL: allocator::KeepHuge = allocator::KeepHuge;

/// Hands the memory mimalloc keeps freed for reuse back to the system now (program-wide, from
/// any thread); the memory watcher calls it before it reads the run's memory near the limit.
///
/// mimalloc v3 keeps freed pages for a second (its purge delay) in case they are asked for
/// again, and purges them only when a thread next allocates: that is what makes it fast
/// between steps, but a model step at 18M customers frees and allocates gigabytes while it
/// computes, and the watcher counted what was freed as used (at 100M rows under
/// `--memory-limit 4GB` the CLV step was stopped holding 2.4–3.5 GB, of which 1.3–2.6 GB were
/// in use). A purge delay of 0 instead tripled the system time of a run by parts.
#[allow(unsafe_code)]
pub(crate) fn return_freed_memory() {
    allocator::return_kept();
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any time;
    // with `force` it purges the pages mimalloc already holds free (its arenas' and the
    // calling thread's), which no live allocation uses.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Exit status of an internal error (a bug in clientele, not in the user's input): BSD's
/// `EX_SOFTWARE`, apart from the 2 of every error the user can fix.
const EXIT_INTERNAL: u8 = 70;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error: {info}\n{}", report_hint());
    }));
    let cli = cmd::Cli::parse();
    let bars = cmd::bars(&cli);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmd::run(cli, bars)));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        // The reader of our output went away (`clientele compare a b | head`): done.
        Ok(Err(err)) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("{}", error_message(&err, bars.lang()));
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

/// `error: <the error>` and the causes that add something, in `lang`: in Chinese the first
/// error of the chain that its crate words in Chinese stands for itself and the causes it
/// already says (English where no crate words it).
fn error_message(err: &anyhow::Error, lang: Lang) -> String {
    let chain: Vec<&(dyn std::error::Error + 'static)> = err.chain().collect();
    let found = match lang {
        Lang::Zh => chain
            .iter()
            .enumerate()
            .find_map(|(i, e)| Some((i, zh_of(*e)?))),
        Lang::En => None,
    };
    let (mut msg, said, caused) = match (lang, found) {
        (Lang::En, _) => (format!("error: {err}"), 0, "caused by"),
        (Lang::Zh, None) => (format!("错误：{err}"), 0, "原因"),
        // what anyhow's context said above it (a path, a step) stays in front
        (Lang::Zh, Some((i, zh))) => {
            let mut lead: Vec<String> = chain[..i].iter().map(|e| e.to_string()).collect();
            lead.push(zh);
            (format!("错误：{}", lead.join("：")), i, "原因")
        }
    };
    // a step's error already says its model's words ("clv: <the clv error>"): a cause is
    // shown only when it adds something
    let english = chain.get(said).map(|e| e.to_string()).unwrap_or_default();
    for cause in chain.iter().skip(said + 1) {
        let text = cause.to_string();
        if english.contains(&text) || msg.contains(&text) {
            continue;
        }
        let text = match lang {
            Lang::Zh => zh_of(*cause).unwrap_or(text),
            Lang::En => text,
        };
        msg.push_str(&format!("\n  {caused}: {text}"));
    }
    msg
}

/// An error's Chinese words, where its crate has them.
fn zh_of(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    e.downcast_ref::<clientele_engine::EngineError>()
        .and_then(clientele_engine::EngineError::zh)
        .or_else(|| {
            e.downcast_ref::<clientele_ingest::IngestError>()
                .map(clientele_ingest::IngestError::zh)
        })
        .or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .map(clientele_ingest::io_zh)
        })
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
