//! Rate limiting: DNSimple's headers on every authenticated response and
//! 429 once the hourly quota is used up.

use axum::http::StatusCode;
use serde_json::json;

use super::Harness;
use crate::rate::{RateLimiter, WINDOW_SECS};

#[tokio::test]
async fn fourth_request_with_a_limit_of_three_is_429() {
    let h = Harness::with(3, Vec::new());
    let mut reset = None;
    for remaining in [2, 1, 0] {
        let reply = h.call("GET", "/v2/whoami", None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header_u64("x-ratelimit-limit"), 3);
        assert_eq!(reply.header_u64("x-ratelimit-remaining"), remaining);
        let this_reset = reply.header_u64("x-ratelimit-reset");
        assert_eq!(*reset.get_or_insert(this_reset), this_reset);
    }
    let reply = h.call("GET", &h.path("/zones"), None).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.json, json!({ "message": "API rate limit exceeded" }));
    assert_eq!(reply.header_u64("x-ratelimit-limit"), 3);
    assert_eq!(reply.header_u64("x-ratelimit-remaining"), 0);
    assert_eq!(Some(reply.header_u64("x-ratelimit-reset")), reset);

    // Refused writes do nothing.
    let post = h
        .call(
            "POST",
            &h.path("/domains"),
            Some(json!({ "name": "limited.test" })),
        )
        .await;
    assert_eq!(post.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h.publish_count(), 0);

    // Another token has its own quota; failed authentication counts for
    // nobody.
    let (other, token) = h.other_account();
    let bad = h.call_as(Some("wrong"), "GET", "/v2/whoami", None).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let reply = h
        .call_as(Some(&token), "GET", &format!("/v2/{other}/zones"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_u64("x-ratelimit-remaining"), 2);
}

#[tokio::test]
async fn error_responses_carry_the_headers_too() {
    let h = Harness::with(10, Vec::new());
    let reply = h.call("GET", &h.path("/zones/nope.test"), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.header_u64("x-ratelimit-remaining"), 9);
    let bad = h
        .call("POST", &h.path("/domains"), Some(json!({ "nom": "x" })))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.header_u64("x-ratelimit-remaining"), 8);
}

#[test]
fn windows_are_fixed_and_reset_after_an_hour() {
    let limiter = RateLimiter::new(2);
    let t0 = 1_000_000;
    let first = limiter.check_at(7, t0);
    assert!(first.allowed);
    assert_eq!((first.remaining, first.reset), (1, t0 + WINDOW_SECS));
    assert!(limiter.check_at(7, t0 + 10).allowed);
    let refused = limiter.check_at(7, t0 + 20);
    assert!(!refused.allowed);
    assert_eq!((refused.remaining, refused.reset), (0, t0 + WINDOW_SECS));
    // Another token is counted apart.
    assert!(limiter.check_at(8, t0 + 20).allowed);
    // The next window starts with the first request after the old one ends.
    let later = limiter.check_at(7, t0 + WINDOW_SECS + 5);
    assert!(later.allowed);
    assert_eq!(
        (later.remaining, later.reset),
        (1, t0 + 2 * WINDOW_SECS + 5)
    );
}

#[test]
fn a_limit_of_zero_refuses_everything() {
    let limiter = RateLimiter::new(0);
    let quota = limiter.check_at(1, 5);
    assert!(!quota.allowed);
    assert_eq!(quota.remaining, 0);
}
