//! From training results to the study's conclusions: import, aggregate (classification and
//! variant-calling results), evaluate calls, test, report.

pub mod aggregate;
pub mod aggregate_calls;
pub mod compare_evaluations;
pub mod evaluate;
pub mod frame;
pub mod import_results;
pub mod report;
pub mod significance;
pub mod tables;
