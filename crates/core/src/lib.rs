//! Domain types shared by every clientele crate. No I/O, no clock: "now" is an
//! [`ObservationWindow`] given by the caller.
//!
//! The [`CustomerTable`] is the contract between ingestion, the models and the surfaces: one
//! row per customer, named typed columns (see DESIGN.md §3 for the column names). The two
//! summary conventions ([`RfmSummary`], [`ClvSummary`]) are separate types because their
//! "frequency" and "recency" mean different things.

pub mod columns;
mod day;
mod error;
mod ids;
mod lang;
mod names;
mod note;
mod parts;
pub mod rank;
mod round;
mod shell;
mod stored;
mod summary;
mod table;
mod texts;
mod values;
mod window;

pub use columns::Grouping;
pub use day::{DateFormat, Day};
pub use error::CoreError;
pub use ids::Ids;
pub use lang::Lang;
pub use names::Names;
pub use note::Note;
pub use parts::{ColumnSink, LabelUnion, PartColumns, testing};
pub use round::{Rounding, thousands};
pub use shell::shell_word;
pub use stored::ColumnStore;
pub use summary::{ClvSummary, RfmSummary};
pub use table::{Column, ColumnData, CustomerTable, Numbers};
pub use texts::Texts;
pub use values::{Iter as ValuesIter, Values};
pub use window::{ObservationWindow, Span, TimeUnit};

/// Result alias for this crate.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
