//! Tests of zone compilation.
