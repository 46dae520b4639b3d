//! The hostile-input corpus (`tests/hostile/cases.toml`): each case runs the real binary on
//! files it writes into a temporary folder and asserts the exit code, the message and the
//! located rejects. Nothing may panic, and a failed run leaves no output behind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Files to write, by name: UTF-8 text.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Files to write, by name: bytes in hex (GBK, Latin-1, broken UTF-8, …).
    #[serde(default)]
    hex_files: BTreeMap<String, String>,
    /// Lines appended to a file of `files`, each repeated (data too long to write out).
    #[serde(default)]
    repeat: BTreeMap<String, Vec<Repeat>>,
    /// The command line after `clientele`; `{dir}` is the case's folder, `{out}` its output.
    /// Default: `analyze {dir}/orders.csv --out {out} --quiet --lang en`.
    #[serde(default)]
    command: Vec<String>,
    /// Extra arguments after the command.
    #[serde(default)]
    args: Vec<String>,
    exit: i32,
    /// Substrings of standard output.
    #[serde(default)]
    stdout: Vec<String>,
    /// Substrings of standard error.
    #[serde(default)]
    stderr: Vec<String>,
    /// Substrings of rejects.csv, each on one line of it (e.g. `orders.csv,3,amount`).
    #[serde(default)]
    rejects: Vec<String>,
    /// Data rows expected in rejects.csv (header excluded), when given.
    rejected: Option<usize>,
    /// Substrings of summary.json.
    #[serde(default)]
    summary: Vec<String>,
}

/// A line appended `times` times (a newline is added to each).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    line: String,
    times: usize,
}

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn run_case(c: &Case, root: &Path) -> Result<(), String> {
    let dir = root.join(c.name.replace(|ch: char| !ch.is_ascii_alphanumeric(), "_"));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    for (name, text) in &c.files {
        let mut text = text.clone();
        for r in c.repeat.get(name).into_iter().flatten() {
            for _ in 0..r.times {
                text.push_str(&r.line);
                text.push('\n');
            }
        }
        write(name, text.as_bytes());
    }
    for (name, h) in &c.hex_files {
        write(name, &hex(h));
    }
    let out = dir.join("out");
    let subst = |a: &str| {
        a.replace("{dir}", &dir.to_string_lossy())
            .replace("{out}", &out.to_string_lossy())
    };
    let mut args: Vec<String> = if c.command.is_empty() {
        [
            "analyze",
            "{dir}/orders.csv",
            "--out",
            "{out}",
            "--quiet",
            "--lang",
            "en",
        ]
        .iter()
        .map(|a| subst(a))
        .collect()
    } else {
        c.command.iter().map(|a| subst(a)).collect()
    };
    args.extend(c.args.iter().map(|a| subst(a)));
    let o = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(&args)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let mut problems = Vec::new();
    if o.status.code() != Some(c.exit) {
        problems.push(format!("exit {:?}, expected {}", o.status.code(), c.exit));
    }
    if stderr.contains("panicked") || stderr.contains("internal error") {
        problems.push("a panic or internal error".into());
    }
    for s in &c.stdout {
        if !stdout.contains(s.as_str()) {
            problems.push(format!("stdout lacks `{s}`"));
        }
    }
    for s in &c.stderr {
        if !stderr.contains(s.as_str()) {
            problems.push(format!("stderr lacks `{s}`"));
        }
    }
    if c.exit != 0 && out.exists() {
        problems.push("a failed run left an output folder".into());
    }
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap_or_default();
    for s in &c.rejects {
        if !rejects.lines().any(|l| l.contains(s.as_str())) {
            problems.push(format!("rejects.csv lacks a line with `{s}`"));
        }
    }
    if let Some(n) = c.rejected {
        let found = rejects.lines().count().saturating_sub(1);
        if found != n {
            problems.push(format!("{found} rejects, expected {n}"));
        }
    }
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap_or_default();
    for s in &c.summary {
        if !summary.contains(s.as_str()) {
            problems.push(format!("summary.json lacks `{s}`"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "case `{}`: {}\n  command: clientele {}\n  stdout: {}\n  stderr: {}\n  rejects: {}",
            c.name,
            problems.join("; "),
            args.join(" "),
            stdout.trim(),
            stderr.trim(),
            rejects.trim()
        ))
    }
}

#[test]
fn every_hostile_input_gets_a_located_reject_or_a_clear_refusal() {
    let text = std::fs::read_to_string(manifest_dir().join("tests/hostile/cases.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&text).unwrap();
    let root = tempfile::tempdir().unwrap();
    let failures: Vec<String> = corpus
        .case
        .iter()
        .filter_map(|c| run_case(c, root.path()).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        corpus.case.len(),
        failures.join("\n\n")
    );
}

/// Rules of 10,000 OR-ed terms and of 50,000 ids in an IN list run (they overflowed the
/// stack and aborted the process before), and grade the same customers as a short rule.
#[test]
fn huge_rules_run_in_the_real_binary() {
    let d = tempfile::tempdir().unwrap();
    let mut orders = String::from("customer_id,order_date,amount\n");
    for i in 0..200 {
        orders.push_str(&format!("c{i},2024-01-{:02},{}\n", 1 + i % 28, 10 + i));
        orders.push_str(&format!("c{i},2024-02-{:02},{}\n", 1 + i % 28, 5 + i));
    }
    std::fs::write(d.path().join("orders.csv"), orders).unwrap();
    let ors: Vec<String> = (0..10_000)
        .map(|i| format!("monetary = {}", 15 + 2 * i))
        .collect();
    let ids: Vec<String> = (0..50_000).map(|i| format!("'c{}'", i * 2)).collect();
    let config = format!(
        "[[scheme]]\nname = \"ors\"\nrules = [{{ grade = \"hit\", when = \"{}\" }}]\ndefault = \"miss\"\n\n\
         [[scheme]]\nname = \"ids\"\nrules = [{{ grade = \"even\", when = \"customer_id IN ({})\" }}]\ndefault = \"odd\"\n",
        ors.join(" OR "),
        ids.join(", ")
    );
    std::fs::write(d.path().join("c.toml"), config).unwrap();
    let out = d.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .arg("analyze")
        .arg(d.path().join("orders.csv"))
        .arg("--config")
        .arg(d.path().join("c.toml"))
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--lang", "en"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    // every customer's monetary is 15 + 2i (odd, in the OR list); ids c0, c2, … are even
    assert!(stdout.contains("grading ors: hit 200"), "{stdout}");
    assert!(
        stdout.contains("even 100") && stdout.contains("odd 100"),
        "{stdout}"
    );
}

/// One customer who spends a million a time among ordinary ones: CLV is still computed for
/// everyone (the spend model is refitted without the extreme spender, and the run says so
/// when it had to be).
#[test]
fn one_extreme_spender_does_not_drop_clv() {
    let d = tempfile::tempdir().unwrap();
    let mut orders = String::from("customer_id,order_date,amount\n");
    for i in 0..80u32 {
        let visits = 1 + i % 4;
        for v in 0..visits {
            let day = 1 + (i * 7 + v * 53) % 360;
            let date = chrono_like(day);
            orders.push_str(&format!(
                "c{i},{date},{}.{:02}\n",
                20 + (i * 13 + v * 7) % 80,
                i % 100
            ));
        }
    }
    for v in 0..60u32 {
        orders.push_str(&format!("whale,{},1000000\n", chrono_like(1 + v * 6)));
    }
    std::fs::write(d.path().join("orders.csv"), orders).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .arg("analyze")
        .arg(d.path().join("orders.csv"))
        .arg("--out")
        .arg(d.path().join("out"))
        .args(["--quiet", "--lang", "en"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("CLV total"), "{stdout}");
    assert!(!stdout.contains("not computed"), "{stdout}");
}

/// Day `n` (1-based) of 2024 as YYYY-MM-DD.
fn chrono_like(n: u32) -> String {
    const MONTHS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut left = n;
    for (m, len) in MONTHS.iter().enumerate() {
        if left <= *len {
            return format!("2024-{:02}-{left:02}", m + 1);
        }
        left -= len;
    }
    "2024-12-31".into()
}
