//! Finds ECharts (`node_modules/echarts/dist/echarts.min.js`, pinned by `package-lock.json`) and
//! copies it into `OUT_DIR/echarts.min.js` for `include_str!`. When it is missing and `npm` is on
//! PATH, runs `npm ci` first. Without npm the crate still builds: the file is empty and the report
//! shows its static tables only (`CHARTS_EMBEDDED == false`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=package-lock.json");
    println!("cargo:rerun-if-changed=package.json");
    println!("cargo:rerun-if-changed=node_modules/echarts/dist/echarts.min.js");
    println!("cargo:rerun-if-env-changed=CLIENTELE_NO_ECHARTS");
    println!("cargo:rustc-check-cfg=cfg(clientele_echarts)");

    let js = dir.join("node_modules/echarts/dist/echarts.min.js");
    let dest = out.join("echarts.min.js");
    let disabled = std::env::var_os("CLIENTELE_NO_ECHARTS").is_some();
    if !disabled && !js.is_file() {
        npm_ci(&dir);
    }
    if !disabled && js.is_file() && std::fs::copy(&js, &dest).is_ok() {
        println!("cargo:rustc-cfg=clientele_echarts");
    } else {
        if !disabled {
            println!(
                "cargo:warning=ECharts not found ({}); building the report without interactive \
                 charts. Install Node.js/npm and rebuild to embed them.",
                js.display()
            );
        }
        std::fs::write(&dest, "").expect("write OUT_DIR/echarts.min.js");
    }
}

fn npm_ci(dir: &Path) {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        return;
    }
    println!(
        "cargo:warning=running `npm ci` in {} to fetch ECharts",
        dir.display()
    );
    match Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => println!("cargo:warning=`npm ci` failed ({s})"),
        Err(e) => println!("cargo:warning=`npm ci` could not run: {e}"),
    }
}
