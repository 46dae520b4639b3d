//! Customer-lifetime-value models (work in progress).

pub mod bgnbd;
pub mod data;
pub mod error;
pub mod fit;
pub mod gamma_gamma;
pub mod hyp2f1;
mod optimize;
pub mod special;

pub use bgnbd::BgNbd;
pub use data::CalibrationData;
pub use error::{ClvError, Result};
pub use fit::{FitOptions, FitReport, Fitted};
pub use gamma_gamma::GammaGamma;
