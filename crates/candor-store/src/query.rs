//! Listing helpers: page checks, `sort` parameters and `LIKE` patterns.

use crate::{FieldError, Page, StoreError};

/// Largest page size.
pub(crate) const MAX_PER_PAGE: u32 = 100;

/// A checked page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageSpec {
    /// The page, from 1.
    pub(crate) page: u32,
    /// Entries per page.
    pub(crate) per_page: u32,
}

impl PageSpec {
    /// Checks `page` (from 1) and `per_page` (1..=100).
    pub(crate) fn new(page: u32, per_page: u32) -> Result<PageSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        if page == 0 {
            errors.push(FieldError::new("page", "must be at least 1"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            errors.push(FieldError::new("per_page", "must be between 1 and 100"));
        }
        if errors.is_empty() {
            Ok(PageSpec { page, per_page })
        } else {
            Err(errors)
        }
    }

    /// The SQL `LIMIT` value.
    pub(crate) fn limit(self) -> i64 {
        i64::from(self.per_page)
    }

    /// The SQL `OFFSET` value.
    pub(crate) fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.per_page)
    }

    /// Wraps the entries of this page.
    pub(crate) fn wrap<T>(self, items: Vec<T>, total: u64) -> Page<T> {
        let pages = total.div_ceil(u64::from(self.per_page));
        Page {
            items,
            current_page: self.page,
            per_page: self.per_page,
            total_entries: total,
            total_pages: u32::try_from(pages).unwrap_or(u32::MAX),
        }
    }
}

/// Turns a `sort` parameter (`"name:asc,id:desc"`) into an `ORDER BY`
/// clause. `keys` maps each allowed key to its SQL column. The clause ends
/// with `id` so that pages are stable.
pub(crate) fn order_by(sort: Option<&str>, keys: &[(&str, &str)]) -> Result<String, StoreError> {
    let mut terms: Vec<String> = Vec::new();
    let mut has_id = false;
    for part in sort.unwrap_or("").split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let (key, dir) = part.split_once(':').unwrap_or((part, "asc"));
        let key = key.trim().to_ascii_lowercase();
        let dir = match dir.trim().to_ascii_lowercase().as_str() {
            "asc" => "ASC",
            "desc" => "DESC",
            _ => {
                return Err(StoreError::invalid(
                    "sort",
                    format!("has an invalid direction in \"{part}\" (use asc or desc)"),
                ));
            }
        };
        let Some(&(_, column)) = keys.iter().find(|(k, _)| *k == key) else {
            let allowed: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
            return Err(StoreError::invalid(
                "sort",
                format!("cannot sort by \"{key}\" (use {})", allowed.join(", ")),
            ));
        };
        has_id |= key == "id";
        terms.push(format!("{column} {dir}"));
    }
    if !has_id {
        terms.push("id ASC".to_owned());
    }
    Ok(format!("ORDER BY {}", terms.join(", ")))
}

/// A `LIKE ... ESCAPE '\'` pattern matching names that contain `text`.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests;
