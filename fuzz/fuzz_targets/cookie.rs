//! Fuzzes the DNS cookie rules (`candor_guard::CookieSecrets`) with
//! arbitrary client cookies, server cookies, addresses, times and secrets,
//! and the secret file parser with arbitrary text. Nothing may panic; a
//! reply is always a fresh or the received cookie; a cookie made by
//! `fresh` is valid for its client cookie and address from its time to an
//! hour later (through one rollover, too), and for no other address; a
//! valid cookie comes back as it came for half an hour, then renewed.
#![no_main]

use std::net::IpAddr;

use candor_guard::{CookieCheck, CookieSecrets};
use libfuzzer_sys::fuzz_target;

/// Reads fixed-size pieces, zeros when exhausted.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CookieSecrets::parse(text);
    }
    let mut b = Bytes(data);
    let secrets = CookieSecrets::new(b.take::<16>(), Some(b.take::<16>()));
    let client: [u8; 8] = b.take();
    let [family, skew_lo, skew_hi, server_len] = b.take::<4>();
    let addr: IpAddr = if family & 1 == 0 {
        IpAddr::from(b.take::<4>())
    } else {
        IpAddr::from(b.take::<16>())
    };
    let now = u32::from_le_bytes(b.take::<4>());
    // An arbitrary server cookie: any length, any bytes.
    let server = &b.0[..usize::from(server_len).min(b.0.len())];
    let (check, reply) = secrets.reply(&client, server, addr, now);
    assert!(check != CookieCheck::Absent);
    if reply[..] != *server {
        assert_eq!(reply, secrets.fresh(&client, addr, now), "a reply is fresh or the one sent");
    }
    // A fresh cookie, checked some seconds later (up to 65,535).
    let made = secrets.fresh(&client, addr, now);
    let later = u16::from_le_bytes([skew_lo, skew_hi]);
    let at = now.wrapping_add(u32::from(later));
    let (check, reply) = secrets.reply(&client, &made, addr, at);
    let expected = if later <= 3600 { CookieCheck::Valid } else { CookieCheck::Invalid };
    assert_eq!(check, expected, "{later} s later");
    if later <= 1800 {
        assert_eq!(reply, made, "young cookies come back as they came");
    } else {
        assert_eq!(reply, secrets.fresh(&client, addr, at), "older ones are renewed");
    }
    // After a rollover the previous secret still verifies it.
    let rolled = secrets.rotate(b.take::<16>());
    let (check, _) = rolled.reply(&client, &made, addr, at);
    assert_eq!(check, expected, "after a rollover, {later} s later");
    // Bound to the address: another one does not verify it.
    let other = match addr {
        IpAddr::V4(a) => IpAddr::from((u32::from(a) ^ 1).to_be_bytes()),
        IpAddr::V6(a) => IpAddr::from((u128::from(a) ^ 1).to_be_bytes()),
    };
    assert_eq!(secrets.reply(&client, &made, other, now).0, CookieCheck::Invalid);
});
