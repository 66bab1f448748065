use super::*;

const SECRET: &[u8] = b"whsec_test";
const BODY: &[u8] = br#"{"event":"incident.created","id":42}"#;
const NOW: i64 = 1_700_000_000;

#[test]
fn known_answer() {
    // Obtained independently with:
    //   printf '%s' '1700000000.{"event":"incident.created","id":42}' \
    //     | openssl dgst -sha256 -hmac 'whsec_test'
    assert_eq!(
        sign(SECRET, NOW, BODY),
        "t=1700000000,v1=b90cd8ddb297589ed6cab2988ad033ba89b631e1af9b9a539c406a4620955e0b"
    );
}

#[test]
fn round_trip() {
    let header = sign(SECRET, NOW, BODY);
    assert_eq!(verify(SECRET, &header, BODY, NOW, 300), Ok(()));
    assert_eq!(verify(SECRET, &header, BODY, NOW + 300, 300), Ok(()));
    assert_eq!(verify(SECRET, &header, BODY, NOW - 300, 300), Ok(()));
    assert_eq!(verify(b"", &sign(b"", 0, b""), b"", 0, 0), Ok(()));
}

#[test]
fn rejects_wrong_secret_and_modified_body() {
    let header = sign(SECRET, NOW, BODY);
    assert_eq!(
        verify(b"whsec_other", &header, BODY, NOW, 300),
        Err(VerifyError::Mismatch)
    );
    let modified = br#"{"event":"incident.created","id":43}"#;
    assert_eq!(
        verify(SECRET, &header, modified, NOW, 300),
        Err(VerifyError::Mismatch)
    );
    // The timestamp is signed too: moving it breaks the signature.
    let moved = header.replace("t=1700000000", "t=1700000001");
    assert_eq!(
        verify(SECRET, &moved, BODY, NOW, 300),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn rejects_stale_and_future_timestamps() {
    let header = sign(SECRET, NOW, BODY);
    assert_eq!(
        verify(SECRET, &header, BODY, NOW + 301, 300),
        Err(VerifyError::Stale { age_secs: 301 })
    );
    assert_eq!(
        verify(SECRET, &header, BODY, NOW - 301, 300),
        Err(VerifyError::Stale { age_secs: -301 })
    );
    assert_eq!(
        VerifyError::Stale { age_secs: -301 }.to_string(),
        "signature timestamp is 301s in the future"
    );
}

#[test]
fn rejects_malformed_headers() {
    let good = sign(SECRET, NOW, BODY);
    let v1 = good
        .split_once(",v1=")
        .map(|(_, v1)| v1)
        .unwrap_or_default();
    for header in [
        "".to_owned(),
        "garbage".to_owned(),
        format!("t=17e8,v1={v1}"),
        format!("t=-1,v1={v1}"),
        format!("t=,v1={v1}"),
        format!("t={NOW},t={NOW},v1={v1}"),
        format!("t={NOW},v1=xyz"),
        format!("t={NOW},v1=abc"),
        format!("t={NOW},v1="),
        format!("t={NOW};v1={v1}"),
        format!("t=99999999999999999999,v1={v1}"),
    ] {
        assert_eq!(
            verify(SECRET, &header, BODY, NOW, 300),
            Err(VerifyError::Malformed),
            "{header}"
        );
    }
}

#[test]
fn rejects_missing_parts() {
    let good = sign(SECRET, NOW, BODY);
    let v1 = good
        .split_once(",v1=")
        .map(|(_, v1)| v1)
        .unwrap_or_default();
    assert_eq!(
        verify(SECRET, &format!("t={NOW}"), BODY, NOW, 300),
        Err(VerifyError::MissingSignature)
    );
    assert_eq!(
        verify(SECRET, &format!("t={NOW},v0={v1}"), BODY, NOW, 300),
        Err(VerifyError::MissingSignature)
    );
    assert_eq!(
        verify(SECRET, &format!("v1={v1}"), BODY, NOW, 300),
        Err(VerifyError::MissingTimestamp)
    );
}

#[test]
fn accepts_any_matching_v1_unknown_keys_and_spaces() {
    let good = sign(SECRET, NOW, BODY);
    let v1 = good
        .split_once(",v1=")
        .map(|(_, v1)| v1)
        .unwrap_or_default();
    let other = sign(b"old secret", NOW, BODY);
    let old_v1 = other
        .split_once(",v1=")
        .map(|(_, v1)| v1)
        .unwrap_or_default();
    let header = format!(
        "t={NOW}, v1={old_v1}, v2=whatever, v1={}",
        v1.to_uppercase()
    );
    assert_eq!(verify(SECRET, &header, BODY, NOW, 300), Ok(()));
    assert_eq!(verify(b"old secret", &header, BODY, NOW, 300), Ok(()));
    assert_eq!(
        verify(b"third", &header, BODY, NOW, 300),
        Err(VerifyError::Mismatch)
    );
}
