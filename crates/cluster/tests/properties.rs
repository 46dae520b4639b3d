//! Properties of the low-level k-means on arbitrary small inputs.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test

use clientele_cluster::{ClusterError, KMeansParams, kmeans};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn labels_are_nearest_centres_and_no_cluster_is_empty(
        rows in prop::collection::vec(prop::collection::vec(-50i32..50, 2), 2..60),
        k in 1usize..6,
        seed in 0u64..1000,
    ) {
        let d = 2;
        let x: Vec<f64> = rows.iter().flatten().map(|&v| f64::from(v) / 4.0).collect();
        let p = KMeansParams { seed, ..KMeansParams::new(k) };
        match kmeans(&x, d, &p) {
            Err(ClusterError::TooFewDistinct { .. }) => {
                let mut u = rows.clone();
                u.sort();
                u.dedup();
                prop_assert!(u.len() < k);
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
            Ok(fit) => {
                prop_assert_eq!(fit.labels.len(), rows.len());
                prop_assert!(fit.sizes().iter().all(|&s| s > 0), "empty cluster: {:?}", fit.sizes());
                let mut inertia = 0.0;
                for (i, &l) in fit.labels.iter().enumerate() {
                    let xi = &x[i * d..(i + 1) * d];
                    let dist = |c: usize| -> f64 {
                        xi.iter().zip(&fit.centroids[c * d..(c + 1) * d]).map(|(a, b)| (a - b) * (a - b)).sum()
                    };
                    let own = dist(l as usize);
                    prop_assert!((0..k).all(|c| dist(c) >= own - 1e-9));
                    inertia += own;
                }
                prop_assert!((inertia - fit.inertia).abs() <= 1e-9 * (1.0 + inertia));
                prop_assert_eq!(kmeans(&x, d, &p).unwrap(), fit);
            }
        }
    }
}
