//! From training results to the study's conclusions: import, aggregate, test, report.

pub mod aggregate;
pub mod compare_evaluations;
pub mod evaluate;
pub mod frame;
pub mod import_results;
pub mod report;
pub mod significance;
pub mod tables;
