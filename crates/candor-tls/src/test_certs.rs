//! Test certificates made by the `openssl` command: a test CA and leaf
//! certificates for localhost and 127.0.0.1 signed by it. Shared by this
//! crate's tests and the `candor` binary's HTTPS integration tests
//! (feature `test-certs`); never part of a server build.

use std::path::Path;
use std::process::Command;

use crate::CertFiles;

/// Runs openssl with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `ca.pem` (a CA) in `dir` unless it exists, then `{name}.pem` and
/// `{name}.key`: a certificate for localhost and 127.0.0.1 signed by it.
pub fn issue(dir: &Path, name: &str) -> CertFiles {
    if !dir.join("ca.pem").exists() {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Candor test CA",
            ],
        );
    }
    let (csr, cert, key) = (
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.key"),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("write ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    CertFiles {
        cert: dir.join(cert),
        key: dir.join(key),
    }
}
