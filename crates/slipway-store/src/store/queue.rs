//! [`Store`]'s job queue: workers lease jobs, renew (heartbeat) and complete their leases, lost
//! leases are taken back; agent pools' settings.

use std::time::Duration;

use slipway_events::TaskResult;

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{
    Heartbeat, Job, Lease, LeaseRequest, LeaseToken, PoolRecord, PoolSettings, Reclaim, ReclaimAction, ReclaimedLease,
};

impl Store {
    // ----- leases -----

    /// Leases the oldest queued job of the worker's pool whose demands its capabilities meet:
    /// the job becomes `running`, held by `request.holder` until the lease expires unless renewed.
    /// `None` when no job matches. A job is never leased to two workers at once.
    ///
    /// # Errors
    /// When the database cannot be used.
    pub async fn lease_job(&self, request: &LeaseRequest) -> Result<Option<Lease>> {
        dispatch!(self, queue::lease_job(request))
    }

    /// Renews a lease for `duration` from now (the worker's heartbeat), and tells whether the run
    /// was asked to cancel. A lease that expired but was not yet reclaimed can still be renewed.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the caller no longer holds the lease: it must stop the job.
    pub async fn renew_lease(&self, lease: &LeaseToken, duration: Duration) -> Result<Heartbeat> {
        dispatch!(self, queue::renew_lease(lease, duration))
    }

    /// Completes a leased job with its result. Repeating the same completion (a retried request)
    /// returns the job unchanged.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the caller does not hold the lease.
    pub async fn complete_job(&self, lease: &LeaseToken, result: TaskResult, message: Option<&str>) -> Result<Job> {
        dispatch!(self, queue::complete_job(lease, result, message))
    }

    /// Takes back leases (expired ones, or those of a holder that is gone) and, for each job,
    /// does what `decide` says: fail it with a reason (its unfinished steps too) or put it back in
    /// the queue. Each job is handled in its own transaction and only if its lease is still the
    /// one that was found, so a lease renewed meanwhile is left alone.
    ///
    /// # Errors
    /// When the database cannot be used.
    pub async fn reclaim_leases(
        &self,
        which: &Reclaim,
        decide: impl Fn(&Job) -> ReclaimAction + Send + Sync,
    ) -> Result<Vec<ReclaimedLease>> {
        dispatch!(self, queue::reclaim_leases(which, &decide))
    }

    // ----- agent pools -----

    /// Sets an agent pool's settings.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty name.
    pub async fn set_pool_settings(&self, name: &str, settings: &PoolSettings) -> Result<PoolRecord> {
        dispatch!(self, queue::set_pool_settings(name, settings))
    }

    /// Every pool that has settings, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_pool_settings(&self) -> Result<Vec<PoolRecord>> {
        dispatch!(self, queue::list_pool_settings())
    }
}
