//! The policy language: IAM's JSON grammar ([`document`]), parsing with precise validation
//! errors ([`parse`]), wildcard and ARN matching ([`pattern`]), and evaluation ([`eval`]).
//! Pure code, no I/O: the decision API, the simulator and (later) STS share it.

pub mod document;
pub mod eval;
pub mod parse;
pub mod pattern;
pub mod trust;

#[cfg(test)]
mod cases;

pub use document::Policy;
pub use eval::{Context, Decision, NamedPolicy, Outcome, Request, evaluate};
pub use parse::{PolicyError, parse};
