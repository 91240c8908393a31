//! The integration tests in one binary: each module was a `tests/*.rs` binary of its own, and linking sixteen of them cost more than running them on two cores.
//!
//! A module's tests are named `MODULE::test`, so `cargo test --test it keychain::`
//! runs one file's worth. Tests that need the private desktop session (D-Bus,
//! gnome-keyring, dunst, Xvfb) skip with a one-line reason outside `make test`
//! (see `support::session`). `tests/hardening_faults.rs` stays a binary of its
//! own: it counts its process's file descriptors, which other tests would disturb.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod config;
mod dashboard;
mod engine;
mod hardening_cli;
mod hardening_config;
mod hardening_inputs;
mod hardening_props;
mod hardening_secrets;
mod hardening_transport;
mod http_layer;
mod keychain;
mod notifications;
mod providers_http;
mod status;
mod watch;
mod wiring;
