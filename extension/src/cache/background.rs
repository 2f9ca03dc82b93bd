//! Refreshes that outlive the request that started them: refresh-ahead of one key (a hit on an
//! ageing entry) and of several (a batch read's ageing entries). Both register in the cache's
//! in-flight map, so misses and forced refreshes of those keys join them instead of fetching
//! again, and both store nothing when they fail.

use super::renewal::Fetch;
use super::{CacheKey, Entry, Flight, ValueCache};
use crate::error::AppError;
use crate::model::Service;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

impl ValueCache {
    /// Starts one background refresh of `key` unless a fetch of it is already in flight (a
    /// miss, a forced refresh or another refresh-ahead). Misses arriving meanwhile join it.
    /// Success replaces the entry; failure leaves it as it was (nothing is cached, not even a
    /// not-found). A stall (Lambda froze the process mid-call) ends after `Renewal::give_up_after`.
    pub(super) fn refresh_ahead(
        self: &Arc<Self>,
        key: &CacheKey,
        due: &Arc<Entry>,
        ttl: Duration,
        fetch: &impl Fetch,
    ) {
        let flight = {
            let mut inflight = self.inflight.lock().expect("inflight lock");
            if inflight.contains_key(key) {
                return;
            }
            let Some(background) = fetch.background() else {
                return;
            };
            let flight = Flight::default();
            inflight.insert(key.clone(), flight.clone());
            (flight, background)
        };
        let (flight, background) = flight;
        self.stats.refreshes_ahead.incr();
        let (cache, key, due_at) = (self.clone(), key.clone(), due.fetched_at);
        tokio::spawn(async move {
            let result = flight
                .answer
                .get_or_init(|| async {
                    let Some(entries) = cache.entries.as_ref() else {
                        return background.await.map(Arc::new);
                    };
                    // Renewed between the hit and now: nothing left to do.
                    if let Some(newer) = entries.get(key.view()).filter(|e| e.fetched_at > due_at) {
                        return Ok(newer);
                    }
                    match tokio::time::timeout(cache.renewal.give_up_after, background).await {
                        Ok(Ok(entry)) => Ok(cache.store_flight(entries, &key, &flight, entry, ttl)),
                        Ok(Err(error)) => Err(error),
                        Err(_) => Err(background_timeout(key.service, cache.renewal.give_up_after)),
                    }
                })
                .await
                .clone();
            cache.land(&key, &flight);
            if let Err(error) = result {
                tracing::info!(service = ?key.service, name = %key.name, code = error.code(), "refresh-ahead failed; the cached value stays");
            }
        });
    }

    /// A batch read's refresh-ahead: one background fetch for several ageing keys. Keys with a
    /// fetch in flight are left out; `fetch` gets the positions (in `keys`) it must fetch and
    /// answers the entries it found, by position. Misses of those keys join the refresh, as
    /// with `refresh_ahead`; failure stores nothing.
    pub fn refresh_many_ahead<F, Fut>(
        self: &Arc<Self>,
        keys: Vec<CacheKey>,
        ttl: Duration,
        fetch: F,
    ) where
        F: FnOnce(Vec<usize>) -> Fut,
        Fut: Future<Output = Result<Vec<(usize, Entry)>, AppError>> + Send + 'static,
    {
        let Some(entries) = self.entries.clone() else {
            return;
        };
        let reserved: Vec<(usize, Flight)> = {
            let mut inflight = self.inflight.lock().expect("inflight lock");
            let mut reserved = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                if !inflight.contains_key(key) {
                    let flight = Flight::default();
                    inflight.insert(key.clone(), flight.clone());
                    reserved.push((i, flight));
                }
            }
            reserved
        };
        if reserved.is_empty() {
            return;
        }
        self.stats.refreshes_ahead.add(reserved.len() as u64);
        let background = fetch(reserved.iter().map(|(i, _)| *i).collect());
        let cache = self.clone();
        tokio::spawn(async move {
            // The batch's entries by position, or why it failed.
            type Answers = Result<HashMap<usize, Arc<Entry>>, AppError>;
            let (done, answers) = tokio::sync::watch::channel::<Option<Arc<Answers>>>(None);
            let service = keys[reserved[0].0].service;
            let batch = async {
                let fetched =
                    match tokio::time::timeout(cache.renewal.give_up_after, background).await {
                        Ok(result) => result,
                        Err(_) => Err(background_timeout(service, cache.renewal.give_up_after)),
                    };
                let answers: Answers = match fetched {
                    Ok(found) => {
                        let mut by_position = HashMap::new();
                        for (i, entry) in found {
                            let Some((_, flight)) = reserved.iter().find(|(at, _)| *at == i) else {
                                continue; // not asked for: the fetch answers reserved keys only
                            };
                            let stored = cache.store_flight(&entries, &keys[i], flight, entry, ttl);
                            by_position.insert(i, stored);
                        }
                        Ok(by_position)
                    }
                    Err(error) => {
                        tracing::info!(service = ?service, code = error.code(), "batch refresh-ahead failed; the cached values stay");
                        Err(error)
                    }
                };
                let _ = done.send(Some(Arc::new(answers)));
            };
            // Each key's flight resolves with the batch, so misses that joined it get its
            // answer: the batch's error when it failed (a joined read may then be served
            // stale), not found for a key a successful batch did not return.
            let flights = futures_util::future::join_all(reserved.iter().map(|(i, flight)| {
                let mut answers = answers.clone();
                let key = &keys[*i];
                flight.answer.get_or_init(move || async move {
                    let answers = answers
                        .wait_for(Option::is_some)
                        .await
                        .ok()
                        .and_then(|a| a.clone());
                    match answers.as_deref() {
                        Some(Ok(by_position)) => by_position.get(i).cloned().map(Ok),
                        Some(Err(error)) => Some(Err(error.clone())),
                        None => None,
                    }
                    .unwrap_or_else(|| {
                        Err(crate::error::classify(&crate::model::UpstreamError {
                            service: key.service,
                            kind: crate::model::UpstreamErrorKind::Service {
                                code: None,
                                status: 404,
                            },
                            message: "not returned by the batch refresh".to_owned(),
                        }))
                    })
                })
            }));
            tokio::join!(batch, flights);
            for (i, flight) in &reserved {
                cache.land(&keys[*i], flight);
            }
        });
    }
}

/// A background refresh that ran out of time: transient, so stale-if-error still applies.
fn background_timeout(service: Service, limit: Duration) -> AppError {
    crate::error::classify(&crate::model::UpstreamError {
        service,
        kind: crate::model::UpstreamErrorKind::Timeout,
        message: format!(
            "background refresh unfinished after {} s",
            limit.as_secs_f64()
        ),
    })
}
