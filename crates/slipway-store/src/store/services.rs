//! [`Store`]'s services: services in environments and their slots.

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{AnalysisRun, AnalysisRunId, EnvironmentId, NewAnalysisRun, Service, ServiceId};

impl Store {
    /// Creates a service in an environment, its router (`provider`: `router` or `nginx`) to
    /// listen on `listen`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the environment has a service of that name or another
    /// service listens there.
    pub async fn create_service(
        &self,
        environment: EnvironmentId,
        name: &str,
        listen: &str,
        provider: &str,
        created_by: Option<&str>,
    ) -> Result<Service> {
        dispatch!(self, services::create_service(environment, name, listen, provider, created_by))
    }

    /// The services of an environment (of every environment with `None`), with their slots.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn services(&self, environment: Option<EnvironmentId>) -> Result<Vec<Service>> {
        dispatch!(self, services::services(environment))
    }

    /// A service of an environment by name.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn service(&self, environment: EnvironmentId, name: &str) -> Result<Service> {
        dispatch!(self, services::service(environment, name))
    }

    /// Deletes a service with its slots.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_service(&self, service: ServiceId) -> Result<()> {
        dispatch!(self, services::delete_service(service))
    }

    /// Sets slots (name, upstream, weight: added or replaced) and removes others, in one
    /// transaction; the service as it is afterwards.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown service.
    pub async fn set_slots(
        &self,
        service: ServiceId,
        slots: &[(String, String, u32)],
        remove: &[String],
    ) -> Result<Service> {
        dispatch!(self, services::set_slots(service, slots, remove))
    }

    /// Starts an analysis run (`Running`, no measurements yet).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown service.
    pub async fn create_analysis_run(&self, new: &NewAnalysisRun) -> Result<AnalysisRun> {
        dispatch!(self, services::create_analysis_run(new))
    }

    /// An analysis run.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn analysis_run(&self, id: AnalysisRunId) -> Result<AnalysisRun> {
        dispatch!(self, services::analysis_run(id))
    }

    /// The analysis runs that have not ended, oldest first (what the server measures).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn unfinished_analysis_runs(&self) -> Result<Vec<AnalysisRun>> {
        dispatch!(self, services::unfinished_analysis_runs())
    }

    /// A service's analysis runs, newest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn service_analysis_runs(&self, service: ServiceId, limit: i64) -> Result<Vec<AnalysisRun>> {
        dispatch!(self, services::service_analysis_runs(service, limit))
    }

    /// Records an analysis run's phase and measurements (and that it ended, with `finished`).
    /// Returns false when the run had already ended (nothing changes then).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn update_analysis_run(
        &self,
        id: AnalysisRunId,
        phase: &str,
        message: Option<&str>,
        measurements: &serde_json::Value,
        finished: bool,
    ) -> Result<bool> {
        dispatch!(self, services::update_analysis_run(id, phase, message, measurements, finished))
    }

    /// A person's decision on an inconclusive analysis run: its phase becomes `phase`
    /// (`Successful` or `Failed`) with `message`. False when the run is not inconclusive (it was
    /// decided already, or never was).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn decide_analysis_run(&self, id: AnalysisRunId, phase: &str, message: &str) -> Result<bool> {
        dispatch!(self, services::decide_analysis_run(id, phase, message))
    }
}
