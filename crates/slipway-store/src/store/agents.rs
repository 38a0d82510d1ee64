//! [`Store`]'s remote agents: registration tokens, registering, credentials, state and capabilities.

use std::time::Duration;

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{Agent, AgentId, AgentState, Issued, NewAgent, RegistrationToken, Timestamp};

impl Store {
    // ----- registration tokens -----

    /// Creates a one-time token that registers an agent; its secret is returned this once.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn create_registration_token(
        &self,
        created_by: Option<&str>,
        expires_at: Option<Timestamp>,
    ) -> Result<Issued<RegistrationToken>> {
        dispatch!(self, agents::create_registration_token(created_by, expires_at))
    }

    /// Registration tokens, newest first (never their secrets).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_registration_tokens(&self) -> Result<Vec<RegistrationToken>> {
        dispatch!(self, agents::list_registration_tokens())
    }

    // ----- agents -----

    /// Turns a registration token into an agent with its own credential (returned this once):
    /// `None` when the token is unknown, used or expired. The token is used up only if the agent is
    /// created; it is offline until it says hello.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when an agent of that name exists.
    pub async fn register_agent(&self, registration_secret: &str, agent: &NewAgent) -> Result<Option<Issued<Agent>>> {
        dispatch!(self, agents::register_agent(registration_secret, agent))
    }

    /// The agent an agent credential belongs to.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn authenticate_agent(&self, secret: &str) -> Result<Option<Agent>> {
        dispatch!(self, agents::authenticate_agent(secret))
    }

    /// Records that an agent was heard from, and its state.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown agent.
    pub async fn agent_seen(&self, agent: AgentId, state: AgentState) -> Result<Agent> {
        dispatch!(self, agents::agent_seen(agent, state))
    }

    /// Updates an agent's capabilities and version (it sends them when it starts).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown agent.
    pub async fn update_agent(
        &self,
        agent: AgentId,
        capabilities: &std::collections::BTreeMap<String, String>,
        version: &str,
    ) -> Result<Agent> {
        dispatch!(self, agents::update_agent(agent, capabilities, version))
    }

    /// Marks agents not heard from for `silence` as offline; returns them.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn mark_silent_agents_offline(&self, silence: Duration) -> Result<Vec<Agent>> {
        dispatch!(self, agents::mark_silent_agents_offline(silence))
    }

    /// Every agent, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_agents(&self) -> Result<Vec<Agent>> {
        dispatch!(self, agents::list_agents())
    }

    /// Deletes an agent (its credential stops working); whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_agent(&self, agent: AgentId) -> Result<bool> {
        dispatch!(self, agents::delete_agent(agent))
    }
}
