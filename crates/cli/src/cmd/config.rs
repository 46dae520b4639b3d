//! `clientele config init` and `clientele config check`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;
use clientele_core::Lang;
use clientele_engine::{Config, write_file};

use super::flags::LangArg;
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
        /// Language of the findings and counts (default: the config's).
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
    },
}

pub(super) fn run(c: ConfigCommand, bars: &Bars) -> Result<()> {
    match c {
        ConfigCommand::Init { path, force } => init(&path, force),
        ConfigCommand::Check {
            config,
            inputs,
            lang,
        } => check(&config, inputs, lang.map(Lang::from), bars),
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
    say_in!(
        lang,
        "已写入 {}，修改后运行：clientele config check --config {}",
        "wrote {} — edit it, then run: clientele config check --config {}",
        path.display(),
        path.display()
    )?;
    Ok(())
}

fn check(path: &Path, inputs: Vec<PathBuf>, lang: Option<Lang>, bars: &Bars) -> Result<()> {
    // `--lang` holds before the config is read: its errors are said in it too
    if let Some(l) = lang {
        bars.set_lang(l);
    }
    let mut config = Config::load(path)?;
    if !inputs.is_empty() {
        config.source.transactions = inputs;
    }
    if let Some(l) = lang {
        config.output.lang = l;
    }
    if config.source.transactions.is_empty() && config.source.postgres.is_none() {
        match config.output.lang {
            Lang::Zh => anyhow::bail!(
                "{}：没有交易数据文件：请在 [source] 中设置 transactions（或 postgres），或给出文件",
                path.display()
            ),
            Lang::En => anyhow::bail!(
                "{}: no transaction files: set [source] transactions (or postgres) or pass files",
                path.display()
            ),
        }
    }
    let lang = config.output.lang;
    bars.set_lang(lang);
    let r = clientele_engine::check_config(&config, bars)?;
    say_in!(
        lang,
        "{}：客户 {}",
        "{}: {} customers",
        path.display(),
        r.customers
    )?;
    for d in &r.diagnostics {
        say!("{}", d.to_string_in(lang))?;
    }
    for (scheme, rules) in &r.previews {
        say_in!(lang, "方案 {}：", "scheme {}:", scheme)?;
        for p in rules {
            let grade = super::pad(&p.grade, 16, true);
            let (matched, taken) = (p.matched_customers, p.taken_customers);
            let when = p
                .when
                .as_deref()
                .unwrap_or(lang.pick("（默认）", "(default)"));
            say_in!(
                lang,
                "  {} 符合 {:>8}  归入 {:>8}  {}",
                "  {} matches {:>8}  takes {:>8}  {}",
                grade,
                matched,
                taken,
                when
            )?;
        }
    }
    let errors = r
        .diagnostics
        .iter()
        .filter(|d| d.severity == clientele_grade::Severity::Error)
        .count();
    if errors > 0 {
        match lang {
            Lang::Zh => anyhow::bail!("{} 中有 {errors} 个问题", path.display()),
            Lang::En => anyhow::bail!("{errors} problem(s) in {}", path.display()),
        }
    }
    say_in!(lang, "配置无误", "config OK")?;
    Ok(())
}
