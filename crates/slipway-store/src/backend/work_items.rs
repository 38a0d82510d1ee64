//! Work items and incidents: bugs, tasks and incidents, their links and comments.
//!
//! Every change to a work item records a change in the outbox ([`super::events::record_change`])
//! in its own transaction: `workItem.created`, `workItem.updated` (a repeat, a comment, a link,
//! a field) or `workItem.resolved` (entering resolved or closed).

use super::Db;
use super::common::{DbConnection, DbPools, from_json, read_row, require_name, to_json, to_u32};
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{
    ChangeKind, DeploymentId, NewWorkItem, NewWorkItemLink, PipelineId, StoredWorkItemRules, Timestamp, WorkItem,
    WorkItemComment, WorkItemFilter, WorkItemId, WorkItemKind, WorkItemLink, WorkItemLinkKind, WorkItemRules,
    WorkItemSeverity, WorkItemState, WorkItemStates, WorkItemUpdate,
};
use crate::store::Context;

/// The longest title, in bytes.
const MAX_TITLE: usize = 500;
/// The longest description, comment or resolution, in bytes.
const MAX_TEXT: usize = 65_536;
/// The longest user name, dedup key or link target, in bytes.
const MAX_NAME: usize = 512;

/// The columns of `work_items` read into a [`WorkItemRow`].
macro_rules! work_item_columns {
    () => {
        "id, kind, title, description, state, severity, assignee, created_by, created_at, updated_at, resolved_at, \
         resolution, dedup_key, occurrences, pipeline_id, environment, deployment_id"
    };
}

/// The same columns, each prefixed by `w.` (for joins).
macro_rules! work_item_columns_w {
    () => {
        "w.id, w.kind, w.title, w.description, w.state, w.severity, w.assignee, w.created_by, w.created_at, \
         w.updated_at, w.resolved_at, w.resolution, w.dedup_key, w.occurrences, w.pipeline_id, w.environment, \
         w.deployment_id"
    };
}

/// The condition of the partial unique index on `dedup_key` (the conflict target of a repeat).
macro_rules! open_key_condition {
    () => {
        "dedup_key IS NOT NULL AND state NOT IN ('resolved', 'closed')"
    };
}

#[derive(sqlx::FromRow)]
struct WorkItemRow {
    id: i64,
    kind: String,
    title: String,
    description: String,
    state: String,
    severity: Option<String>,
    assignee: Option<String>,
    created_by: String,
    created_at: i64,
    updated_at: i64,
    resolved_at: Option<i64>,
    resolution: Option<String>,
    dedup_key: Option<String>,
    occurrences: i64,
    pipeline_id: Option<i64>,
    environment: Option<String>,
    deployment_id: Option<i64>,
}

/// Reads a stored name as `T`, naming the column when it is not one.
fn stored<T>(column: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| StoreError::corrupt(format!("column {column}: '{text}'")))
}

impl WorkItemRow {
    fn into_work_item(self) -> Result<WorkItem> {
        Ok(WorkItem {
            id: WorkItemId(self.id),
            kind: stored("work_items.kind", &self.kind, WorkItemKind::parse)?,
            title: self.title,
            description: self.description,
            state: stored("work_items.state", &self.state, WorkItemState::parse)?,
            severity: self
                .severity
                .map(|severity| stored("work_items.severity", &severity, WorkItemSeverity::parse))
                .transpose()?,
            assignee: self.assignee,
            created_by: self.created_by,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            resolved_at: self.resolved_at.map(Timestamp),
            resolution: self.resolution,
            dedup_key: self.dedup_key,
            occurrences: to_u32("work_items.occurrences", Some(self.occurrences))?.unwrap_or(1),
            pipeline: self.pipeline_id.map(PipelineId),
            environment: self.environment,
            deployment: self.deployment_id.map(DeploymentId),
        })
    }
}

fn read_item(row: &super::common::DbRow) -> Result<WorkItem> {
    read_row::<WorkItemRow>(row)?.into_work_item()
}

// ----- checks of what callers pass -----

/// Refuses text longer than `max` bytes or holding control characters other than line breaks
/// and tabs (`multiline`) or any (`!multiline`).
fn check_text(what: &'static str, text: &str, max: usize, multiline: bool) -> Result<()> {
    if text.len() > max {
        return Err(StoreError::invalid(what, format!("it is longer than {max} bytes")));
    }
    let allowed = |character: char| multiline && matches!(character, '\n' | '\r' | '\t');
    if text.chars().any(|character| character.is_control() && !allowed(character)) {
        return Err(StoreError::invalid(what, "it holds a control character"));
    }
    Ok(())
}

fn check_title(title: &str) -> Result<()> {
    require_name("work item title", title)?;
    check_text("work item title", title, MAX_TITLE, false)
}

fn check_name(what: &'static str, name: &str) -> Result<()> {
    require_name(what, name)?;
    check_text(what, name, MAX_NAME, false)
}

fn check_new(item: &NewWorkItem) -> Result<()> {
    check_title(&item.title)?;
    check_text("work item description", &item.description, MAX_TEXT, true)?;
    check_name("work item creator", &item.created_by)?;
    if let Some(assignee) = &item.assignee {
        check_name("work item assignee", assignee)?;
    }
    if let Some(key) = &item.dedup_key {
        check_name("work item dedup key", key)?;
    }
    if let Some(environment) = &item.environment {
        check_name("work item environment", environment)?;
    }
    Ok(())
}

fn check_comment(author: &str, text: &str) -> Result<()> {
    check_name("comment author", author)?;
    require_name("comment text", text)?;
    check_text("comment text", text, MAX_TEXT, true)
}

fn check_link(link: &NewWorkItemLink) -> Result<()> {
    check_name("link target", &link.target)?;
    if link.target.chars().any(char::is_whitespace) {
        return Err(StoreError::invalid("link target", "it holds a space"));
    }
    match link.kind {
        WorkItemLinkKind::Run | WorkItemLinkKind::Deployment | WorkItemLinkKind::Pipeline => {
            if link.target.parse::<i64>().map_or(true, |id| id <= 0) {
                return Err(StoreError::invalid("link target", format!("a {} link needs a positive id", link.kind)));
            }
        }
        WorkItemLinkKind::Commit => {
            if link.target.len() < 4 || !link.target.chars().all(|character| character.is_ascii_hexdigit()) {
                return Err(StoreError::invalid("link target", "a commit link needs a hexadecimal commit id"));
            }
        }
        WorkItemLinkKind::Environment => {}
    }
    Ok(())
}

// ----- helpers in a transaction -----

async fn item_in(connection: &mut DbConnection, id: WorkItemId) -> Result<WorkItem> {
    let row = sqlx::query(concat!("SELECT ", work_item_columns!(), " FROM work_items WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(&mut *connection)
        .await?
        .ok_or_else(|| StoreError::not_found("work item", id.0))?;
    read_item(&row)
}

async fn insert_comment(
    connection: &mut DbConnection,
    id: WorkItemId,
    at: i64,
    author: &str,
    text: &str,
) -> Result<WorkItemComment> {
    let comment_id: i64 = sqlx::query_scalar(
        "INSERT INTO work_item_comments (work_item_id, at, author, text) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(id.0)
    .bind(at)
    .bind(author)
    .bind(text)
    .fetch_one(&mut *connection)
    .await?;
    Ok(WorkItemComment {
        id: comment_id,
        work_item: id,
        at: Timestamp(at),
        author: author.to_owned(),
        text: text.to_owned(),
    })
}

/// Adds the links the item does not have yet; returns how many were added.
async fn insert_links(
    connection: &mut DbConnection,
    id: WorkItemId,
    at: i64,
    links: &[NewWorkItemLink],
) -> Result<u64> {
    let mut added = 0;
    for link in links {
        added += sqlx::query(
            "INSERT INTO work_item_links (work_item_id, kind, target, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (work_item_id, kind, target) DO NOTHING",
        )
        .bind(id.0)
        .bind(link.kind.as_str())
        .bind(&link.target)
        .bind(at)
        .execute(&mut *connection)
        .await?
        .rows_affected();
    }
    Ok(added)
}

async fn touch(connection: &mut DbConnection, id: WorkItemId, at: i64) -> Result<()> {
    sqlx::query("UPDATE work_items SET updated_at = $2 WHERE id = $1")
        .bind(id.0)
        .bind(at)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

async fn record(
    connection: &mut DbConnection,
    kind: ChangeKind,
    item: &WorkItem,
    details: serde_json::Value,
) -> Result<()> {
    let mut details = details;
    if let Some(object) = details.as_object_mut() {
        object.insert("kind".into(), item.kind.as_str().into());
        object.insert("state".into(), item.state.as_str().into());
    }
    super::events::record_change(connection, kind, item.id.0, item.updated_at, &details).await
}

// ----- operations -----

/// Implements [`crate::Store::create_work_item`].
pub(crate) async fn create_work_item(
    pools: &DbPools,
    context: &Context,
    item: &NewWorkItem,
    links: &[NewWorkItemLink],
) -> Result<WorkItem> {
    check_new(item)?;
    links.iter().try_for_each(check_link)?;
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    let row = bind_new(
        sqlx::query(concat!(
            "INSERT INTO work_items (kind, title, description, state, severity, assignee, created_by, created_at, \
         updated_at, dedup_key, occurrences, pipeline_id, environment, deployment_id) \
         VALUES ($1, $2, $3, 'new', $4, $5, $6, $7, $7, $8, 1, $9, $10, $11) RETURNING ",
            work_item_columns!()
        )),
        item,
        now,
    )
    .fetch_one(&mut *transaction)
    .await
    .map_err(conflict_or("open work item with dedup key", item.dedup_key.as_deref().unwrap_or_default()))?;
    let created = read_item(&row)?;
    insert_links(&mut transaction, created.id, now, links).await?;
    record(&mut transaction, ChangeKind::WorkItemCreated, &created, serde_json::json!({ "by": item.created_by }))
        .await?;
    transaction.commit().await?;
    Ok(created)
}

/// Implements [`crate::Store::work_item`].
pub(crate) async fn work_item(pools: &DbPools, _context: &Context, id: WorkItemId) -> Result<WorkItem> {
    let mut connection = pools.reader.acquire().await?;
    item_in(&mut connection, id).await
}

/// Implements [`crate::Store::list_work_items`].
pub(crate) async fn list_work_items(
    pools: &DbPools,
    _context: &Context,
    filter: &WorkItemFilter,
) -> Result<Vec<WorkItem>> {
    let (state, open, done) = match filter.states {
        None => (None, false, false),
        Some(WorkItemStates::Is(state)) => (Some(state.as_str()), false, false),
        Some(WorkItemStates::Open) => (None, true, false),
        Some(WorkItemStates::Done) => (None, false, true),
    };
    sqlx::query(concat!(
        "SELECT ",
        work_item_columns!(),
        " FROM work_items WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR state = $2) \
         AND ($3 = FALSE OR state NOT IN ('resolved', 'closed')) AND ($4 = FALSE OR state IN ('resolved', 'closed')) \
         AND ($5 IS NULL OR assignee = $5) AND ($6 IS NULL OR LOWER(environment) = LOWER($6)) \
         AND ($7 IS NULL OR pipeline_id = $7) AND ($8 IS NULL OR id < $8) ORDER BY id DESC LIMIT $9"
    ))
    .bind(filter.kind.map(WorkItemKind::as_str))
    .bind(state)
    .bind(open)
    .bind(done)
    .bind(filter.assignee.as_deref().map(str::trim))
    .bind(filter.environment.as_deref().map(str::trim))
    .bind(filter.pipeline.map(|pipeline| pipeline.0))
    .bind(filter.before.map(|before| before.0))
    .bind(filter.limit.clamp(1, 500))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_item)
    .collect()
}

/// Implements [`crate::Store::update_work_item`].
pub(crate) async fn update_work_item(
    pools: &DbPools,
    context: &Context,
    id: WorkItemId,
    update: &WorkItemUpdate,
    by: &str,
) -> Result<WorkItem> {
    if let Some(title) = &update.title {
        check_title(title)?;
    }
    if let Some(description) = &update.description {
        check_text("work item description", description, MAX_TEXT, true)?;
    }
    if let Some(Some(assignee)) = &update.assignee {
        check_name("work item assignee", assignee)?;
    }
    if let Some(resolution) = &update.resolution {
        check_text("work item resolution", resolution, MAX_TEXT, true)?;
    }
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    let before = item_in(&mut transaction, id).await?;
    let state = update.state.unwrap_or(before.state);
    let (resolved_at, resolution) = if !state.is_done() {
        (None, None)
    } else if before.state.is_done() {
        (before.resolved_at.map(|at| at.0), update.resolution.clone().or(before.resolution.clone()))
    } else {
        (Some(now), Some(update.resolution.clone().unwrap_or_default()))
    };
    let assignee = match &update.assignee {
        Some(assignee) => assignee.as_deref().map(str::trim).map(str::to_owned),
        None => before.assignee.clone(),
    };
    let severity = update.severity.unwrap_or(before.severity);
    let row = sqlx::query(concat!(
        "UPDATE work_items SET state = $2, assignee = $3, title = $4, description = $5, severity = $6, \
         resolved_at = $7, resolution = $8, updated_at = $9 WHERE id = $1 RETURNING ",
        work_item_columns!()
    ))
    .bind(id.0)
    .bind(state.as_str())
    .bind(assignee)
    .bind(update.title.as_deref().map_or(before.title.as_str(), str::trim))
    .bind(update.description.as_deref().unwrap_or(&before.description))
    .bind(severity.map(WorkItemSeverity::as_str))
    .bind(resolved_at)
    .bind(resolution)
    .bind(now)
    .fetch_one(&mut *transaction)
    .await
    .map_err(conflict_or("open work item with dedup key", before.dedup_key.as_deref().unwrap_or_default()))?;
    let after = read_item(&row)?;
    let kind = if after.state.is_done() && !before.state.is_done() {
        ChangeKind::WorkItemResolved
    } else {
        ChangeKind::WorkItemUpdated
    };
    let details = serde_json::json!({ "by": by, "from": before.state.as_str() });
    record(&mut transaction, kind, &after, details).await?;
    transaction.commit().await?;
    Ok(after)
}

/// Implements [`crate::Store::add_work_item_comment`].
pub(crate) async fn add_work_item_comment(
    pools: &DbPools,
    context: &Context,
    id: WorkItemId,
    author: &str,
    text: &str,
) -> Result<WorkItemComment> {
    check_comment(author, text)?;
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    item_in(&mut transaction, id).await?;
    let comment = insert_comment(&mut transaction, id, now, author.trim(), text).await?;
    touch(&mut transaction, id, now).await?;
    let item = item_in(&mut transaction, id).await?;
    record(
        &mut transaction,
        ChangeKind::WorkItemUpdated,
        &item,
        serde_json::json!({ "by": author, "comment": comment.id }),
    )
    .await?;
    transaction.commit().await?;
    Ok(comment)
}

/// Implements [`crate::Store::add_work_item_links`].
pub(crate) async fn add_work_item_links(
    pools: &DbPools,
    context: &Context,
    id: WorkItemId,
    links: &[NewWorkItemLink],
    by: &str,
) -> Result<u64> {
    links.iter().try_for_each(check_link)?;
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    // Read first: a missing item is "not found" on both databases, whatever their foreign keys.
    item_in(&mut transaction, id).await?;
    let added = insert_links(&mut transaction, id, now, links).await?;
    if added > 0 {
        touch(&mut transaction, id, now).await?;
        let item = item_in(&mut transaction, id).await?;
        record(&mut transaction, ChangeKind::WorkItemUpdated, &item, serde_json::json!({ "by": by, "links": added }))
            .await?;
    }
    transaction.commit().await?;
    Ok(added)
}

/// Implements [`crate::Store::work_item_links`].
pub(crate) async fn work_item_links(pools: &DbPools, _context: &Context, id: WorkItemId) -> Result<Vec<WorkItemLink>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, target, created_at FROM work_item_links WHERE work_item_id = $1 ORDER BY created_at, kind, target",
    )
    .bind(id.0)
    .fetch_all(&pools.reader)
    .await?;
    rows.into_iter()
        .map(|(kind, target, created_at)| {
            Ok(WorkItemLink {
                kind: stored("work_item_links.kind", &kind, WorkItemLinkKind::parse)?,
                target,
                created_at: Timestamp(created_at),
            })
        })
        .collect()
}

/// Implements [`crate::Store::work_item_comments`].
pub(crate) async fn work_item_comments(
    pools: &DbPools,
    _context: &Context,
    id: WorkItemId,
) -> Result<Vec<WorkItemComment>> {
    let rows: Vec<(i64, i64, String, String)> =
        sqlx::query_as("SELECT id, at, author, text FROM work_item_comments WHERE work_item_id = $1 ORDER BY id")
            .bind(id.0)
            .fetch_all(&pools.reader)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(comment, at, author, text)| WorkItemComment {
            id: comment,
            work_item: id,
            at: Timestamp(at),
            author,
            text,
        })
        .collect())
}

/// Implements [`crate::Store::open_or_bump_work_item`].
pub(crate) async fn open_or_bump_work_item(
    pools: &DbPools,
    context: &Context,
    item: &NewWorkItem,
    comment: &str,
    links: &[NewWorkItemLink],
) -> Result<(WorkItem, bool)> {
    check_new(item)?;
    if item.dedup_key.is_none() {
        return Err(StoreError::invalid("work item dedup key", "an item opened or bumped by its key needs one"));
    }
    if !comment.trim().is_empty() {
        check_comment(&item.created_by, comment)?;
    }
    links.iter().try_for_each(check_link)?;
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    // One statement: the partial unique index decides, so two writers racing on one key (on
    // PostgreSQL) end with one item bumped twice, never two items.
    let row = bind_new(
        sqlx::query(concat!(
            "INSERT INTO work_items (kind, title, description, state, severity, assignee, created_by, created_at, \
         updated_at, dedup_key, occurrences, pipeline_id, environment, deployment_id) \
         VALUES ($1, $2, $3, 'new', $4, $5, $6, $7, $7, $8, 1, $9, $10, $11) \
         ON CONFLICT (dedup_key) WHERE ",
            open_key_condition!(),
            " DO UPDATE SET occurrences = work_items.occurrences + 1, updated_at = excluded.updated_at RETURNING ",
            work_item_columns!()
        )),
        item,
        now,
    )
    .fetch_one(&mut *transaction)
    .await?;
    let stored_item = read_item(&row)?;
    // A new row starts at 1; a bumped one is at least 2.
    let created = stored_item.occurrences == 1;
    if !comment.trim().is_empty() {
        insert_comment(&mut transaction, stored_item.id, now, item.created_by.trim(), comment).await?;
    }
    insert_links(&mut transaction, stored_item.id, now, links).await?;
    let (kind, details) = if created {
        (ChangeKind::WorkItemCreated, serde_json::json!({ "by": item.created_by, "key": item.dedup_key }))
    } else {
        (
            ChangeKind::WorkItemUpdated,
            serde_json::json!({ "by": item.created_by, "occurrences": stored_item.occurrences }),
        )
    };
    record(&mut transaction, kind, &stored_item, details).await?;
    transaction.commit().await?;
    Ok((stored_item, created))
}

/// Resolves an item that is not done, in a transaction: sets its state, `resolved_at` and
/// `resolution`, adds a comment and links, and records the change.
async fn resolve_in(
    connection: &mut DbConnection,
    id: WorkItemId,
    now: i64,
    resolution: &str,
    by: &str,
    links: &[NewWorkItemLink],
) -> Result<Option<WorkItem>> {
    let row = sqlx::query(concat!(
        "UPDATE work_items SET state = 'resolved', resolved_at = $2, resolution = $3, updated_at = $2 \
         WHERE id = $1 AND state NOT IN ('resolved', 'closed') RETURNING ",
        work_item_columns!()
    ))
    .bind(id.0)
    .bind(now)
    .bind(resolution)
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let item = read_item(&row)?;
    if !resolution.trim().is_empty() {
        insert_comment(connection, id, now, by.trim(), resolution).await?;
    }
    insert_links(connection, id, now, links).await?;
    record(connection, ChangeKind::WorkItemResolved, &item, serde_json::json!({ "by": by })).await?;
    Ok(Some(item))
}

fn check_resolution(resolution: &str, by: &str, links: &[NewWorkItemLink]) -> Result<()> {
    check_name("resolver", by)?;
    check_text("work item resolution", resolution, MAX_TEXT, true)?;
    links.iter().try_for_each(check_link)
}

/// Implements [`crate::Store::resolve_work_item_by_key`].
pub(crate) async fn resolve_work_item_by_key(
    pools: &DbPools,
    context: &Context,
    dedup_key: &str,
    resolution: &str,
    by: &str,
    links: &[NewWorkItemLink],
) -> Result<Option<WorkItem>> {
    check_resolution(resolution, by, links)?;
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    let id: Option<i64> =
        sqlx::query_scalar(concat!("SELECT id FROM work_items WHERE dedup_key = $1 AND ", open_key_condition!()))
            .bind(dedup_key)
            .fetch_optional(&mut *transaction)
            .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let resolved = resolve_in(&mut transaction, WorkItemId(id), now, resolution, by, links).await?;
    transaction.commit().await?;
    Ok(resolved)
}

/// Implements [`crate::Store::resolve_work_item`].
pub(crate) async fn resolve_work_item(
    pools: &DbPools,
    context: &Context,
    id: WorkItemId,
    resolution: &str,
    by: &str,
    links: &[NewWorkItemLink],
) -> Result<Option<WorkItem>> {
    check_resolution(resolution, by, links)?;
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    item_in(&mut transaction, id).await?;
    let resolved = resolve_in(&mut transaction, id, now, resolution, by, links).await?;
    transaction.commit().await?;
    Ok(resolved)
}

/// Implements [`crate::Store::open_work_items_linked_to`].
pub(crate) async fn open_work_items_linked_to(
    pools: &DbPools,
    context: &Context,
    link: &NewWorkItemLink,
) -> Result<Vec<WorkItem>> {
    linked_to(pools, context, link, true).await
}

/// Implements [`crate::Store::work_items_linked_to`].
pub(crate) async fn work_items_linked_to(
    pools: &DbPools,
    context: &Context,
    link: &NewWorkItemLink,
) -> Result<Vec<WorkItem>> {
    linked_to(pools, context, link, false).await
}

/// The work items linked to (or about) `link`'s target: only those not done when `open`. A
/// commit link of 7 or more digits names every commit it is a prefix of.
async fn linked_to(pools: &DbPools, _context: &Context, link: &NewWorkItemLink, open: bool) -> Result<Vec<WorkItem>> {
    // Besides links, the columns an item is about: its deployment, environment and pipeline.
    let column = match link.kind {
        WorkItemLinkKind::Deployment => "CAST(w.deployment_id AS TEXT) = $2",
        WorkItemLinkKind::Pipeline => "CAST(w.pipeline_id AS TEXT) = $2",
        WorkItemLinkKind::Environment => "LOWER(w.environment) = LOWER($2)",
        WorkItemLinkKind::Run | WorkItemLinkKind::Commit => "FALSE",
    };
    let sql = format!(
        "SELECT {} FROM work_items w WHERE {} ({column} OR EXISTS \
         (SELECT 1 FROM work_item_links l WHERE l.work_item_id = w.id AND l.kind = $1 AND (l.target = $2 OR \
         (l.kind = 'commit' AND LENGTH(l.target) >= 7 AND LOWER($2) LIKE (LOWER(l.target) || '%'))))) \
         ORDER BY w.id",
        work_item_columns_w!(),
        if open { "w.state NOT IN ('resolved', 'closed') AND" } else { "" }
    );
    sqlx::query(&sql)
        .bind(link.kind.as_str())
        .bind(&link.target)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_item)
        .collect()
}

/// Binds a new item's values to an `INSERT INTO work_items` whose `$1` to `$11` are kind, title,
/// description, severity, assignee, created_by, the time (created and updated), dedup key,
/// pipeline, environment and deployment.
fn bind_new<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    item: &'q NewWorkItem,
    now: i64,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
    query
        .bind(item.kind.as_str())
        .bind(item.title.trim())
        .bind(&item.description)
        .bind(item.severity.map(WorkItemSeverity::as_str))
        .bind(item.assignee.as_deref().map(str::trim))
        .bind(item.created_by.trim())
        .bind(now)
        .bind(item.dedup_key.as_deref())
        .bind(item.pipeline.map(|pipeline| pipeline.0))
        .bind(item.environment.as_deref().map(str::trim))
        .bind(item.deployment.map(|deployment| deployment.0))
}

/// The most protected-branch patterns a pipeline's rules hold.
const MAX_BRANCH_PATTERNS: usize = 50;

/// Implements [`crate::Store::work_item_rules`].
pub(crate) async fn work_item_rules(
    pools: &DbPools,
    _context: &Context,
    pipeline: PipelineId,
) -> Result<StoredWorkItemRules> {
    let mut connection = pools.reader.acquire().await?;
    super::pipelines::require_pipeline(&mut connection, pipeline).await?;
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT rules, updated_by, updated_at FROM pipeline_work_item_rules WHERE pipeline_id = $1")
            .bind(pipeline.0)
            .fetch_optional(&mut *connection)
            .await?;
    Ok(match row {
        None => StoredWorkItemRules { rules: WorkItemRules::default(), updated: None },
        Some((rules, by, at)) => StoredWorkItemRules {
            rules: from_json("pipeline_work_item_rules.rules", &rules)?,
            updated: Some((by, Timestamp::from_millis(at))),
        },
    })
}

/// Implements [`crate::Store::set_work_item_rules`].
pub(crate) async fn set_work_item_rules(
    pools: &DbPools,
    context: &Context,
    pipeline: PipelineId,
    rules: &WorkItemRules,
    by: &str,
) -> Result<StoredWorkItemRules> {
    require_name("user", by)?;
    if rules.branches.len() > MAX_BRANCH_PATTERNS {
        return Err(StoreError::invalid(
            "protected branches",
            format!("there are {}, more than the {MAX_BRANCH_PATTERNS} allowed", rules.branches.len()),
        ));
    }
    for pattern in &rules.branches {
        if pattern.trim().is_empty() {
            return Err(StoreError::invalid("protected branch", "it is blank"));
        }
        check_text("protected branch", pattern, MAX_NAME, false)?;
    }
    if let Some(assignee) = &rules.assignee {
        require_name("assignee", assignee)?;
        check_text("assignee", assignee, MAX_NAME, false)?;
    }
    let text = to_json("work item rules", rules)?;
    let now = context.now().millis();
    let mut connection = pools.writer.acquire().await?;
    super::pipelines::require_pipeline(&mut connection, pipeline).await?;
    sqlx::query(
        "INSERT INTO pipeline_work_item_rules (pipeline_id, rules, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (pipeline_id) DO UPDATE SET rules = $2, updated_by = $3, updated_at = $4",
    )
    .bind(pipeline.0)
    .bind(&text)
    .bind(by)
    .bind(now)
    .execute(&mut *connection)
    .await?;
    Ok(StoredWorkItemRules { rules: rules.clone(), updated: Some((by.to_owned(), Timestamp::from_millis(now))) })
}
