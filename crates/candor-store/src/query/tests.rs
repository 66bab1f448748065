//! Tests of the listing helpers.

use super::*;

const KEYS: &[(&str, &str)] = &[("id", "id"), ("name", "name")];

#[test]
fn sort_clauses() {
    assert_eq!(order_by(None, KEYS).unwrap(), "ORDER BY id ASC");
    assert_eq!(
        order_by(Some("name:desc"), KEYS).unwrap(),
        "ORDER BY name DESC, id ASC"
    );
    assert_eq!(
        order_by(Some("Name, id:DESC"), KEYS).unwrap(),
        "ORDER BY name ASC, id DESC"
    );
    assert_eq!(
        order_by(Some("content:asc"), KEYS).unwrap_err(),
        StoreError::invalid("sort", "cannot sort by \"content\" (use id, name)")
    );
    assert_eq!(
        order_by(Some("name:up"), KEYS).unwrap_err(),
        StoreError::invalid(
            "sort",
            "has an invalid direction in \"name:up\" (use asc or desc)"
        )
    );
}

#[test]
fn page_checks() {
    assert_eq!(
        PageSpec::new(0, 101).unwrap_err(),
        vec![
            FieldError::new("page", "must be at least 1"),
            FieldError::new("per_page", "must be between 1 and 100"),
        ]
    );
    let spec = PageSpec::new(3, 10).unwrap();
    assert_eq!((spec.limit(), spec.offset()), (10, 20));
    let page = spec.wrap(vec![1, 2], 22);
    assert_eq!((page.total_pages, page.total_entries), (3, 22));
    assert_eq!(
        PageSpec::new(1, 5)
            .unwrap()
            .wrap(Vec::<u8>::new(), 0)
            .total_pages,
        0
    );
}

#[test]
fn like_patterns_escape_wildcards() {
    assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
}
