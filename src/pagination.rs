//! Cursor pagination: lists return `items` and `next_cursor`; pass the cursor back to continue.
//! Cursors are opaque (base64url of the sort key of the last item), so the order is stable even
//! while rows are added.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorKind, FieldError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The page size to use: the requested one (validated by the query type) or the default.
pub fn page_size(limit: Option<u32>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize
}

pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a cursor from the `cursor` query parameter.
pub fn decode_cursor<K: DeserializeOwned>(raw: Option<&str>) -> Result<Option<K>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(ErrorKind::InvalidParameter)
                .field(FieldError::new("cursor", "invalid_cursor"))
        })
}

/// Builds a page from rows fetched with `limit + 1`: the extra row only tells that more exist.
pub fn page_from<T, K: Serialize>(
    mut rows: Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> K,
) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|last| encode_cursor(&key(last)))
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(&("6306", 42i64));
        let back: Option<(String, i64)> = decode_cursor(Some(&c)).unwrap();
        assert_eq!(back, Some(("6306".to_string(), 42)));
        assert!(decode_cursor::<(String, i64)>(Some("!!")).is_err());
        assert!(decode_cursor::<(String, i64)>(None).unwrap().is_none());
    }

    #[test]
    fn pages_know_when_more_exist() {
        let page = page_from(vec![1, 2, 3], 2, |x| *x);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(
            decode_cursor::<i32>(page.next_cursor.as_deref()).unwrap(),
            Some(2)
        );
        let last = page_from(vec![1, 2], 2, |x| *x);
        assert!(last.next_cursor.is_none());
    }
}

/// A complete, bounded list (e.g. the districts of a province): no paging needed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList<T> {
    pub items: Vec<T>,
}

impl<T> From<Vec<T>> for ItemList<T> {
    fn from(items: Vec<T>) -> Self {
        ItemList { items }
    }
}
