//! The `[cluster]` section of the config file.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{ClusterError, Result};
use crate::features::{Feature, Transform};
use crate::kmeans::{KMeansParams, check_params};
use crate::model::FittedKMeans;
use crate::profile::ClusterProfile;

/// `[cluster]` settings. Every key is optional; unknown keys are errors.
///
/// ```toml
/// [cluster]
/// features = ["recency_days", "orders", "monetary", "none(satisfaction)"]
/// k = [3, 8]            # or a fixed k = 5
/// n_init = 10
/// seed = 42
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// Run the segmentation at all (the engine skips it when false). Default true.
    pub enabled: bool,
    /// Feature columns: `name` (uses `transform`), `log1p(name)` or `none(name)`. Default:
    /// recency_days, orders, monetary, plus categories and avg_order_value when the table has
    /// them.
    pub features: Option<Vec<String>>,
    /// Transform for bare feature names. Default `log1p` (customer metrics are right-skewed).
    pub transform: Transform,
    /// A fixed k, or a range `[min, max]`: every k in it is fitted and the elbow of the inertia
    /// curve is chosen ([`crate::select::choose_k`]). Default `[3, 8]`: two segments (what the
    /// silhouette prefers on customer data) are too coarse to act on, and more than eight are
    /// more than a team can run campaigns for.
    pub k: KChoice,
    /// Initialisations per k, best inertia kept. Default 10 (see [`KMeansParams::n_init`]).
    pub n_init: usize,
    /// Initialisations per k while k is chosen from a range; the chosen k is then fitted with
    /// `n_init`, so its clusters are those of a fixed k. Default 3: the elbow of the inertia
    /// curve does not need the best of ten for every k, and ten for each of six values of k
    /// was half the analysis of a shop of 300k customers.
    pub scan_n_init: usize,
    /// Lloyd iterations per run. Default 300.
    pub max_iter: usize,
    /// Relative tolerance on the centre shift (scikit-learn semantics). Default 1e-4.
    pub tol: f64,
    /// Seed of every random choice. Same data + same seed → same labels.
    pub seed: u64,
    /// Above this many customers, initialisations run on a sample of this size. Default 100 000.
    pub sample_size: usize,
    /// Silhouette is computed on a seeded sample of this many customers (it is O(n²)).
    /// Default 10 000.
    pub silhouette_sample: usize,
    /// Label customers with an earlier segmentation instead of fitting one: its centroids,
    /// labels and names are kept. The engine sets it for the back-dated analyses of
    /// `--history monthly`, so that a cluster keeps its label and name from month to month
    /// (refitting every month gave new clusters each time). Not a config-file key.
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub frozen: Option<FrozenClusters>,
}

/// A fitted segmentation given back to label other customers the same way: the model and the
/// names of its clusters, in label order.
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenClusters {
    /// The fitted model (features, scaler, centroids in label order).
    pub model: FittedKMeans,
    /// `(English, Chinese)` name of each label, label 1 first.
    pub names: Vec<(String, String)>,
}

impl FrozenClusters {
    /// The model and names of a segmentation (`profiles` in label order, as
    /// [`crate::Segmentation::profiles`]).
    pub fn new(model: FittedKMeans, profiles: &[ClusterProfile]) -> FrozenClusters {
        FrozenClusters {
            model,
            names: profiles
                .iter()
                .map(|p| (p.name_en.clone(), p.name_zh.clone()))
                .collect(),
        }
    }
}

/// [`ClusterConfig::scan_n_init`] by default.
pub const DEFAULT_SCAN_N_INIT: usize = 3;

impl Default for ClusterConfig {
    fn default() -> Self {
        let p = KMeansParams::new(2);
        ClusterConfig {
            enabled: true,
            features: None,
            transform: Transform::Log1p,
            k: KChoice::Range { min: 3, max: 8 },
            n_init: p.n_init,
            scan_n_init: DEFAULT_SCAN_N_INIT,
            max_iter: p.max_iter,
            tol: p.tol,
            seed: p.seed,
            sample_size: p.sample_size,
            silhouette_sample: 10_000,
            frozen: None,
        }
    }
}

impl ClusterConfig {
    /// Checks ranges and feature syntax; returns the parsed explicit features (if any).
    pub fn validate(&self) -> Result<Option<Vec<Feature>>> {
        let (lo, hi) = self.k.bounds();
        if lo < 2 || hi < lo {
            return Err(ClusterError::Config {
                field: "k",
                message: format!("needs 2 ≤ k (and min ≤ max), got {}", self.k),
            });
        }
        check_params(&self.params(lo))?;
        if self.scan_n_init < 1 {
            return Err(ClusterError::Config {
                field: "scan_n_init",
                message: "must be at least 1".into(),
            });
        }
        if self.silhouette_sample < 2 {
            return Err(ClusterError::Config {
                field: "silhouette_sample",
                message: "must be at least 2".into(),
            });
        }
        match &self.features {
            None => Ok(None),
            Some(list) if list.is_empty() => Err(ClusterError::Config {
                field: "features",
                message: "is empty; remove the key to use the default features".into(),
            }),
            Some(list) => list
                .iter()
                .map(|s| Feature::parse(s, self.transform))
                .collect::<Result<Vec<_>>>()
                .map(Some),
        }
    }

    /// Low-level parameters for `k` clusters while k is chosen from a range.
    pub fn scan_params(&self, k: usize) -> KMeansParams {
        KMeansParams {
            n_init: self.scan_n_init.min(self.n_init),
            ..self.params(k)
        }
    }

    /// Low-level parameters for `k` clusters.
    pub fn params(&self, k: usize) -> KMeansParams {
        KMeansParams {
            k,
            n_init: self.n_init,
            max_iter: self.max_iter,
            tol: self.tol,
            seed: self.seed,
            sample_size: self.sample_size,
        }
    }
}

/// How k is chosen: fixed (`k = 5`) or the elbow of a range (`k = [3, 8]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KChoice {
    /// Exactly this many clusters.
    Fixed(usize),
    /// Every k in `min..=max` is fitted and scored.
    Range {
        /// Smallest k tried.
        min: usize,
        /// Largest k tried.
        max: usize,
    },
}

impl KChoice {
    /// `(min, max)`; equal for a fixed k.
    pub fn bounds(self) -> (usize, usize) {
        match self {
            KChoice::Fixed(k) => (k, k),
            KChoice::Range { min, max } => (min, max),
        }
    }
}

impl fmt::Display for KChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KChoice::Fixed(k) => write!(f, "{k}"),
            KChoice::Range { min, max } => write!(f, "[{min}, {max}]"),
        }
    }
}

/// By hand, like the serde impls: `k = 5` or `k = [3, 8]`.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for KChoice {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KChoice".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                {
                    "type": "array",
                    "items": { "type": "integer", "minimum": 0 },
                    "minItems": 2,
                    "maxItems": 2
                }
            ]
        })
    }
}

impl Serialize for KChoice {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match *self {
            KChoice::Fixed(k) => s.serialize_u64(k as u64),
            KChoice::Range { min, max } => [min, max].serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for KChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KChoice;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of clusters (k = 5) or a range [min, max] (k = [3, 8])")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<KChoice, E> {
                Ok(KChoice::Fixed(v as usize))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<KChoice, E> {
                usize::try_from(v)
                    .map(KChoice::Fixed)
                    .map_err(|_| E::custom(format!("k must be positive, got {v}")))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<KChoice, A::Error> {
                let min: usize = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let max: usize = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if a.next_element::<usize>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(KChoice::Range { min, max })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixed_and_range_k() {
        let c: ClusterConfig = toml::from_str("k = 5\nseed = 7").unwrap();
        assert_eq!(c.k, KChoice::Fixed(5));
        assert_eq!(c.seed, 7);
        let c: ClusterConfig = toml::from_str("k = [3, 6]").unwrap();
        assert_eq!(c.k, KChoice::Range { min: 3, max: 6 });
        let back: ClusterConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(
            ClusterConfig::default().k,
            KChoice::Range { min: 3, max: 8 }
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = toml::from_str::<ClusterConfig>("n_inits = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("n_inits"), "{e}");
    }

    #[test]
    fn k_below_two_is_rejected() {
        let c = ClusterConfig {
            k: KChoice::Fixed(1),
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ClusterError::Config { field: "k", .. })
        ));
        let c = ClusterConfig {
            k: KChoice::Range { min: 5, max: 3 },
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ClusterError::Config { field: "k", .. })
        ));
    }

    #[test]
    fn bad_numbers_are_rejected() {
        let c = ClusterConfig {
            tol: -1.0,
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ClusterError::Config { field: "tol", .. })
        ));
        let c = ClusterConfig {
            features: Some(vec!["sqrt(x)".into()]),
            ..Default::default()
        };
        assert!(matches!(c.validate(), Err(ClusterError::BadFeature(_))));
    }
}
