use super::*;

/// The delay before jitter, for checking bounds.
fn unjittered(backoff: &Backoff, failures: u32) -> Duration {
    backoff
        .base
        .saturating_mul(2u32.saturating_pow(failures.max(1) - 1))
        .min(backoff.max)
}

#[test]
fn defaults() {
    let backoff = Backoff::default();
    assert_eq!(backoff.base, Duration::from_secs(2));
    assert_eq!(backoff.max, Duration::from_secs(3600));
    assert_eq!(backoff.disable_after, 10);
    assert_eq!(backoff.disable_span, Duration::from_secs(86_400));
}

#[test]
fn grows_and_caps_within_jitter_bounds() {
    let backoff = Backoff::default();
    let expected = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600];
    for (failures, secs) in (1..).zip(expected) {
        assert_eq!(unjittered(&backoff, failures), Duration::from_secs(secs));
        for seed in 0..200 {
            let delay = backoff.delay(failures, seed);
            let ceiling = Duration::from_secs(secs);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{failures} {seed}: {delay:?}"
            );
        }
    }
    // Huge counts and huge limits saturate instead of overflowing.
    for failures in [40, 64, 1000, u32::MAX] {
        assert!(backoff.delay(failures, 7) <= Duration::from_secs(3600));
        assert!(backoff.delay(failures, 7) >= Duration::from_secs(1800));
    }
    let unbounded = Backoff {
        base: Duration::from_secs(1),
        max: Duration::MAX,
        disable_after: 0,
        disable_span: Duration::ZERO,
    };
    assert!(unbounded.delay(u32::MAX, 1) >= Duration::from_secs(u64::from(u32::MAX / 2)));
    let huge = Backoff {
        base: Duration::MAX,
        max: Duration::MAX,
        disable_after: 0,
        disable_span: Duration::ZERO,
    };
    assert!(huge.delay(3, 1) >= Duration::MAX / 2);
    // Zero failures is treated as one.
    assert_eq!(backoff.delay(0, 5), backoff.delay(1, 5));
}

#[test]
fn jitter_is_deterministic_and_spread() {
    let backoff = Backoff::default();
    let seed = jitter_seed("delivery-1234");
    assert_eq!(backoff.delay(6, seed), backoff.delay(6, seed));
    assert_eq!(jitter_seed("delivery-1234"), seed);
    // FNV-1a's published test vectors.
    assert_eq!(jitter_seed(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(jitter_seed("a"), 0xaf63_dc4c_8601_ec8c);
    // Different seeds and different attempts land on different delays.
    let delays: std::collections::HashSet<Duration> =
        (0..100).map(|seed| backoff.delay(8, seed)).collect();
    assert!(delays.len() > 90, "only {} distinct delays", delays.len());
    let fractions: Vec<f64> = (1..=8)
        .map(|failures| {
            backoff.delay(failures, seed).as_secs_f64()
                / unjittered(&backoff, failures).as_secs_f64()
        })
        .collect();
    assert!(
        fractions
            .windows(2)
            .any(|pair| (pair[0] - pair[1]).abs() > 1e-6),
        "{fractions:?}"
    );
    // The jitter uses the whole range, not just one end of it.
    let ceiling = Duration::from_secs(256);
    let low = (0..1000)
        .filter(|&seed| backoff.delay(8, seed) < ceiling * 5 / 8)
        .count();
    let high = (0..1000)
        .filter(|&seed| backoff.delay(8, seed) > ceiling * 7 / 8)
        .count();
    assert!(low > 150 && high > 150, "low {low}, high {high}");
}

#[test]
fn should_disable() {
    let backoff = Backoff::default();
    let day = Duration::from_secs(86_400);
    assert!(!backoff.should_disable(0, Duration::ZERO));
    assert!(!backoff.should_disable(9, day));
    // Ten failures in a few seconds (a receiver restarting during a busy
    // incident) are not enough; failures for a day are.
    assert!(!backoff.should_disable(10, Duration::from_secs(13)));
    assert!(!backoff.should_disable(40, day - Duration::from_secs(1)));
    assert!(backoff.should_disable(10, day));
    assert!(backoff.should_disable(11, day * 2));
    let never = Backoff {
        disable_after: 0,
        disable_span: Duration::ZERO,
        ..Backoff::default()
    };
    assert!(!never.should_disable(u32::MAX, Duration::MAX));
}
