//! Variable groups and secrets: encrypted at rest, decrypted for jobs, hidden from listings.

use slipway_store::{SecretKey, Store, StoreError, StoreOptions};
use sqlx::Connection;

use crate::support::{Backend, TestStore, conformance};

/// Every `(value, sealed)` pair of a variable table, read past the store.
async fn raw_variables(test: &TestStore, table: &str) -> Result<Vec<(Option<String>, Option<Vec<u8>>)>, sqlx::Error> {
    let sql = format!("SELECT value, sealed FROM {table} ORDER BY name");
    match test.backend {
        Backend::Sqlite => {
            let path = std::path::Path::new(&test.location).join(slipway_store::SQLITE_FILE_NAME);
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
            let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
            sqlx::query_as(&sql).fetch_all(&mut connection).await
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&test.location).await?;
            sqlx::query_as(&sql).fetch_all(&mut connection).await
        }
    }
}

conformance! {
    /// Secret values round-trip through encryption; listings never carry them; the database holds
    /// only ciphertext.
    async fn secrets_are_encrypted_and_hidden_from_listings(test: TestStore) {
        let store = &test.store;
        let group = store.create_variable_group("deploy", "production credentials").await?;
        assert!(store.create_variable_group("deploy", "").await.err().is_some_and(|error| error.is_conflict()));
        store.set_group_variable(group.id, "REGION", "eu-west-1", false).await?;
        store.set_group_variable(group.id, "API_TOKEN", "tok-9f8e7d-super-secret", true).await?;
        store.set_group_variable(group.id, "PASSWORD", "correct horse battery staple", true).await?;
        let listed = store.variable_group_by_name("deploy").await?.ok_or("no group")?;
        assert_eq!(listed.description, "production credentials");
        let shown: Vec<_> = listed.variables.iter().map(|variable| (variable.name.as_str(), variable.is_secret, variable.value.as_deref())).collect();
        assert_eq!(shown, vec![("API_TOKEN", true, None), ("PASSWORD", true, None), ("REGION", false, Some("eu-west-1"))]);
        let everything = format!("{:?}", store.list_variable_groups().await?);
        assert!(!everything.contains("super-secret") && !everything.contains("horse"), "a listing shows a secret: {everything}");
        let values = store.group_variable_values("deploy").await?;
        let decrypted: Vec<_> = values.iter().map(|variable| (variable.name.as_str(), variable.value.as_str(), variable.is_secret)).collect();
        assert_eq!(decrypted, vec![
            ("API_TOKEN", "tok-9f8e7d-super-secret", true),
            ("PASSWORD", "correct horse battery staple", true),
            ("REGION", "eu-west-1", false),
        ]);
        assert!(!format!("{values:?}").contains("super-secret"));
        let raw = raw_variables(&test, "group_variables").await?;
        for (value, sealed) in &raw[..2] {
            assert!(value.is_none());
            let sealed = sealed.as_ref().ok_or("a secret without ciphertext")?;
            assert!(!String::from_utf8_lossy(sealed).contains("secret") && sealed.len() > 24 + 16);
        }
        assert_eq!(raw[2].0.as_deref(), Some("eu-west-1"));
        // Turning a secret into a plain value and back, and deleting.
        store.set_group_variable(group.id, "PASSWORD", "visible", false).await?;
        store.set_group_variable(group.id, "REGION", "us-east-1", true).await?;
        let values = store.group_variable_values("deploy").await?;
        assert_eq!(values.iter().map(|variable| (variable.value.as_str(), variable.is_secret)).collect::<Vec<_>>(),
            vec![("tok-9f8e7d-super-secret", true), ("visible", false), ("us-east-1", true)]);
        assert!(store.delete_group_variable(group.id, "PASSWORD").await?);
        assert!(!store.delete_group_variable(group.id, "PASSWORD").await?);
        store.update_variable_group(group.id, "deploy-prod", "").await?;
        assert!(store.group_variable_values("deploy").await.err().is_some_and(|error| error.is_not_found()));
        assert_eq!(store.group_variable_values("deploy-prod").await?.len(), 2);
        assert!(store.delete_variable_group(group.id).await?);
        assert!(store.list_variable_groups().await?.is_empty());
        Ok(())
    }
}

conformance! {
    /// Pipeline variables work alike; a store opened with another key is refused before it
    /// serves anything.
    async fn pipeline_secrets_and_the_wrong_key(test: TestStore) {
        let app = test.pipeline("app").await?;
        test.store.set_pipeline_variable(app.id, "SIGNING_KEY", "-----BEGIN KEY-----", true).await?;
        test.store.set_pipeline_variable(app.id, "CONFIGURATION", "Release", false).await?;
        let listed = test.store.list_pipeline_variables(app.id).await?;
        assert_eq!(listed.iter().map(|variable| variable.value.as_deref()).collect::<Vec<_>>(), vec![Some("Release"), None]);
        let values = test.store.pipeline_variable_values(app.id).await?;
        assert_eq!(values[1].value, "-----BEGIN KEY-----");
        assert!(test.store.set_pipeline_variable(slipway_store::PipelineId(5555), "X", "y", true).await.err().is_some_and(|error| error.is_not_found()));
        assert!(test.store.set_pipeline_variable(app.id, " ", "y", false).await.is_err());
        let wrong = StoreOptions::new(SecretKey::from_bytes([8; 32])).with_clock(test.clock.clone());
        assert!(matches!(Store::open(&test.location, wrong).await, Err(StoreError::WrongSecretKey)));
        let again = test.reopen().await?;
        assert_eq!(again.pipeline_variable_values(app.id).await?, values);
        Ok(())
    }
}
