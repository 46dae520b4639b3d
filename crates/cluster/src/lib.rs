//! K-means customer segments that a marketer can read.
//!
//! [`segment`] takes the customer table and the `[cluster]` config and returns a
//! [`Segmentation`]: one label per customer (1 = the most valuable cluster), a named profile per
//! cluster in original units, quality scores for every k tried, and a [`FittedKMeans`] that
//! labels new customers with [`FittedKMeans::predict`].
//!
//! The pipeline: `log1p` features → z-scores ([`features`]) → greedy k-means++ with a seeded
//! ChaCha8 stream per initialisation → Lloyd iterations on all cores, bit-identical for any thread
//! count ([`kmeans()`]) → k chosen at the elbow of the inertia curve over `k = [3, 8]`, with
//! silhouette, Calinski–Harabasz and Davies–Bouldin reported for every k ([`select::choose_k`]
//! says why: on customer data the silhouette always prefers 2 segments, too coarse to act on)
//! → profiles and names ([`profile`]), label 1 the cluster with the highest mean monetary.
//!
//! Stable labels over time: [`ClusterConfig::frozen`] labels customers with an earlier
//! segmentation ([`FrozenClusters`]) instead of refitting, keeping its labels and names. The
//! engine uses it for `--history monthly`: every month end is labelled with the clusters of the
//! latest run, so the cluster history shows how today's segments grew and shrank, not a new
//! clustering each month.
//!
//! ```
//! use clientele_cluster::{ClusterConfig, FrozenClusters, KChoice, segment};
//! use clientele_core::{ColumnData, CustomerTable};
//!
//! // Two kinds of customers: recent big spenders and lapsed one-off buyers.
//! let n = 40;
//! let mut t = CustomerTable::new((0..n).map(|i| format!("c{i}")).collect());
//! let big = |i: usize| i % 2 == 0;
//! let col = |f: &dyn Fn(usize) -> f64| ColumnData::Float((0..n).map(|i| Some(f(i))).collect());
//! t.push("recency_days", col(&|i| if big(i) { 3.0 + (i % 5) as f64 } else { 300.0 + i as f64 }))?;
//! t.push("orders", col(&|i| if big(i) { 12.0 + (i % 3) as f64 } else { 1.0 }))?;
//! t.push("monetary", col(&|i| if big(i) { 2000.0 + i as f64 } else { 30.0 + (i % 7) as f64 }))?;
//!
//! let config = ClusterConfig { k: KChoice::Fixed(2), ..Default::default() };
//! let seg = segment(&t, &config)?;
//! assert_eq!(seg.model.k, 2);
//! assert_eq!(seg.labels[0], Some(1)); // the big spender is in cluster 1
//! assert_eq!(seg.profiles[0].name_en, "high value, frequent, recent");
//! assert_eq!(seg.profiles[1].name_zh, "低价值-单次-流失");
//! assert_eq!(seg.model.predict(&t)?, seg.labels);
//!
//! // Label other customers (a month earlier, say) with the same clusters and names.
//! let frozen = ClusterConfig {
//!     frozen: Some(FrozenClusters::new(seg.model.clone(), &seg.profiles)),
//!     ..Default::default()
//! };
//! let again = segment(&t, &frozen)?;
//! assert_eq!(again.labels, seg.labels);
//! assert_eq!(again.profiles[1].name_zh, "低价值-单次-流失");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
mod error;
pub mod features;
mod init;
mod kmeans;
mod model;
pub mod profile;
pub mod select;
pub mod synth;

use clientele_core::{CustomerTable, Note, thousands};
use serde::{Deserialize, Serialize};

pub use config::{ClusterConfig, FrozenClusters, KChoice};
pub use error::{ClusterError, Result};
pub use features::{Feature, Transform};
use kmeans::LabelSums;
pub use kmeans::{KMeansFit, KMeansParams, kmeans};
pub use model::FittedKMeans;
pub use profile::{ClusterProfile, ColumnStats};
pub use select::KScore;

/// The result of [`segment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Segmentation {
    /// The model, for `summary.json` and for [`FittedKMeans::predict`].
    pub model: FittedKMeans,
    /// Label of each table row (1 = highest mean monetary), `None` when a feature is missing.
    pub labels: Vec<Option<u32>>,
    /// One profile per label, in label order.
    pub profiles: Vec<ClusterProfile>,
    /// Scores for every k fitted, ascending k (none when labelled with a frozen segmentation).
    pub scores: Vec<KScore>,
    /// Dropped features, left-out customers, a capped k range, and similar remarks.
    pub notes: Vec<Note>,
}

/// Every column [`segment`] may read with `config` (features, the columns profiled, the
/// money the clusters are ordered by), so that a caller can give it a table of just these;
/// `None` for a frozen segmentation, which reads its own features.
pub fn columns_read(config: &ClusterConfig) -> Result<Option<Vec<String>>> {
    if config.frozen.is_some() {
        return Ok(None);
    }
    let mut out: Vec<String> = match config.validate()? {
        Some(explicit) => explicit.into_iter().map(|f| f.column).collect(),
        None => (features::DEFAULT_FEATURES.iter())
            .chain(&features::OPTIONAL_FEATURES)
            .map(|c| c.to_string())
            .collect(),
    };
    for c in profile::PROFILE_EXTRA {
        if !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    }
    Ok(Some(out))
}

/// Clusters the customers of `table` as `config` says. Same table and config → same result.
pub fn segment(table: &CustomerTable, config: &ClusterConfig) -> Result<Segmentation> {
    let explicit = config.validate()?;
    if let Some(frozen) = &config.frozen {
        return segment_frozen(table, frozen);
    }
    let fm = features::extract(table, explicit.as_deref(), config.transform)?;
    let d = fm.features.len();
    let n = fm.rows.len();
    let mut notes = fm.notes.clone();
    let (lo, hi_wanted) = config.k.bounds();
    let distinct = kmeans::count_distinct(&fm.data, d, hi_wanted);
    if distinct < lo {
        return Err(ClusterError::TooFewDistinct { k: lo, distinct });
    }
    let hi = hi_wanted.min(distinct);
    if hi < hi_wanted {
        notes.push(Note::new(
            format!("特征空间中只有 {distinct} 个不同的客户：k 最多试到 {hi}，而非 {hi_wanted}"),
            format!(
                "only {distinct} distinct customers in feature space: k tried up to {hi} instead of {hi_wanted}"
            ),
        ));
    }
    let ks: Vec<usize> = (lo..=hi).collect();
    // Large tables: k is chosen and every k scored on a seeded sample, then only the chosen
    // k's centres are refined on all customers. The scores compare k with each other (the
    // elbow reads the inertia's shape, not its size), which a sample of 100,000 shows as well
    // as every customer does; scoring each k on all of them was a pass over every customer
    // per k for numbers that only rank the k.
    let sampled = n > config.sample_size && config.sample_size >= 2 * hi;
    let scan_data = if sampled {
        let (size, n) = (
            thousands(&config.sample_size.to_string()),
            thousands(&n.to_string()),
        );
        notes.push(Note::new(
            format!(
                "在 {n} 位客户中抽样 {size} 位选择 k，各个 k 的评分也在该样本上计算；选定 k 的中心再用全部客户迭代"
            ),
            format!(
                "k chosen and every k scored on a sample of {size} of {n} customers; the chosen k's centres then refined on all of them"
            ),
        ));
        kmeans::sample_rows(&fm.data, d, config.sample_size, config.seed)
    } else {
        Vec::new()
    };
    // the customers the scores are taken on: the sample, or every customer
    let scored: &[f64] = if sampled { &scan_data } else { &fm.data };
    let n_scored = scored.len() / d;
    // A sample can miss rare distinct points that the full table has; fit on all then. The
    // fit as made (on the sample or on all), and whether it was on the sample.
    let fit_on = |params: &kmeans::KMeansParams| -> Result<(KMeansFit, bool)> {
        match sampled.then(|| kmeans(&scan_data, d, params)) {
            Some(Ok(f)) => Ok((f, true)),
            _ => Ok((kmeans(&fm.data, d, params)?, false)),
        }
    };
    // a fit labelled on the customers the scores are taken on (a fit made on every customer
    // of a sampled table is labelled on the sample, so that every k is scored alike), with
    // the rows' sums per label when that labelling made them
    let to_scored = |(mut f, on_sample): (KMeansFit, bool)| -> (KMeansFit, Option<LabelSums>) {
        let mut sums = None;
        if sampled && !on_sample {
            let (labels, inertia, s) = kmeans::assign_with_sums(scored, d, f.k, &f.centroids);
            (f.labels, f.inertia, sums) = (labels, inertia, Some(s));
        }
        (f, sums)
    };
    // the silhouettes' sample, taken before the scan so that each fit is scored as it is made
    let mut sidx = kmeans::sample_index(
        n_scored,
        config.silhouette_sample,
        config.seed,
        init::STREAM_SILHOUETTE,
    );
    sidx.sort_unstable();
    let points: Vec<f64> = sidx
        .iter()
        .flat_map(|&i| scored[i * d..(i + 1) * d].iter().copied())
        .collect();
    let on_sample = |f: &KMeansFit| -> Vec<u32> { sidx.iter().map(|&i| f.labels[i]).collect() };
    // every score but the silhouette (which needs all the k's sample labels at once)
    let score = |(f, sums): &(KMeansFit, Option<LabelSums>)| {
        let sums = match sums {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(select::label_sums(scored, d, f.k, &f.labels)),
        };
        let (calinski_harabasz, davies_bouldin) =
            select::ch_db_of(scored, d, f.k, &f.labels, &sums);
        KScore {
            k: f.k,
            inertia: f.inertia,
            silhouette: f64::NAN,
            calinski_harabasz,
            davies_bouldin,
            smallest_share: sums.counts.iter().copied().min().unwrap_or(0) as f64 / n_scored as f64,
            n_iter: f.n_iter,
            converged: f.converged,
        }
    };
    // a range is scanned with fewer initialisations per k; the chosen k gets all of them
    let scanning = ks.len() > 1 && config.scan_n_init < config.n_init;
    // when the chosen k is fitted again (scan) or refined on all customers (sample), the scan
    // fits' labels are not needed past their scores: let go (4 bytes a customer per k)
    let refitted = scanning || sampled;
    let mut fits: Vec<KMeansFit> = Vec::with_capacity(ks.len());
    let mut scores: Vec<KScore> = Vec::with_capacity(ks.len());
    let mut labelings: Vec<Vec<u32>> = Vec::with_capacity(ks.len());
    // the scan's fits as made: the chosen k's fit with every start goes on from its first ones
    // (a fit on every customer of a large table, where its sample missed points, is not kept:
    // its labels would be held for each k, and the chosen k is fitted again from the start)
    let mut made: Vec<Option<(KMeansFit, bool)>> = Vec::with_capacity(ks.len());
    for &k in &ks {
        let fit = fit_on(&if scanning {
            config.scan_params(k)
        } else {
            config.params(k)
        })?;
        if scanning {
            made.push((fit.0.labels.len() <= config.sample_size).then(|| fit.clone()));
        }
        let labelled = to_scored(fit);
        scores.push(score(&labelled));
        let mut f = labelled.0;
        labelings.push(on_sample(&f));
        if refitted {
            f.labels = Vec::new();
        }
        fits.push(f);
    }

    // The elbow reads the inertia alone, so the silhouettes (an O(sample²) pass) are taken
    // once, after the chosen k is fitted; only without an elbow do the scan's silhouettes
    // decide first. Same values as scoring every scan fit and then the chosen k's fit.
    let (k, mut sil) = match select::elbow(&scores) {
        Some(k) => (k, None),
        None => {
            let sil = select::silhouettes(&points, d, &labelings, &ks);
            let with_sil: Vec<KScore> = scores
                .iter()
                .zip(&sil)
                .map(|(s, &v)| KScore {
                    silhouette: v,
                    ..s.clone()
                })
                .collect();
            (select::best_silhouette(&with_sil).unwrap_or(lo), Some(sil))
        }
    };
    let at = ks.iter().position(|&c| c == k).unwrap_or(0);
    if scanning {
        // the chosen k as a fixed k would have it (its first starts are the scan's), and its
        // scores from that fit
        let all = config.params(k);
        let chosen = to_scored(match made.swap_remove(at) {
            Some((scanned, sampled_fit)) => {
                let data = if sampled_fit { &scan_data } else { &fm.data };
                let first = config.scan_params(k).n_init;
                let fit = kmeans::kmeans_resumed(data, d, &all, first, scanned)?;
                (fit, sampled_fit)
            }
            None => fit_on(&all)?,
        });
        drop(made);
        scores[at] = score(&chosen);
        fits[at] = chosen.0;
        labelings[at] = on_sample(&fits[at]);
        if let Some(sil) = &mut sil {
            let s = select::silhouettes(&points, d, &labelings[at..=at], &[k]);
            sil[at] = s.first().copied().unwrap_or(0.0);
        }
        let (scan, all) = (config.scan_n_init, config.n_init);
        notes.push(Note::new(
            format!("选 k 时每个 k 初始化 {scan} 次；选定的 k = {k} 以 {all} 次初始化拟合"),
            format!("k chosen with {scan} initialisations per k; k = {k} fitted with {all}"),
        ));
    }
    let sil = sil.unwrap_or_else(|| select::silhouettes(&points, d, &labelings, &ks));
    for (s, &v) in scores.iter_mut().zip(&sil) {
        s.silhouette = v;
    }
    let mut fit = fits.swap_remove(at);
    drop(fits);
    if sampled {
        fit = kmeans::refine(&fm.data, d, fit.centroids, &config.params(k));
    }
    if !fit.converged {
        let max = config.max_iter;
        notes.push(Note::new(
            format!("k-means 在 {max} 次迭代内未收敛；可调大 max_iter"),
            format!("k-means did not converge in {max} iterations; raise max_iter"),
        ));
    }

    // Relabel so that label 1 is the most valuable cluster.
    let order = profile::value_order(table, &fm, &fit.labels, k, &fit.centroids)?;
    let mut new_of = vec![0u32; k];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = new as u32;
    }
    let labels: Vec<u32> = fit.labels.iter().map(|&l| new_of[l as usize]).collect();
    let centroids: Vec<f64> = order
        .iter()
        .flat_map(|&old| fit.centroids[old * d..(old + 1) * d].iter().copied())
        .collect();
    let profiles = profile::profiles(table, &fm, &labels, k, &centroids)?;
    let mut by_row = vec![None; table.len()];
    for (&row, &l) in fm.rows.iter().zip(&labels) {
        by_row[row] = Some(l + 1);
    }
    let model = FittedKMeans {
        features: fm.features,
        means: fm.scaler.means,
        sds: fm.scaler.sds,
        centroids: centroids.chunks(d).map(<[f64]>::to_vec).collect(),
        k,
        inertia: fit.inertia,
        seed: config.seed,
    };
    Ok(Segmentation {
        model,
        labels: by_row,
        profiles,
        scores,
        notes,
    })
}

/// Labels the customers of `table` with a frozen segmentation: nearest centroid in the frozen
/// scaler's space, the frozen label order and names, profiles of the customers as they are now.
fn segment_frozen(table: &CustomerTable, frozen: &FrozenClusters) -> Result<Segmentation> {
    let model = &frozen.model;
    let fm = features::apply(table, model)?;
    if fm.rows.is_empty() {
        return Err(ClusterError::TooFewCustomers {
            found: 0,
            features: model
                .features
                .iter()
                .map(|f| f.column.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let (k, d) = (model.k, model.features.len());
    let centroids: Vec<f64> = model.centroids.concat();
    let (labels, inertia) = kmeans::assign(&fm.data, d, k, &centroids);
    let mut profiles = profile::profiles(table, &fm, &labels, k, &centroids)?;
    for (p, (en, zh)) in profiles.iter_mut().zip(&frozen.names) {
        p.name_en.clone_from(en);
        p.name_zh.clone_from(zh);
    }
    let mut by_row = vec![None; table.len()];
    for (&row, &l) in fm.rows.iter().zip(&labels) {
        by_row[row] = Some(l + 1);
    }
    let mut notes = fm.notes;
    notes.push(Note::new(
        "沿用上次运行的簇，不重新拟合，使簇标签与名称保持一致",
        "clusters of the latest run, applied without refitting so that labels and names stay \
         the same over time",
    ));
    Ok(Segmentation {
        model: FittedKMeans {
            inertia,
            ..model.clone()
        },
        labels: by_row,
        profiles,
        scores: Vec::new(),
        notes,
    })
}
