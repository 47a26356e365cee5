//! What an invariant's check returns.

use crate::error::StmError;
use std::fmt;

/// The outcome of an invariant check: `Ok(())` if it holds.
pub type CheckResult = Result<(), CheckError>;

/// Why a check did not pass: the invariant is violated (with a message), or a
/// transactional read inside the check hit a conflict (`?` on a read converts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError(pub(crate) CheckErrorKind);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckErrorKind {
    Stm(StmError),
    Violated(String),
}

impl CheckError {
    /// The invariant does not hold, for the reason `message` gives.
    pub fn violated(message: impl fmt::Display) -> Self {
        CheckError(CheckErrorKind::Violated(message.to_string()))
    }
}

impl From<StmError> for CheckError {
    fn from(e: StmError) -> Self {
        CheckError(CheckErrorKind::Stm(e))
    }
}

impl From<String> for CheckError {
    fn from(message: String) -> Self {
        CheckError(CheckErrorKind::Violated(message))
    }
}

impl From<&str> for CheckError {
    fn from(message: &str) -> Self {
        CheckError(CheckErrorKind::Violated(message.to_string()))
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            CheckErrorKind::Stm(e) => fmt::Display::fmt(e, f),
            CheckErrorKind::Violated(m) => f.write_str(m),
        }
    }
}
