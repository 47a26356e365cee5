//! Errors: the control-flow signal every transactional operation returns, and
//! the typed failures a caller of `try_atomically` receives.

use std::borrow::Cow;
use std::fmt;

/// Why a transactional operation did not produce a value.
///
/// Propagate it with `?`: the engine decides whether the transaction re-runs
/// (a conflict), blocks (`retry`) or fails (an invariant was violated). It is
/// opaque on purpose: user code never needs to inspect or build one except
/// through [`retry`](crate::retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StmError {
    pub(crate) kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The attempt saw a conflict; it will be re-run.
    Conflict,
    /// The body asked to block until something it read changes.
    Retry,
    /// The transaction cannot succeed; the failure reaches the caller.
    Failed(Box<Failure>),
}

impl StmError {
    pub(crate) fn conflict() -> Self {
        StmError {
            kind: ErrorKind::Conflict,
        }
    }
    pub(crate) fn retry() -> Self {
        StmError {
            kind: ErrorKind::Retry,
        }
    }
    pub(crate) fn failed(failure: Failure) -> Self {
        StmError {
            kind: ErrorKind::Failed(Box::new(failure)),
        }
    }

    /// Whether this is the signal raised by [`retry`](crate::retry).
    pub fn is_retry(&self) -> bool {
        matches!(self.kind, ErrorKind::Retry)
    }

    /// Whether this signals a conflict (the attempt will be re-run).
    pub fn is_conflict(&self) -> bool {
        matches!(self.kind, ErrorKind::Conflict)
    }
}

impl fmt::Display for StmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Conflict => f.write_str("transaction conflict (the attempt is re-run)"),
            ErrorKind::Retry => {
                f.write_str("transaction retry (blocks until a read variable changes)")
            }
            ErrorKind::Failed(failure) => fmt::Display::fmt(failure, f),
        }
    }
}

impl std::error::Error for StmError {}

/// The result of a transactional operation.
pub type StmResult<T> = Result<T, StmError>;

/// A reason a transaction cannot commit, reported to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// An invariant's check failed at the end of the transaction.
    InvariantViolated(InvariantViolation),
    /// An invariant's check tried to write a variable or to `retry`.
    InvalidCheck {
        /// The invariant's name.
        invariant: Cow<'static, str>,
        /// What it tried to do.
        reason: &'static str,
    },
    /// `retry` was called by a transaction that had read no variable, so
    /// nothing could ever wake it.
    RetryWithoutReads,
    /// Derived values kept triggering each other at commit.
    DerivationCycle,
    /// A cache was read after the object it derives from was dropped, before
    /// it ever held a value.
    OwnerGone,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::InvariantViolated(v) => fmt::Display::fmt(v, f),
            Failure::InvalidCheck { invariant, reason } => write!(
                f,
                "invariant `{invariant}` {reason}: a check may only read transactional variables"
            ),
            Failure::RetryWithoutReads => f.write_str(
                "retry() called in a transaction that read no transactional variable: \
                 nothing could ever wake it, so it would block forever",
            ),
            Failure::DerivationCycle => f.write_str(
                "eager caches kept invalidating each other at commit (a dependency cycle)",
            ),
            Failure::OwnerGone => {
                f.write_str("a cache was read after the object it derives from was dropped")
            }
        }
    }
}

impl std::error::Error for Failure {}

impl Failure {
    /// The violated invariant, if that is the failure.
    pub fn invariant_violation(&self) -> Option<&InvariantViolation> {
        match self {
            Failure::InvariantViolated(v) => Some(v),
            _ => None,
        }
    }
}

/// An invariant that did not hold: its name and what its check said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantViolation {
    /// The name given when the invariant was registered.
    pub invariant: Cow<'static, str>,
    /// The message its check returned.
    pub message: String,
}

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant `{}` violated: {}",
            self.invariant, self.message
        )
    }
}

impl std::error::Error for InvariantViolation {}

/// How a body run by [`try_atomically`](crate::try_atomically) stops early:
/// either an engine signal (from `?` on a transactional operation) or the
/// caller's own error, built with [`abort`](crate::abort).
#[derive(Debug)]
pub enum Abort<E> {
    /// An engine signal: conflict, retry or failure.
    Stm(StmError),
    /// The caller's error: every write of the transaction is rolled back and
    /// the error is returned.
    User(E),
}

impl<E> From<StmError> for Abort<E> {
    fn from(e: StmError) -> Self {
        Abort::Stm(e)
    }
}

/// Why [`try_atomically`](crate::try_atomically) returned no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionError<E> {
    /// The body aborted with the caller's error; nothing it wrote is visible.
    Aborted(E),
    /// The transaction could not commit; nothing it wrote is visible.
    Failed(Failure),
}

impl<E> TransactionError<E> {
    /// The violated invariant, if that is why the transaction failed.
    pub fn invariant_violation(&self) -> Option<&InvariantViolation> {
        match self {
            TransactionError::Failed(failure) => failure.invariant_violation(),
            TransactionError::Aborted(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for TransactionError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionError::Aborted(e) => write!(f, "transaction aborted: {e}"),
            TransactionError::Failed(failure) => write!(f, "transaction failed: {failure}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TransactionError<E> {}
