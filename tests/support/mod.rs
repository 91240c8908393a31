//! Helpers shared by the integration test binaries (`tests/it`, `tests/hardening_faults.rs`): the private-session check, fixtures, simulator routes and temporary configs.

// Each binary uses its own subset of these helpers.
#![allow(dead_code)]
