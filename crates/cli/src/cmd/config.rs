//! `clientele config init` and `clientele config check`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;
use clientele_engine::{Config, write_file};

use crate::progress::Bars;

#[derive(Debug, Subcommand)]
pub(super) enum ConfigCommand {
    /// Write a commented default config file.
    Init {
        /// Where to write it.
        #[arg(default_value = "clientele.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check a config against the data: problems with a fix, and how many customers each rule takes.
    Check {
        /// The config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Transaction files (default: [source] transactions of the config).
        inputs: Vec<PathBuf>,
    },
}

pub(super) fn run(c: ConfigCommand, bars: &Bars) -> Result<()> {
    match c {
        ConfigCommand::Init { path, force } => init(&path, force),
        ConfigCommand::Check { config, inputs } => check(&config, inputs, bars),
    }
}

fn init(path: &Path, force: bool) -> Result<()> {
    // the language of the user's locale, so their runs read in it
    let lang = super::flags::locale_lang();
    let text = clientele_engine::DEFAULT_CONFIG.replacen(
        "lang = \"zh\"  ",
        &format!("lang = \"{}\"  ", lang.code()),
        1,
    );
    write_file(path, text.as_bytes(), |_| force)?;
    say!(
        "wrote {} — edit it, then run: clientele config check --config {}",
        path.display(),
        path.display()
    )?;
    Ok(())
}

fn check(path: &Path, inputs: Vec<PathBuf>, bars: &Bars) -> Result<()> {
    let mut config = Config::load(path)?;
    if !inputs.is_empty() {
        config.source.transactions = inputs;
    }
    if config.source.transactions.is_empty() && config.source.postgres.is_none() {
        anyhow::bail!(
            "{}: no transaction files: set [source] transactions (or postgres) or pass files",
            path.display()
        );
    }
    bars.set_lang(config.output.lang);
    let r = clientele_engine::check_config(&config, bars)?;
    say!("{}: {} customers", path.display(), r.customers)?;
    for d in &r.diagnostics {
        say!("{d}")?;
    }
    for (scheme, rules) in &r.previews {
        say!("scheme {scheme}:")?;
        for p in rules {
            say!(
                "  {} matches {:>8}  takes {:>8}  {}",
                super::pad(&p.grade, 16, true),
                p.matched_customers,
                p.taken_customers,
                p.when.as_deref().unwrap_or("(default)")
            )?;
        }
    }
    let errors = r
        .diagnostics
        .iter()
        .filter(|d| d.severity == clientele_grade::Severity::Error)
        .count();
    if errors > 0 {
        anyhow::bail!("{errors} problem(s) in {}", path.display());
    }
    say!("config OK")?;
    Ok(())
}
