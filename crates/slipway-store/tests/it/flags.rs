//! Environments' feature flags: one document per environment, saved revision after revision.

use slipway_store::StoreError;

use crate::support::conformance;

conformance! {
    /// The first save is revision 1 and each one after adds one; a save over a revision that is
    /// not the current one is refused and changes nothing; a save without one always goes in.
    async fn flag_documents_are_saved_revision_after_revision(test: TestStore) {
        let production = test.store.create_environment("production", "", None).await?;
        let staging = test.store.create_environment("staging", "", None).await?;
        assert_eq!(test.store.flag_document(production.id).await?, None);

        let first = test.store.save_flag_document(production.id, r#"{"flags":{}}"#, Some(0), Some("carl")).await?;
        assert_eq!((first.revision, first.updated_by.as_deref()), (1, Some("carl")));
        let again = test.store.save_flag_document(production.id, r#"{"flags":{"a":1}}"#, Some(0), Some("dana")).await;
        let refused = again.err().ok_or("a second first save went in")?;
        assert!(matches!(refused, StoreError::InvalidState { .. }), "{refused:?}");
        assert!(refused.to_string().contains("at revision 1"), "{refused}");

        let second = test.store.save_flag_document(production.id, r#"{"flags":{"b":2}}"#, Some(1), Some("dana")).await?;
        assert_eq!(second.revision, 2);
        let stale = test.store.save_flag_document(production.id, r#"{"flags":{"c":3}}"#, Some(1), None).await;
        assert!(stale.is_err(), "a save over revision 1 went in at revision 2");
        let read = test.store.flag_document(production.id).await?.ok_or("no document")?;
        assert_eq!((read.document.as_str(), read.revision, read.updated_by.as_deref()), (r#"{"flags":{"b":2}}"#, 2, Some("dana")));
        assert!(read.updated_at >= first.updated_at);

        let forced = test.store.save_flag_document(production.id, r#"{"flags":{}}"#, None, None).await?;
        assert_eq!((forced.revision, forced.updated_by), (3, None));
        assert_eq!(test.store.flag_document(staging.id).await?, None);
        let unconditional = test.store.save_flag_document(staging.id, r#"{"flags":{}}"#, None, Some("eve")).await?;
        assert_eq!(unconditional.revision, 1);
        let wrong = test.store.save_flag_document(staging.id, r#"{"flags":{}}"#, Some(5), None).await;
        assert!(wrong.err().ok_or("revision 5 does not exist")?.to_string().contains("at revision 1"));
        Ok(())
    }
}
