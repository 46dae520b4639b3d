//! K-means customer segments (work in progress).

mod error;
mod init;
mod kmeans;
pub mod synth;

pub use error::{ClusterError, Result};
pub use kmeans::{KMeansFit, KMeansParams, kmeans};
