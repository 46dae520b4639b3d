//! Progress reporting hook, so the CLI can draw bars without this crate knowing about
//! terminals.

use clientele_core::Note;

/// Receives progress of long reads. Implementations must be cheap: `advance` is called per
/// batch of rows.
pub trait Progress: Sync {
    /// A new phase starts; `total_bytes` when the size is known. The label comes in both
    /// languages: the surface shows it in the run's.
    fn start(&self, label: &Note, total_bytes: Option<u64>);
    /// A new phase of `total` counted things (parts, customers: `unit` names them), advanced
    /// by count, not bytes. Reports like [`Progress::start`] unless a surface shows counts.
    fn start_count(&self, label: &Note, total: u64, unit: &Note) {
        let _ = (total, unit);
        self.start(label, None);
    }
    /// `bytes` more were processed (counted things, after [`Progress::start_count`]).
    fn advance(&self, bytes: u64);
    /// The phase is over.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &Note, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// The label of reading `what` (a file, a table).
pub(crate) fn reading(what: impl std::fmt::Display) -> Note {
    Note::new(format!("读取 {what}"), format!("reading {what}"))
}
