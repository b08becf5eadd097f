//! Confirmation of jobs with Stripe, for anything that certifies them (receipts): a job is
//! certified only as Stripe describes it in this run, never as a cache or a log file says.

use std::collections::BTreeMap;

use futures::{stream, StreamExt, TryStreamExt};

use crate::stripe::models::RedactionJob;
use crate::stripe::{Client, StripeError};

/// Retrieves each job in `ids` (duplicates once): `Some(job)` as Stripe has it now, `None`
/// when Stripe does not know it (404) — such a job must not be certified. Any other
/// failure is an error: an unconfirmed job is not a confirmed one.
pub async fn confirm_jobs(
    client: &Client,
    ids: impl IntoIterator<Item = String>,
    concurrency: usize,
) -> Result<BTreeMap<String, Option<RedactionJob>>, StripeError> {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    stream::iter(ids)
        .map(|id| async move {
            match client.retrieve_job(&id).await {
                Ok(sent) => Ok((id, Some(sent.value))),
                Err(e) if e.is_not_found() => Ok((id, None)),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}
