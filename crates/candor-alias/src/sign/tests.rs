//! Tests of the ALIAS signer.
