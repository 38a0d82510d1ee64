//! [`Store`]'s variables and secrets: pipeline variables, variable groups and jobs' output
//! variables; secret values are sealed with the store's key and only decrypted for runs.

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{JobId, LeaseToken, ListedVariable, PipelineId, VariableGroup, VariableGroupId, VariableValue};

impl Store {
    // ----- pipeline variables -----

    /// Sets a pipeline variable; a secret one is encrypted.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline; [`StoreError::Invalid`] for an empty name.
    pub async fn set_pipeline_variable(
        &self,
        pipeline: PipelineId,
        name: &str,
        value: &str,
        is_secret: bool,
    ) -> Result<()> {
        dispatch!(self, variables::set_variable(VariableScope::Pipeline, pipeline.0, name, value, is_secret))
    }

    /// Deletes a pipeline variable; whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_pipeline_variable(&self, pipeline: PipelineId, name: &str) -> Result<bool> {
        dispatch!(self, variables::delete_variable(VariableScope::Pipeline, pipeline.0, name))
    }

    /// A pipeline's variables for the API: secret values left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_pipeline_variables(&self, pipeline: PipelineId) -> Result<Vec<ListedVariable>> {
        dispatch!(self, variables::list_variables(VariableScope::Pipeline, pipeline.0))
    }

    /// A pipeline's variables with their values, secrets decrypted, for a run.
    ///
    /// # Errors
    /// [`StoreError::Decryption`] when a stored secret is damaged.
    pub async fn pipeline_variable_values(&self, pipeline: PipelineId) -> Result<Vec<VariableValue>> {
        dispatch!(self, variables::variable_values(VariableScope::Pipeline, pipeline.0))
    }

    // ----- jobs' output variables -----

    /// Sets output variables of a leased job (`isOutput=true`), replacing those of the same name;
    /// secret ones are encrypted.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the caller does not hold the lease.
    pub async fn set_job_outputs(&self, lease: &LeaseToken, outputs: &[VariableValue]) -> Result<()> {
        dispatch!(self, variables::set_job_outputs(lease, outputs))
    }

    /// A job's output variables, secrets decrypted, for the jobs that depend on it.
    ///
    /// # Errors
    /// [`StoreError::Decryption`] when a stored secret is damaged.
    pub async fn job_output_values(&self, job: JobId) -> Result<Vec<VariableValue>> {
        dispatch!(self, variables::variable_values(VariableScope::Job, job.0))
    }

    /// A job's output variables for the API: secret values left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_job_outputs(&self, job: JobId) -> Result<Vec<ListedVariable>> {
        dispatch!(self, variables::list_variables(VariableScope::Job, job.0))
    }

    // ----- variable groups -----

    /// Creates an empty variable group.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    pub async fn create_variable_group(&self, name: &str, description: &str) -> Result<VariableGroup> {
        dispatch!(self, variables::create_variable_group(name, description))
    }

    /// Renames a variable group or changes its description.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Conflict`] when the name is taken.
    pub async fn update_variable_group(&self, group: VariableGroupId, name: &str, description: &str) -> Result<()> {
        dispatch!(self, variables::update_variable_group(group, name, description))
    }

    /// Deletes a variable group with its variables; whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_variable_group(&self, group: VariableGroupId) -> Result<bool> {
        dispatch!(self, variables::delete_variable_group(group))
    }

    /// Every variable group with its variables, secret values left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_variable_groups(&self) -> Result<Vec<VariableGroup>> {
        dispatch!(self, variables::list_variable_groups())
    }

    /// A variable group by name with its variables, secret values left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn variable_group_by_name(&self, name: &str) -> Result<Option<VariableGroup>> {
        dispatch!(self, variables::variable_group_by_name(name))
    }

    /// Sets a variable of a group; a secret one is encrypted.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown group; [`StoreError::Invalid`] for an empty name.
    pub async fn set_group_variable(
        &self,
        group: VariableGroupId,
        name: &str,
        value: &str,
        is_secret: bool,
    ) -> Result<()> {
        dispatch!(self, variables::set_variable(VariableScope::Group, group.0, name, value, is_secret))
    }

    /// Deletes a variable of a group; whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_group_variable(&self, group: VariableGroupId, name: &str) -> Result<bool> {
        dispatch!(self, variables::delete_variable(VariableScope::Group, group.0, name))
    }

    /// A group's variables with their values, secrets decrypted, for a job that names the group.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown group; [`StoreError::Decryption`] for damaged data.
    pub async fn group_variable_values(&self, group_name: &str) -> Result<Vec<VariableValue>> {
        dispatch!(self, variables::group_variable_values(group_name))
    }
}

/// Which variables a call is about: a group's, a pipeline's, or a job's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VariableScope {
    Group,
    Pipeline,
    Job,
}

impl VariableScope {
    /// What the owner of such variables is called in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Pipeline => "pipeline",
            Self::Job => "job",
        }
    }

    /// The associated data a secret value is sealed with: where it belongs.
    pub(crate) fn seal_context(self, owner: i64, name: &str) -> String {
        format!("slipway/v1/{}/{owner}/{name}", self.name())
    }
}
