//! Progress reporting and cancellation, supplied by the caller.
//!
//! The library never prints. Long stages call [`Progress::stage`] once and
//! [`Progress::advance`] per unit of work, and check [`Progress::is_cancelled`]
//! between units; a cancelled job returns [`crate::Error::Cancelled`].

use std::sync::atomic::{AtomicBool, Ordering};

/// Receives progress events from long-running stages. All methods have no-op defaults.
pub trait Progress: Sync {
    /// A new stage starts with `total` units of work (0 when unknown).
    fn stage(&self, _name: &str, _total: u64) {}
    /// `n` more units of the current stage are done.
    fn advance(&self, _n: u64) {}
    /// A non-fatal warning (e.g. a short reference recording).
    fn warn(&self, _message: &str) {}
    /// Whether the caller asked to stop; checked between units of work.
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything and never cancels.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// A [`Progress`] that only carries a cancellation flag.
#[derive(Debug, Default)]
pub struct CancelFlag(AtomicBool);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self(AtomicBool::new(false))
    }
    /// Asks the job to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Progress for CancelFlag {
    fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Returns `Err(Cancelled)` when the progress handle says so.
pub(crate) fn check(progress: &dyn Progress) -> crate::Result<()> {
    if progress.is_cancelled() {
        Err(crate::Error::Cancelled)
    } else {
        Ok(())
    }
}
