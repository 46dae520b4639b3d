//! A seeded synthetic shop with known true parameters, for demos, tests and benchmarks.
//!
//! Purchases follow a BG/NBD process (rate λ ~ Gamma(r, α) per day while alive, drop-out
//! probability p ~ Beta(a, b) after each repeat purchase); spend per order follows the
//! Gamma-Gamma model (ν ~ Gamma(q, γ), order value ~ Gamma(p_spend, ν)). Customers are acquired
//! at a steady rate over the whole history, up to its last day (first purchase day uniform on the
//! history), so new customers and cohorts continue to the end as in a live shop. Every customer has
//! favourite categories, a margin per category, occasional returns (a negative row with the
//! order's id), attributes, satisfaction scores, and there are leads that never bought.
//! Rows are written customer by customer as they are simulated, so memory stays flat at any
//! size; the row order does not matter to clientele.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clientele_core::Day;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma, LogNormal};
use serde::Serialize;

use crate::{EngineError, Manifest, OutputDir};

/// Categories with their gross margin.
pub const CATEGORIES: [(&str, f64); 12] = [
    ("服装", 0.45),
    ("鞋包", 0.40),
    ("美妆", 0.55),
    ("食品", 0.18),
    ("家居", 0.30),
    ("数码", 0.12),
    ("母婴", 0.28),
    ("运动", 0.35),
    ("图书", 0.22),
    ("珠宝", 0.50),
    ("家电", 0.10),
    ("宠物", 0.32),
];

const CITIES: [&str; 10] = [
    "上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "重庆",
];
const CHANNELS: [&str; 3] = ["线上商城", "门店", "小程序"];

/// What to generate.
#[derive(Debug, Clone, Serialize)]
pub struct ShopSpec {
    /// Number of customers (who bought at least once).
    pub customers: u64,
    /// Random seed.
    pub seed: u64,
    /// First day of the simulated history.
    pub start: Day,
    /// Length of the history in days.
    pub days: u32,
    /// BG/NBD r.
    pub r: f64,
    /// BG/NBD α (days).
    pub alpha: f64,
    /// BG/NBD a.
    pub a: f64,
    /// BG/NBD b.
    pub b: f64,
    /// Gamma-Gamma p.
    pub p_spend: f64,
    /// Gamma-Gamma q.
    pub q_spend: f64,
    /// Gamma-Gamma γ.
    pub gamma_spend: f64,
    /// Probability that an order is (partly) returned.
    pub return_rate: f64,
    /// Leads (prospects without purchase) per customer.
    pub leads_per_customer: f64,
}

impl ShopSpec {
    /// Defaults: two years from 2024-01-01, a shop with moderate repeat buying.
    pub fn new(customers: u64, seed: u64) -> ShopSpec {
        ShopSpec {
            customers,
            seed,
            start: Day::from_ymd(2024, 1, 1).unwrap_or(Day(19_723)),
            days: 730,
            r: 0.9,
            alpha: 60.0,
            a: 0.8,
            b: 4.0,
            p_spend: 4.0,
            q_spend: 3.5,
            gamma_spend: 150.0,
            return_rate: 0.04,
            leads_per_customer: 0.25,
        }
    }
}

/// Paths and counts of a generated shop.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedShop {
    /// The transactions CSV.
    pub transactions: PathBuf,
    /// Customer attributes CSV.
    pub attributes: PathBuf,
    /// Satisfaction scores CSV.
    pub satisfaction: PathBuf,
    /// Leads CSV.
    pub leads: PathBuf,
    /// True parameters (`truth.json`).
    pub truth: PathBuf,
    /// Transaction rows written.
    pub rows: u64,
    /// The last day of the history.
    pub end: Day,
}

fn dist_err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::InvalidConfig(format!("synthetic shop: {what}: {e}"))
}

/// Writes `transactions.csv`, `customers.csv`, `satisfaction.csv`, `leads.csv` and
/// `truth.json` into `dir`, as a whole ([`OutputDir`]: `dir` must be new, empty or a sample
/// shop clientele wrote). `on_customer` is called every 10,000 customers (for progress).
pub fn generate(
    spec: &ShopSpec,
    dir: &Path,
    on_customer: &dyn Fn(u64),
) -> Result<GeneratedShop, EngineError> {
    let out = OutputDir::begin(dir, &[])?;
    let shop = write_shop(spec, out.path(), on_customer).map_err(|e| out.rename_error(e))?;
    let dir = out.finish(Manifest::new("sample shop"))?;
    Ok(GeneratedShop {
        transactions: dir.join("transactions.csv"),
        attributes: dir.join("customers.csv"),
        satisfaction: dir.join("satisfaction.csv"),
        leads: dir.join("leads.csv"),
        truth: dir.join("truth.json"),
        ..shop
    })
}

fn write_shop(
    spec: &ShopSpec,
    dir: &Path,
    on_customer: &dyn Fn(u64),
) -> Result<GeneratedShop, EngineError> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let lam_d = Gamma::new(spec.r, 1.0 / spec.alpha).map_err(|e| dist_err("r/alpha", e))?;
    let p_d = Beta::new(spec.a, spec.b).map_err(|e| dist_err("a/b", e))?;
    let nu_d =
        Gamma::new(spec.q_spend, 1.0 / spec.gamma_spend).map_err(|e| dist_err("q/gamma", e))?;
    let income_d = LogNormal::new(9.1, 0.5).map_err(|e| dist_err("income", e))?;
    let paths = GeneratedShop {
        transactions: dir.join("transactions.csv"),
        attributes: dir.join("customers.csv"),
        satisfaction: dir.join("satisfaction.csv"),
        leads: dir.join("leads.csv"),
        truth: dir.join("truth.json"),
        rows: 0,
        end: Day(spec.start.0 + spec.days as i32 - 1),
    };
    let open = |p: &Path| -> Result<BufWriter<File>, EngineError> {
        Ok(BufWriter::with_capacity(
            1 << 20,
            File::create(p).map_err(|e| EngineError::io(p, e))?,
        ))
    };
    let mut tx = open(&paths.transactions)?;
    let mut attrs = open(&paths.attributes)?;
    let mut sat = open(&paths.satisfaction)?;
    let mut leads = open(&paths.leads)?;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| EngineError::io(&p, e)
    };
    let txe = io(&paths.transactions);
    writeln!(
        tx,
        "order_id,customer_id,order_date,amount,profit,category,quantity"
    )
    .map_err(&txe)?;
    writeln!(
        attrs,
        "customer_id,gender,age,city,channel,income,signup_date"
    )
    .map_err(io(&paths.attributes))?;
    writeln!(sat, "customer_id,survey_date,score").map_err(io(&paths.satisfaction))?;
    writeln!(leads, "customer_id,source,created").map_err(io(&paths.leads))?;
    let mut rows = 0u64;
    let mut order_no = 0u64;
    let horizon = f64::from(spec.days);
    let mut line = String::with_capacity(128);
    for c in 0..spec.customers {
        if c % 10_000 == 0 {
            on_customer(c);
        }
        let id = format!("C{:07}", c + 1);
        let lam: f64 = lam_d.sample(&mut rng).max(1e-6);
        let p: f64 = p_d.sample(&mut rng);
        let nu: f64 = nu_d.sample(&mut rng).max(1e-9);
        let spend_d = Gamma::new(spec.p_spend, 1.0 / nu).map_err(|e| dist_err("spend", e))?;
        let wait = Exp::new(lam).map_err(|e| dist_err("rate", e))?;
        let fav: [usize; 3] = [
            rng.random_range(0..CATEGORIES.len()),
            rng.random_range(0..CATEGORIES.len()),
            rng.random_range(0..CATEGORIES.len()),
        ];
        // acquisition runs to the last day: a shop that stopped acquiring two months before the
        // as-of date would show no new customers and cohorts that end early
        let birth = rng.random::<f64>() * horizon;
        let mut t = birth;
        let mut purchases = 0u32;
        loop {
            order_no += 1;
            purchases += 1;
            let day = spec.start.0 + t as i32;
            let value: f64 = spend_d.sample(&mut rng);
            let lines = if rng.random::<f64>() < 0.3 { 2 } else { 1 };
            for l in 0..lines {
                let cat = if rng.random::<f64>() < 0.8 {
                    fav[l % 3]
                } else {
                    rng.random_range(0..CATEGORIES.len())
                };
                let (name, margin) = CATEGORIES[cat];
                let amount = (value / lines as f64 * 100.0).round() / 100.0;
                let qty = 1 + rng.random_range(0..3);
                let profit =
                    (amount * (margin + (rng.random::<f64>() - 0.5) * 0.1) * 100.0).round() / 100.0;
                line.clear();
                use std::fmt::Write as _;
                let _ = writeln!(
                    line,
                    "O{order_no:09},{id},{},{amount:.2},{profit:.2},{name},{qty}",
                    Day(day)
                );
                tx.write_all(line.as_bytes()).map_err(&txe)?;
                rows += 1;
                if rng.random::<f64>() < spec.return_rate {
                    let back = (day + 3 + rng.random_range(0..10)).min(paths.end.0);
                    line.clear();
                    let _ = writeln!(
                        line,
                        "O{order_no:09},{id},{},{:.2},{:.2},{name},-{qty}",
                        Day(back),
                        -amount,
                        -profit
                    );
                    tx.write_all(line.as_bytes()).map_err(&txe)?;
                    rows += 1;
                }
            }
            if purchases > 1 && rng.random::<f64>() < p {
                break;
            }
            t += wait.sample(&mut rng);
            if t >= horizon {
                break;
            }
        }
        let age = 18 + (rng.random::<f64>().powf(1.4) * 52.0) as u32;
        let income: f64 = (income_d.sample(&mut rng) / 100.0_f64).round() * 100.0;
        let gender = if rng.random::<f64>() < 0.58 {
            "女"
        } else {
            "男"
        };
        let city = CITIES[(rng.random::<f64>().powi(2) * CITIES.len() as f64) as usize];
        let channel = CHANNELS[rng.random_range(0..CHANNELS.len())];
        let signup = Day(spec.start.0 + birth as i32 - rng.random_range(0..30));
        writeln!(
            attrs,
            "{id},{gender},{age},{city},{channel},{income:.0},{signup}"
        )
        .map_err(io(&paths.attributes))?;
        if rng.random::<f64>() < 0.6 {
            let base = 2.5
                + 2.0 * (f64::from(purchases.min(10)) / 10.0)
                + (rng.random::<f64>() - 0.5) * 1.6;
            for _ in 0..rng.random_range(1..=3) {
                let score = (base + (rng.random::<f64>() - 0.5)).clamp(1.0, 5.0).round();
                let when =
                    Day(spec.start.0 + (birth + rng.random::<f64>() * (horizon - birth)) as i32);
                writeln!(sat, "{id},{when},{score:.0}").map_err(io(&paths.satisfaction))?;
            }
        }
        if rng.random::<f64>() < spec.leads_per_customer * 0.2 {
            writeln!(leads, "{id},{},{}", channel, signup).map_err(io(&paths.leads))?;
        }
    }
    let n_leads = (spec.customers as f64 * spec.leads_per_customer * 0.8) as u64;
    for l in 0..n_leads {
        let created = Day(spec.start.0 + rng.random_range(0..spec.days as i32));
        writeln!(
            leads,
            "L{:07},{},{}",
            l + 1,
            CHANNELS[rng.random_range(0..CHANNELS.len())],
            created
        )
        .map_err(io(&paths.leads))?;
    }
    for (w, p) in [
        (&mut tx, &paths.transactions),
        (&mut attrs, &paths.attributes),
        (&mut sat, &paths.satisfaction),
        (&mut leads, &paths.leads),
    ] {
        w.flush().map_err(io(p))?;
    }
    let truth = serde_json::json!({
        "spec": spec,
        "bg_nbd_days": {"r": spec.r, "alpha": spec.alpha, "a": spec.a, "b": spec.b},
        "gamma_gamma": {"p": spec.p_spend, "q": spec.q_spend, "gamma": spec.gamma_spend},
        "rows": rows,
        "end": paths.end,
    });
    let text = serde_json::to_string_pretty(&truth).map_err(|e| dist_err("truth", e))?;
    std::fs::write(&paths.truth, text).map_err(io(&paths.truth))?;
    on_customer(spec.customers);
    Ok(GeneratedShop { rows, ..paths })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First purchase day of every customer in a generated `transactions.csv`.
    fn first_purchases(path: &Path) -> std::collections::HashMap<String, Day> {
        let text = std::fs::read_to_string(path).unwrap();
        let mut first: std::collections::HashMap<String, Day> = Default::default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let day = Day::parse_iso(f[2]).unwrap();
            let e = first.entry(f[1].to_string()).or_insert(day);
            *e = (*e).min(day);
        }
        first
    }

    #[test]
    fn the_shop_acquires_customers_up_to_its_last_month() {
        let dir = tempfile::tempdir().unwrap();
        let spec = ShopSpec::new(3000, 7);
        let shop = generate(&spec, &dir.path().join("shop"), &|_| {}).unwrap();
        let first = first_purchases(&shop.transactions);
        assert_eq!(first.len(), 3000);
        // a steady rate: each of the last two 30-day windows holds about 30/730 of the customers
        let expected = 3000.0 * 30.0 / 730.0;
        for window in [0, 1] {
            let hi = shop.end.0 - 30 * window;
            let lo = hi - 30;
            let n = first.values().filter(|d| d.0 > lo && d.0 <= hi).count() as f64;
            assert!(
                n > 0.6 * expected && n < 1.4 * expected,
                "{n} first purchases in the window ending {}, expected about {expected:.0}",
                Day(hi)
            );
        }
        assert!(first.values().all(|d| *d <= shop.end));
    }
}
