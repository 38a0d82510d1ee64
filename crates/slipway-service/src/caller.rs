//! Who is calling, and what their role allows: each role may do what the ones below it may
//! (reader, contributor, admin). The API finds the caller from a personal access token, the web
//! UI from its session.

use slipway_store::{User, UserRole};

use crate::error::ServiceError;

/// The authenticated user of a request. Extracting it answers 401 without a valid token.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user the token belongs to.
    pub user: User,
}

/// The rank of a role: each role may do what the ones below it may.
fn rank(role: UserRole) -> u8 {
    match role {
        UserRole::Reader => 0,
        UserRole::Contributor => 1,
        UserRole::Admin => 2,
    }
}

impl Caller {
    /// Checks that the caller has at least `role`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`] when the caller's role is lower.
    pub fn require(&self, role: UserRole) -> Result<(), ServiceError> {
        if rank(self.user.role) >= rank(role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "this needs the {role} role; user '{}' is a {}",
                self.user.name, self.user.role
            )))
        }
    }
}
