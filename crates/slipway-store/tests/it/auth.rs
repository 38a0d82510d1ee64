//! Users, personal access tokens, sessions, agents and the audit log.

use std::collections::BTreeMap;
use std::time::Duration;

use slipway_store::{AgentState, NewAgent, NewAuditEntry, Timestamp, UserRole};
use sqlx::Connection;

use crate::support::{Backend, TestStore, conformance};

async fn stored_token_hashes(test: &TestStore) -> Result<Vec<(String, String)>, sqlx::Error> {
    let sql = "SELECT prefix, hash FROM access_tokens ORDER BY id";
    match test.backend {
        Backend::Sqlite => {
            let path = std::path::Path::new(&test.location).join(slipway_store::SQLITE_FILE_NAME);
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
            let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
            sqlx::query_as(sql).fetch_all(&mut connection).await
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&test.location).await?;
            sqlx::query_as(sql).fetch_all(&mut connection).await
        }
    }
}

conformance! {
    /// Tokens are shown once, stored as SHA-256 hashes, found by their secret, and stop working
    /// when revoked or expired.
    async fn tokens_are_stored_hashed_and_found_by_secret(test: TestStore) {
        let store = &test.store;
        let alice = store.create_user("alice", UserRole::Admin).await?;
        let bob = store.create_user("bob", UserRole::Reader).await?;
        assert!(store.create_user("alice", UserRole::Reader).await.err().is_some_and(|error| error.is_conflict()));
        let issued = store.create_access_token(alice.id, "laptop", None).await?;
        let expiring = store.create_access_token(bob.id, "ci", Some(Timestamp(crate::support::START.millis() + 60_000))).await?;
        assert!(issued.secret.starts_with("slw_") && issued.secret.contains(&issued.item.prefix));
        assert!(!format!("{issued:?}").contains(&issued.secret));
        let stored = stored_token_hashes(&test).await?;
        assert_eq!(stored.len(), 2);
        for (prefix, hash) in &stored {
            assert_eq!(hash.len(), 64);
            assert!(!hash.contains(issued.secret.as_str()) && !hash.contains(expiring.secret.as_str()));
            assert!(issued.secret.contains(prefix.as_str()) || expiring.secret.contains(prefix.as_str()));
        }
        let (user, token) = store.authenticate_token(&issued.secret).await?.ok_or("the token was not accepted")?;
        assert_eq!((user.id, token.id, token.last_used_at), (alice.id, issued.item.id, Some(crate::support::START)));
        let mut tampered = issued.secret.clone();
        tampered.pop();
        tampered.push(if issued.secret.ends_with('0') { '1' } else { '0' });
        assert!(store.authenticate_token(&tampered).await?.is_none());
        assert!(store.authenticate_token("slw_nonsense").await?.is_none());
        assert!(store.authenticate_token("").await?.is_none());
        assert!(store.authenticate_token(&expiring.secret).await?.is_some());
        test.advance(60_000);
        assert!(store.authenticate_token(&expiring.secret).await?.is_none(), "an expired token was accepted");
        assert!(store.revoke_access_token(issued.item.id).await?);
        assert!(!store.revoke_access_token(issued.item.id).await?);
        assert!(store.authenticate_token(&issued.secret).await?.is_none(), "a revoked token was accepted");
        let tokens = store.list_access_tokens(alice.id).await?;
        assert!(tokens[0].revoked_at.is_some());
        assert_eq!(store.set_user_role(bob.id, UserRole::Contributor).await?.role, UserRole::Contributor);
        assert!(store.delete_user(bob.id).await?);
        assert!(store.list_access_tokens(bob.id).await?.is_empty());
        assert_eq!(store.list_users().await?.into_iter().map(|user| user.name).collect::<Vec<_>>(), ["alice"]);
        Ok(())
    }
}

conformance! {
    /// Sessions are found by their id until they expire or the user signs out.
    async fn sessions_expire_and_end(test: TestStore) {
        let store = &test.store;
        let alice = store.create_user("alice", UserRole::Contributor).await?;
        let token = store.create_access_token(alice.id, "browser", None).await?;
        let first = store.create_session(token.item.id, Duration::from_secs(3600)).await?;
        let second = store.create_session(token.item.id, Duration::from_secs(60)).await?;
        let (user, session) = store.session(&first.secret).await?.ok_or("no session")?;
        assert_eq!((user.name.as_str(), session.expires_at.millis() - session.created_at.millis()), ("alice", 3_600_000));
        assert!(store.session("not-a-session").await?.is_none());
        test.advance(61_000);
        assert!(store.session(&second.secret).await?.is_none());
        assert_eq!(store.delete_expired_sessions().await?, 1);
        assert!(store.delete_session(&first.secret).await?);
        assert!(store.session(&first.secret).await?.is_none());
        Ok(())
    }
}

conformance! {
    /// A session ends with the token it was opened with: revoked, expired, or deleted with its
    /// user; and it never lasts longer than the token.
    async fn sessions_end_with_their_token(test: TestStore) {
        let store = &test.store;
        let alice = store.create_user("alice", UserRole::Contributor).await?;
        let kept = store.create_access_token(alice.id, "kept", None).await?;
        let revoked = store.create_access_token(alice.id, "revoked", None).await?;
        let short = store.create_access_token(alice.id, "short", Some(Timestamp(crate::support::START.millis() + 10_000))).await?;
        let on_kept = store.create_session(kept.item.id, Duration::from_secs(3600)).await?;
        let on_revoked = store.create_session(revoked.item.id, Duration::from_secs(3600)).await?;
        let on_short = store.create_session(short.item.id, Duration::from_secs(3600)).await?;
        assert_eq!(on_short.item.expires_at.millis(), crate::support::START.millis() + 10_000, "capped by the token");
        assert_eq!(store.session(&on_revoked.secret).await?.map(|(_, session)| session.token), Some(Some(revoked.item.id)));

        assert!(store.revoke_access_token(revoked.item.id).await?);
        assert!(store.session(&on_revoked.secret).await?.is_none(), "the revoked token's session goes on");
        assert!(store.session(&on_kept.secret).await?.is_some(), "another token's session ended");
        assert!(store.create_session(revoked.item.id, Duration::from_secs(60)).await.is_err());
        test.advance(10_000);
        assert!(store.session(&on_short.secret).await?.is_none(), "the expired token's session goes on");
        assert!(store.session(&on_kept.secret).await?.is_some());

        assert!(store.delete_user(alice.id).await?);
        assert!(store.session(&on_kept.secret).await?.is_none());
        Ok(())
    }
}

conformance! {
    /// Users of an OpenID Connect provider are keyed by issuer and subject, never by name: a
    /// provider account named `admin` gets a name of its own, the same identity finds its user
    /// again, another issuer's same subject is someone else, and names are made valid.
    async fn external_users_are_keyed_by_issuer_and_subject(test: TestStore) {
        let store = &test.store;
        let admin = store.create_user("admin", UserRole::Admin).await?;
        assert_eq!((admin.external.clone(), admin.disabled_at), (None, None));
        let issuer = "https://id.example.com";
        let impostor = store.create_external_user(issuer, "sub-1", "admin", UserRole::Reader).await?;
        assert_eq!(impostor.name, "admin-2");
        assert_ne!(impostor.id, admin.id);
        assert_eq!(impostor.external, Some(slipway_store::ExternalIdentity { issuer: issuer.into(), subject: "sub-1".into() }));
        assert_eq!(store.user_by_name("admin").await?.map(|user| (user.id, user.role)), Some((admin.id, UserRole::Admin)));
        let again = store.create_external_user(issuer, "sub-1", "someone-else", UserRole::Admin).await?;
        assert_eq!((again.id, again.name.as_str(), again.role), (impostor.id, "admin-2", UserRole::Reader), "the same identity made a second user");
        assert_eq!(store.external_user(issuer, "sub-1").await?.map(|user| user.id), Some(impostor.id));
        assert!(store.external_user(issuer, "sub-2").await?.is_none());
        assert!(store.external_user("https://other.example.com", "sub-1").await?.is_none());
        let other = store.create_external_user("https://other.example.com", "sub-1", "admin", UserRole::Reader).await?;
        assert_eq!(other.name, "admin-3");
        let odd = store.create_external_user(issuer, "sub-3", " Ada Lovelace@example.com ", UserRole::Reader).await?;
        assert_eq!(odd.name, "Ada-Lovelace-example.com");
        let empty = store.create_external_user(issuer, "sub-4", "@@@", UserRole::Reader).await?;
        assert_eq!(empty.name, "user");
        assert!(store.create_external_user(issuer, "", "x", UserRole::Reader).await.is_err());
        // A local user created later cannot take an external user's name either.
        assert!(store.create_user("admin-2", UserRole::Admin).await.err().is_some_and(|error| error.is_conflict()));
        Ok(())
    }
}

conformance! {
    /// A session of its own (an OpenID Connect sign-in) has no token and ends when it expires, at
    /// sign-out, when its user is disabled (and a disabled user's tokens stop working too, until
    /// it is enabled) or deleted, or when the user's sessions are ended.
    async fn sessions_without_a_token_end_with_their_user(test: TestStore) {
        let store = &test.store;
        let ada = store.create_external_user("https://id.example.com", "ada", "ada", UserRole::Admin).await?;
        let first = store.create_user_session(ada.id, Duration::from_secs(3600)).await?;
        let short = store.create_user_session(ada.id, Duration::from_secs(60)).await?;
        let (user, session) = store.session(&first.secret).await?.ok_or("no session")?;
        assert_eq!((user.id, session.token, session.expires_at.millis() - session.created_at.millis()), (ada.id, None, 3_600_000));
        test.advance(61_000);
        assert!(store.session(&short.secret).await?.is_none(), "an expired session goes on");
        assert!(store.session(&first.secret).await?.is_some());

        let token = store.create_access_token(ada.id, "cli", None).await?;
        let on_token = store.create_session(token.item.id, Duration::from_secs(3600)).await?;
        let disabled = store.set_user_disabled(ada.id, true).await?;
        assert!(disabled.disabled_at.is_some());
        assert!(store.session(&first.secret).await?.is_none(), "a disabled user's session goes on");
        assert!(store.session(&on_token.secret).await?.is_none(), "a disabled user's token session goes on");
        assert!(store.authenticate_token(&token.secret).await?.is_none(), "a disabled user's token works");
        assert!(store.create_user_session(ada.id, Duration::from_secs(60)).await.is_err());
        assert!(store.create_session(token.item.id, Duration::from_secs(60)).await.is_err());

        let enabled = store.set_user_disabled(ada.id, false).await?;
        assert_eq!(enabled.disabled_at, None);
        assert!(store.session(&first.secret).await?.is_none(), "enabling brought an ended session back");
        assert!(store.authenticate_token(&token.secret).await?.is_some());
        let again = store.create_user_session(ada.id, Duration::from_secs(3600)).await?;
        let other = store.create_user_session(ada.id, Duration::from_secs(3600)).await?;
        assert!(store.delete_session(&again.secret).await?);
        assert!(store.session(&again.secret).await?.is_none());
        assert_eq!(store.end_user_sessions(ada.id).await?, 1);
        assert!(store.session(&other.secret).await?.is_none());
        let last = store.create_user_session(ada.id, Duration::from_secs(3600)).await?;
        assert!(store.delete_user(ada.id).await?);
        assert!(store.session(&last.secret).await?.is_none());
        assert!(store.set_user_disabled(ada.id, true).await.err().is_some_and(|error| error.is_not_found()));
        assert!(store.create_user_session(ada.id, Duration::from_secs(60)).await.is_err());
        Ok(())
    }
}

conformance! {
    /// A registration token registers one agent, which then signs in with its own credential.
    async fn agents_register_once_and_authenticate(test: TestStore) {
        let store = &test.store;
        let registration = store.create_registration_token(Some("alice"), None).await?;
        let capabilities: BTreeMap<String, String> = [("Agent.OS".to_owned(), "Linux".to_owned()), ("git".to_owned(), "2.47".to_owned())].into();
        let new = NewAgent { name: "builder-1".into(), pool: "default".into(), capabilities: capabilities.clone(), version: "0.1.0".into() };
        let agent = store.register_agent(&registration.secret, &new).await?.ok_or("registration refused")?;
        assert_eq!((agent.item.state, agent.item.capabilities.clone()), (AgentState::Offline, capabilities));
        assert!(store.register_agent(&registration.secret, &NewAgent { name: "builder-2".into(), ..new.clone() }).await?.is_none(), "a token was used twice");
        // A name that is taken does not use the token up.
        let second = store.create_registration_token(None, Some(Timestamp(crate::support::START.millis() + 10_000))).await?;
        assert!(store.register_agent(&second.secret, &new).await.err().is_some_and(|error| error.is_conflict()));
        let builder_two = store.register_agent(&second.secret, &NewAgent { name: "builder-2".into(), ..new.clone() }).await?.ok_or("refused")?;
        let third = store.create_registration_token(None, Some(Timestamp(crate::support::START.millis() + 10_000))).await?;
        test.advance(10_000);
        assert!(store.register_agent(&third.secret, &NewAgent { name: "builder-3".into(), ..new.clone() }).await?.is_none(), "an expired token worked");
        assert_eq!(store.authenticate_agent(&agent.secret).await?.map(|found| found.id), Some(agent.item.id));
        assert!(store.authenticate_agent(&registration.secret).await?.is_none());
        let busy = store.agent_seen(agent.item.id, AgentState::Busy).await?;
        assert_eq!((busy.state, busy.last_seen_at), (AgentState::Busy, Some(test.store.now())));
        let updated = store.update_agent(agent.item.id, &BTreeMap::new(), "0.2.0").await?;
        assert_eq!((updated.version.as_str(), updated.capabilities.len()), ("0.2.0", 0));
        test.advance(5_000);
        store.agent_seen(agent.item.id, AgentState::Idle).await?;
        // builder-2 never said hello: offline since it registered. builder-1 goes silent.
        let listed = store.list_agents().await?;
        assert_eq!(listed.iter().find(|agent| agent.id == builder_two.item.id).map(|agent| agent.state), Some(AgentState::Offline));
        assert!(store.mark_silent_agents_offline(Duration::from_secs(3)).await?.is_empty());
        test.advance(5_000);
        let offline = store.mark_silent_agents_offline(Duration::from_secs(3)).await?;
        assert_eq!(offline.iter().map(|agent| agent.name.as_str()).collect::<Vec<_>>(), ["builder-1"]);
        let tokens = store.list_registration_tokens().await?;
        assert_eq!(tokens.iter().filter(|token| token.used_at.is_some()).count(), 2);
        assert!(store.delete_agent(builder_two.item.id).await?);
        assert!(store.authenticate_agent(&builder_two.secret).await?.is_none());
        assert_eq!(store.list_agents().await?.len(), 1);
        Ok(())
    }
}

conformance! {
    /// The audit log keeps entries in order and pages newest first.
    async fn the_audit_log_pages_newest_first(test: TestStore) {
        for index in 0..5 {
            test.advance(1);
            test.store.record_audit(&NewAuditEntry {
                actor: "alice".into(),
                action: "pipeline.create".into(),
                target: Some(format!("pipeline-{index}")),
                details: serde_json::json!({"index": index}),
            }).await?;
        }
        let page = test.store.list_audit(None, 3).await?;
        assert_eq!(page.iter().map(|entry| entry.details["index"].as_i64()).collect::<Vec<_>>(), vec![Some(4), Some(3), Some(2)]);
        let rest = test.store.list_audit(page.last().map(|entry| entry.id), 10).await?;
        assert_eq!(rest.len(), 2);
        assert!(rest[0].at < page[2].at);
        Ok(())
    }
}
