//! Customer grading (顾客分级).
pub mod error;
pub mod expr;
pub mod schema;
pub mod check { #[derive(Debug, Clone)] pub struct Diagnostic; impl std::fmt::Display for Diagnostic { fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { Ok(()) } } }
