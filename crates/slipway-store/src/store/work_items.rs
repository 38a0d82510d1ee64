//! [`Store`]'s work items and incidents.
//!
//! Every method that changes a work item records, in the same transaction, a change in the
//! event stream's outbox: `workItem.created`, `workItem.updated` or `workItem.resolved`.

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{
    NewWorkItem, NewWorkItemLink, PipelineId, StoredWorkItemRules, WorkItem, WorkItemComment, WorkItemFilter,
    WorkItemId, WorkItemLink, WorkItemRules, WorkItemUpdate,
};

impl Store {
    /// Opens a work item (state `new`, one occurrence) with these links.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a blank title or creator, text too long, a bad link;
    /// [`StoreError::Conflict`] when it has the dedup key of an item that is not done (use
    /// [`Store::open_or_bump_work_item`] for those).
    pub async fn create_work_item(&self, item: &NewWorkItem, links: &[NewWorkItemLink]) -> Result<WorkItem> {
        dispatch!(self, work_items::create_work_item(item, links))
    }

    /// The work item with that id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn work_item(&self, id: WorkItemId) -> Result<WorkItem> {
        dispatch!(self, work_items::work_item(id))
    }

    /// The work items `filter` selects, newest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_work_items(&self, filter: &WorkItemFilter) -> Result<Vec<WorkItem>> {
        dispatch!(self, work_items::list_work_items(filter))
    }

    /// Changes a work item's fields (`by` is who, for the outbox). Entering resolved or closed
    /// sets `resolved_at` and `resolution` (empty when none is given); reopening clears them.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Invalid`] for a blank title, text too long;
    /// [`StoreError::Conflict`] when reopening an item whose dedup key another open item has.
    pub async fn update_work_item(&self, id: WorkItemId, update: &WorkItemUpdate, by: &str) -> Result<WorkItem> {
        dispatch!(self, work_items::update_work_item(id, update, by))
    }

    /// Adds a comment to a work item.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Invalid`] for a blank text or author.
    pub async fn add_work_item_comment(&self, id: WorkItemId, author: &str, text: &str) -> Result<WorkItemComment> {
        dispatch!(self, work_items::add_work_item_comment(id, author, text))
    }

    /// Adds links to a work item, those it has already aside; returns how many were added
    /// (`by` is who, for the outbox, which hears of it only when one was).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Invalid`] for a bad target (runs, deployments
    /// and pipelines by positive id, commits by hexadecimal id, no spaces).
    pub async fn add_work_item_links(&self, id: WorkItemId, links: &[NewWorkItemLink], by: &str) -> Result<u64> {
        dispatch!(self, work_items::add_work_item_links(id, links, by))
    }

    /// A work item's links, oldest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn work_item_links(&self, id: WorkItemId) -> Result<Vec<WorkItemLink>> {
        dispatch!(self, work_items::work_item_links(id))
    }

    /// A work item's comments, oldest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn work_item_comments(&self, id: WorkItemId) -> Result<Vec<WorkItemComment>> {
        dispatch!(self, work_items::work_item_comments(id))
    }

    /// Opens a work item for something that failed, or bumps the open one about the same thing,
    /// in one transaction: when an item that is not done has `item.dedup_key`, its occurrences
    /// go up by one; else `item` is opened. Either way the comment (by `item.created_by`; none
    /// when blank) and the links are added. Returns the item and whether it was opened. Two
    /// callers racing on one key end with one item.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] when `item` has no dedup key, or as
    /// [`Store::create_work_item`].
    pub async fn open_or_bump_work_item(
        &self,
        item: &NewWorkItem,
        comment: &str,
        links: &[NewWorkItemLink],
    ) -> Result<(WorkItem, bool)> {
        dispatch!(self, work_items::open_or_bump_work_item(item, comment, links))
    }

    /// Resolves the work item that is not done with that dedup key, if there is one: its state
    /// becomes `resolved` with this resolution, which is also added as a comment by `by` (none
    /// when blank), and the links are added. Returns the item resolved.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a blank `by` or a bad link.
    pub async fn resolve_work_item_by_key(
        &self,
        dedup_key: &str,
        resolution: &str,
        by: &str,
        links: &[NewWorkItemLink],
    ) -> Result<Option<WorkItem>> {
        dispatch!(self, work_items::resolve_work_item_by_key(dedup_key, resolution, by, links))
    }

    /// Resolves a work item as [`Store::resolve_work_item_by_key`] does (a commit's `Fixes
    /// #123`); `None` when it is done already (then nothing changes, not even its links).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Invalid`] for a blank `by` or a bad link.
    pub async fn resolve_work_item(
        &self,
        id: WorkItemId,
        resolution: &str,
        by: &str,
        links: &[NewWorkItemLink],
    ) -> Result<Option<WorkItem>> {
        dispatch!(self, work_items::resolve_work_item(id, resolution, by, links))
    }

    /// The work items not done that are linked to this target, or are about it (a deployment's
    /// incident by its `deployment`, an environment's or pipeline's by theirs), oldest first. A
    /// commit link of 7 or more hexadecimal digits links every commit it is a prefix of.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn open_work_items_linked_to(&self, link: &NewWorkItemLink) -> Result<Vec<WorkItem>> {
        dispatch!(self, work_items::open_work_items_linked_to(link))
    }

    /// The work items in every state that are linked to this target, or are about it (as
    /// [`Store::open_work_items_linked_to`] finds them), oldest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn work_items_linked_to(&self, link: &NewWorkItemLink) -> Result<Vec<WorkItem>> {
        dispatch!(self, work_items::work_items_linked_to(link))
    }

    /// Pipeline `pipeline`'s rules for the work items its runs open: the defaults until someone
    /// sets them.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such pipeline.
    pub async fn work_item_rules(&self, pipeline: PipelineId) -> Result<StoredWorkItemRules> {
        dispatch!(self, work_items::work_item_rules(pipeline))
    }

    /// Sets pipeline `pipeline`'s work-item rules (`by` is who).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such pipeline; [`StoreError::Invalid`] for a
    /// blank or overlong branch pattern or assignee, or too many patterns.
    pub async fn set_work_item_rules(
        &self,
        pipeline: PipelineId,
        rules: &WorkItemRules,
        by: &str,
    ) -> Result<StoredWorkItemRules> {
        dispatch!(self, work_items::set_work_item_rules(pipeline, rules, by))
    }
}
