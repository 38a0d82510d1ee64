//! Approvers' decisions: who may decide an approval, and recording it.

use slipway_store::{Approval, ApprovalDecision, CheckRun, CheckRunId, CheckRunState, Store, StoreError, Timestamp};

use crate::checks::{ApprovalSettings, CheckSettings};

/// An approver's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Approve.
    Approve,
    /// Reject: the stage fails.
    Reject,
}

impl Decision {
    /// `approved` or `rejected`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
        }
    }
}

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No such approval.
    #[error("approval {0} does not exist")]
    NotFound(i64),
    /// It is decided already.
    #[error("approval {id} is {state} already; only a pending approval can be approved or rejected")]
    Decided {
        /// Its id.
        id: i64,
        /// Its state.
        state: CheckRunState,
    },
    /// The user is not one of its approvers.
    #[error("{user} is not an approver of approval {id}; its approvers are {approvers}")]
    NotAnApprover {
        /// Its id.
        id: i64,
        /// Who tried.
        user: String,
        /// Who may.
        approvers: String,
    },
    /// The user started the run, and the approval does not let requesters approve.
    #[error(
        "{user} started run {run}, and this approval does not let approvers approve their own runs \
         (requesterCannotBeApprover); another approver must decide"
    )]
    OwnRun {
        /// Who tried.
        user: String,
        /// The run.
        run: i64,
    },
    /// The user decided before.
    #[error("{user} has already decided approval {id}")]
    AlreadyDecided {
        /// Its id.
        id: i64,
        /// Who.
        user: String,
    },
    /// A pre- or post-check approval whose earlier checks have not all passed yet.
    #[error("approval {id} is asked once the checks before it pass (its order is {order}); decide it then")]
    NotAskedYet {
        /// Its id.
        id: i64,
        /// `postCheck`, `dynamic` or `preCheck`.
        order: &'static str,
    },
    /// A deferral that is not in the future.
    #[error("a deferred approval takes effect later than now; leave 'deferredUntil' out to approve at once")]
    DeferralInThePast,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

fn settings_of(approval: &Approval) -> Option<ApprovalSettings> {
    match CheckSettings::parse(&approval.check.kind, &approval.check.settings) {
        Ok(CheckSettings::Approval(settings)) => Some(settings),
        _ => None,
    }
}

/// Whether `user` may decide the approval now (it is pending, they are an approver, and it is not
/// their own run where that is not allowed).
///
/// # Errors
/// A [`DecideError`] saying why not.
pub fn may_decide(approval: &Approval, user: &str) -> Result<(), DecideError> {
    let id = approval.check.id.get();
    if approval.check.state != CheckRunState::Pending {
        return Err(DecideError::Decided { id, state: approval.check.state });
    }
    let settings = settings_of(approval).ok_or(DecideError::NotFound(id))?;
    if !settings.approvers.iter().any(|approver| approver.eq_ignore_ascii_case(user)) {
        return Err(DecideError::NotAnApprover { id, user: user.to_owned(), approvers: settings.approvers.join(", ") });
    }
    if settings.requester_cannot_be_approver
        && approval.requested_by.as_deref().is_some_and(|requester| requester.eq_ignore_ascii_case(user))
    {
        return Err(DecideError::OwnRun { user: user.to_owned(), run: approval.run.get() });
    }
    if approval.check.decisions.iter().any(|decision| decision.user.eq_ignore_ascii_case(user)) {
        return Err(DecideError::AlreadyDecided { id, user: user.to_owned() });
    }
    Ok(())
}

/// Whether an approval of a checkpoint with these `checks` is asked yet: every check of an
/// earlier category (Azure's order, [`CheckSettings::phase`]) passed.
#[must_use]
pub fn is_asked(checks: &[CheckRun], approval: &CheckRun) -> bool {
    let phase =
        |check: &CheckRun| CheckSettings::parse(&check.kind, &check.settings).map_or(0, |parsed| parsed.phase());
    let own = phase(approval);
    checks.iter().filter(|check| phase(check) < own).all(|check| check.state == CheckRunState::Passed)
}

/// Whether the approval is asked yet (see [`is_asked`]), reading its checkpoint.
///
/// # Errors
/// When the store cannot be read.
pub async fn asked(store: &Store, approval: &Approval) -> Result<bool, StoreError> {
    Ok(store
        .checkpoint(approval.run, &approval.stage)
        .await?
        .is_none_or(|checkpoint| is_asked(&checkpoint.checks, &approval.check)))
}

/// Records `user`'s decision on approval `id`, with a comment; an approval may be deferred to
/// take effect at `deferred_until`. The approval as it is afterwards.
///
/// # Errors
/// A [`DecideError`].
pub async fn decide(
    store: &Store,
    id: CheckRunId,
    user: &str,
    decision: Decision,
    comment: &str,
    deferred_until: Option<Timestamp>,
) -> Result<Approval, DecideError> {
    let approval = store.approval(id).await.map_err(|error| match error {
        StoreError::NotFound { .. } => DecideError::NotFound(id.get()),
        other => DecideError::Store(other),
    })?;
    may_decide(&approval, user)?;
    if !asked(store, &approval).await.map_err(DecideError::Store)? {
        let order = match settings_of(&approval).map(|settings| settings.order) {
            Some(crate::checks::ApprovalOrder::PostCheck) => "postCheck",
            Some(crate::checks::ApprovalOrder::PreCheck) => "preCheck",
            _ => "dynamic",
        };
        return Err(DecideError::NotAskedYet { id: id.get(), order });
    }
    let now = store.now();
    if let Some(until) = deferred_until
        && until.millis() <= now.millis()
    {
        return Err(DecideError::DeferralInThePast);
    }
    let record = ApprovalDecision {
        user: user.to_owned(),
        status: decision.as_str().to_owned(),
        comment: comment.to_owned(),
        decided_at: now,
        effective_at: deferred_until.unwrap_or(now),
    };
    store.decide_approval(id, &record).await.map_err(|error| match error {
        StoreError::Conflict { .. } => DecideError::AlreadyDecided { id: id.get(), user: user.to_owned() },
        StoreError::InvalidState { state, .. } => DecideError::Decided {
            id: id.get(),
            state: CheckRunState::parse(&state).unwrap_or(CheckRunState::Canceled),
        },
        other => DecideError::Store(other),
    })?;
    store.approval(id).await.map_err(DecideError::Store)
}
