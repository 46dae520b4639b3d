//! `--memory-limit`: a run that would outgrow the machine's memory stops with a message that
//! says why and what to do, instead of being killed by the system without a word (or swapping
//! the machine to a halt first).
//!
//! A watcher thread reads the process's resident memory every 50 ms and ends the run when it
//! passes the limit. The analysis writes nothing before its end (outputs go to a hidden folder
//! swapped into place), so a stopped run leaves the output folder as it was. A
//! `--customer-table-only` run whose input would not fold within the limit folds its customer
//! table by parts on disk instead (the engine's `analyze_spilled`; a whole analysis does so
//! with `--spill-dir`, `analyze_by_parts`, and keeps its table on disk through the models,
//! each step holding the columns it reads: docs/SCALE.md).
//! Linux only: elsewhere there is no default limit and a given one is said to be unenforced.

use std::io::Write;
use std::str::FromStr;
use std::time::Duration;

use clientele_core::Lang;

use crate::progress::Bars;

/// Share of the machine's memory a run may use by default. Of the total, not of what is free
/// at the start: the same run on the same machine meets the same limit whatever else runs.
const DEFAULT_SHARE: f64 = 0.9;

/// How often the resident memory is read.
const EVERY: Duration = Duration::from_millis(50);

/// A limit on the run's resident memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryLimit {
    bytes: u64,
    origin: Origin,
}

/// Where a limit came from, for the message that names it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    /// `--memory-limit 4GiB`.
    Given,
    /// `--memory-limit 50%`: a share of the machine's memory.
    Share(f64),
    /// No flag: [`DEFAULT_SHARE`] of the machine's memory.
    Default,
}

impl FromStr for MemoryLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Some(pct) = t.strip_suffix('%') {
            let share: f64 = pct.trim().parse().map_err(|_| unreadable(s))?;
            if !(share > 0.0 && share <= 100.0) {
                return Err(empty(s));
            }
            let total = machine().map(|m| m.total).ok_or_else(|| {
                format!("`{s}`: this system's memory size cannot be read; give a size such as 4GiB")
            })?;
            return Ok(MemoryLimit {
                bytes: (total as f64 * share / 100.0) as u64,
                origin: Origin::Share(share),
            });
        }
        let bytes = t
            .parse::<bytesize::ByteSize>()
            .map_err(|_| unreadable(s))?
            .as_u64();
        if bytes == 0 {
            return Err(empty(s));
        }
        Ok(MemoryLimit {
            bytes,
            origin: Origin::Given,
        })
    }
}

impl MemoryLimit {
    /// The limit in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The limit without the flag: 90 % of the machine's memory, where that can be read.
    pub fn default_for_machine() -> Option<MemoryLimit> {
        machine().map(|m| MemoryLimit {
            bytes: (m.total as f64 * DEFAULT_SHARE) as u64,
            origin: Origin::Default,
        })
    }

    /// What the limit is, in `lang`: "4.0 GiB, set by --memory-limit".
    pub fn describe(&self, lang: Lang) -> String {
        let size = human(self.bytes);
        match (self.origin, lang) {
            (Origin::Given, Lang::En) => format!("{size}, set by --memory-limit"),
            (Origin::Given, Lang::Zh) => format!("{size}，由 --memory-limit 设定"),
            (Origin::Share(p), Lang::En) => format!("{size}, {p} % of this machine's memory"),
            (Origin::Share(p), Lang::Zh) => format!("{size}，本机内存的 {p}%"),
            (Origin::Default, Lang::En) => {
                format!("{size}, 90 % of this machine's memory")
            }
            (Origin::Default, Lang::Zh) => format!("{size}，本机内存的 90%"),
        }
    }

    /// Starts the watcher. It never returns control to the run: past the limit it prints why
    /// and ends the process with status 2 (an error the user can act on). `customer_table_only`
    /// chooses the advice. Returns false where resident memory cannot be read (not Linux).
    pub fn watch(self, bars: &'static Bars, lang: Lang, customer_table_only: bool) -> bool {
        if resident().is_none() {
            return false;
        }
        // freed columns kept for reuse, within an eighth of the limit and 512 MiB (and given
        // back with the rest of the freed memory near the limit, below)
        let keep = (self.bytes / 8).min(512 << 20);
        crate::allocator::keep_up_to(usize::try_from(keep).unwrap_or(usize::MAX));
        let spawned = std::thread::Builder::new()
            .name("memory-limit".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EVERY);
                    let Some(mut rss) = resident() else { return };
                    // freed memory the allocator keeps for reuse counts as resident: near
                    // the limit it goes back to the system first, so that only what the run
                    // really holds can stop it
                    if rss > self.bytes / 4 * 3 {
                        crate::return_freed_memory();
                        let Some(now) = resident() else { return };
                        rss = now;
                    }
                    if rss > self.bytes {
                        let step = bars.current_step();
                        bars.clear();
                        // held to the end: the run, whose files are being removed, may fail
                        // meanwhile, and its error must not follow this message
                        let mut err = std::io::stderr().lock();
                        let _ = writeln!(
                            err,
                            "{}",
                            self.message(rss, step, lang, customer_table_only)
                        );
                        clientele_engine::remove_unfinished();
                        std::process::exit(2);
                    }
                }
            });
        spawned.is_ok()
    }

    /// The message of a run stopped at `rss` bytes during `step`.
    fn message(
        &self,
        rss: u64,
        step: Option<String>,
        lang: Lang,
        customer_table_only: bool,
    ) -> String {
        let limit = self.describe(lang);
        let used = human(rss);
        match lang {
            Lang::En => {
                let during = step.map(|s| format!(" during \"{s}\"")).unwrap_or_default();
                let advice = if customer_table_only {
                    "the customer table was already built part by part on disk, and one part \
                     with the reading's buffers passed the limit: raise --memory-limit"
                } else {
                    "in memory a whole analysis holds every customer's row; with --spill-dir \
                     DIR it keeps the customer table on disk and each step holds only the \
                     columns it reads (docs/SCALE.md); --customer-table-only builds the table \
                     alone, part by part; or run it on a machine with more memory"
                };
                format!(
                    "error: stopped at {used} of memory{during}, past the limit ({limit}), \
                     before the system runs out. The output folder is as it was. Memory grows \
                     with the number of customers (about 750 bytes a customer for the whole \
                     analysis); {advice}; --memory-limit SIZE sets another limit."
                )
            }
            Lang::Zh => {
                let during = step.map(|s| format!("（正在“{s}”）")).unwrap_or_default();
                let advice = if customer_table_only {
                    "顾客表已在磁盘上分块构建，单个分块加上读取缓冲仍超过上限：请调高 --memory-limit"
                } else {
                    "在内存中运行时完整分析持有每位顾客的整行；加 --spill-dir 目录 则顾客表留在磁盘上，\
                     每一步只读入所需的列（见 docs/SCALE.md）；--customer-table-only 只分块构建顾客表；\
                     或在内存更大的机器上运行"
                };
                format!(
                    "错误：内存用量达到 {used}{during}，超过上限（{limit}），已在系统内存耗尽前停止，\
                     输出文件夹保持原样。内存随顾客数增长（完整分析每位顾客约 750 \
                     字节）；{advice}；--memory-limit 可设定其他上限。"
                )
            }
        }
    }
}

fn unreadable(s: &str) -> String {
    format!(
        "`{s}` is not a memory size: write it as 4GiB, 4GB, 512MiB, 8G (×10⁹) or a share of \
         the machine's memory such as 50%"
    )
}

fn empty(s: &str) -> String {
    format!("`{s}` leaves the run no memory: give a size above zero, or a share up to 100%")
}

/// Sizes as people read them: 1.5 GiB, 512.0 MiB.
fn human(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().iec().to_string()
}

/// The machine's memory, from /proc/meminfo (kB).
struct Machine {
    total: u64,
}

fn machine() -> Option<Machine> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| kb_field(&text, name);
    Some(Machine {
        total: field("MemTotal:")?,
    })
}

/// This process's resident memory, from /proc/self/status.
fn resident() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    kb_field(&text, "VmRSS:")
}

/// `Name:   1234 kB` → bytes.
fn kb_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the watcher relies on: memory the run has freed, which mimalloc keeps for reuse
    /// and the system still counts as the run's, goes back when asked.
    #[test]
    #[cfg(target_os = "linux")]
    fn freed_memory_goes_back_to_the_system_when_asked() {
        let _turn = crate::allocator::SERIAL
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // many medium blocks (as a step's per-chunk buffers), written so that they are resident
        let blocks: Vec<Vec<u8>> = (0..128).map(|i| vec![i as u8 | 1; 2 << 20]).collect();
        let held = resident().unwrap();
        drop(blocks);
        let freed = resident().unwrap();
        crate::return_freed_memory();
        let after = resident().unwrap();
        assert!(
            after + (128 << 20) < held,
            "256 MiB freed: resident {held} → {freed} on drop → {after} after the collect"
        );
    }

    #[test]
    fn sizes_parse_as_people_write_them() {
        let b = |s: &str| s.parse::<MemoryLimit>().map(|l| l.bytes());
        assert_eq!(b("4GiB").unwrap(), 4 << 30);
        assert_eq!(b("4 GiB").unwrap(), 4 << 30);
        assert_eq!(b("512MiB").unwrap(), 512 << 20);
        assert_eq!(b("4GB").unwrap(), 4_000_000_000);
        assert_eq!(b("8G").unwrap(), 8_000_000_000);
        assert_eq!(b("1048576").unwrap(), 1 << 20);
        for bad in ["", "lots", "4 parsecs", "-1G"] {
            assert!(
                b(bad).is_err_and(|e| e.contains("not a memory size")),
                "{bad}"
            );
        }
        for none in ["0", "0%", "150%"] {
            assert!(b(none).is_err_and(|e| e.contains("no memory")), "{none}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn shares_and_the_default_come_from_this_machine() {
        let m = machine().unwrap();
        let half = "50%".parse::<MemoryLimit>().unwrap();
        assert_eq!(half.bytes(), m.total / 2);
        let d = MemoryLimit::default_for_machine().unwrap();
        assert!(d.bytes() > 0 && d.bytes() <= m.total);
        assert!(resident().unwrap() > 0);
    }

    #[test]
    fn the_message_says_where_what_and_what_to_do_in_the_runs_language() {
        let l: MemoryLimit = "4GiB".parse().unwrap();
        let en = l.message(
            5 << 30,
            Some("building the customer table".into()),
            Lang::En,
            false,
        );
        assert!(en.starts_with("error: stopped at 5.0 GiB"), "{en}");
        for part in [
            "building the customer table",
            "4.0 GiB, set by --memory-limit",
            "The output folder is as it was",
            "--customer-table-only",
        ] {
            assert!(en.contains(part), "{part} in {en}");
        }
        let zh = l.message(5 << 30, None, Lang::Zh, true);
        assert!(zh.starts_with("错误：内存用量达到 5.0 GiB"), "{zh}");
        assert!(!zh.contains("--customer-table-only"), "{zh}");
        assert!(!zh.is_ascii());
    }
}
