//! The fitted model that is saved in `summary.json` and reloaded to label new customers.

use clientele_core::CustomerTable;
use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, Result};
use crate::features::{Feature, raw_column};
use crate::kmeans::sq_dist;

/// Everything needed to assign a new customer to a cluster: features with their transforms, the
/// scaler, and the centroids (standardised space) in label order (`centroids[0]` is label 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FittedKMeans {
    /// Features, in the order of centroid coordinates.
    pub features: Vec<Feature>,
    /// Means of the transformed features.
    pub means: Vec<f64>,
    /// Standard deviations of the transformed features.
    pub sds: Vec<f64>,
    /// `k` centroids of `features.len()` standardised coordinates; index + 1 is the label.
    pub centroids: Vec<Vec<f64>>,
    /// Number of clusters.
    pub k: usize,
    /// Inertia on the fitted customers (standardised space).
    pub inertia: f64,
    /// Seed the model was fitted with.
    pub seed: u64,
}

impl FittedKMeans {
    /// Label (1-based) of one customer given raw feature values in `features` order.
    pub fn predict_row(&self, raw: &[f64]) -> Result<u32> {
        if raw.len() != self.features.len() {
            return Err(ClusterError::Width {
                expected: self.features.len(),
                got: raw.len(),
            });
        }
        if let Some((j, v)) = raw.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ClusterError::NonFinite {
                column: self.features[j].column.clone(),
                customer: "(predict_row)".into(),
                value: v.to_string(),
            });
        }
        let z: Vec<f64> = raw
            .iter()
            .zip(&self.features)
            .enumerate()
            .map(|(j, (&x, f))| (f.transform.apply(x) - self.means[j]) / self.sds[j])
            .collect();
        Ok(self.nearest(&z))
    }

    /// Labels for every customer of `table` (`None` where a feature value is missing).
    pub fn predict(&self, table: &CustomerTable) -> Result<Vec<Option<u32>>> {
        let cols: Vec<Vec<Option<f64>>> = self
            .features
            .iter()
            .map(|f| raw_column(table, &f.column))
            .collect::<Result<_>>()?;
        let mut z = vec![0.0; self.features.len()];
        Ok((0..table.len())
            .map(|i| {
                for (j, (col, f)) in cols.iter().zip(&self.features).enumerate() {
                    z[j] = (f.transform.apply(col[i]?) - self.means[j]) / self.sds[j];
                }
                Some(self.nearest(&z))
            })
            .collect())
    }

    fn nearest(&self, z: &[f64]) -> u32 {
        let mut best = 0;
        let mut bd = f64::INFINITY;
        for (c, centre) in self.centroids.iter().enumerate() {
            let dist = sq_dist(z, centre);
            if dist < bd {
                bd = dist;
                best = c;
            }
        }
        best as u32 + 1
    }
}
