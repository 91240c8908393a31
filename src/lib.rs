//! Overwatch: watch Railway, Plausible, Netlify and Sentry services from one tray icon.
//!
//! A map of the crate:
//! - [`model`]: workspaces, services, statuses, reasons, metrics, cards.
//! - [`config`]: the TOML file: parse, validate (with file:line:column), edit keeping comments.
//! - [`fsutil`]: the rules every file read or written obeys (regular files, a size cap, atomic writes, links only to readable regular files).
//! - [`secrets`]: key references, the never-printing `Secret`, the `SecretStore` trait.
//! - [`providers`]: one pure adapter per provider and the shared HTTP layer.
//! - [`engine`]: background polling, budgets, transitions and notifications.
//! - [`sim`]: a loopback server speaking the four providers' wire formats.
//! - [`text`]: untrusted text made safe per medium (terminal line, menu label, notification markup).
//! - [`view`]: what people see as plain data: card lines, the menu model and its diff, the icon, the status report.
//! - [`web`]: the dashboard page: a loopback-only server (launch token → cookie, Host/Origin/CSRF checks) streaming the grid and editing through the config's editor.
//! - [`desktop`]: OS integrations behind core traits (the keychain, desktop notifications), the tray and the tray process.
//! - [`wiring`]: the one place a config becomes the HTTP client, secret store, clock and network probe every consumer runs with.
//! - [`cli`]: the command line, one file per subcommand.

pub mod cli;
pub mod config;
pub mod desktop;
pub mod engine;
pub mod fsutil;
pub mod model;
pub mod providers;
pub mod secrets;
pub mod sim;
pub mod text;
pub mod view;
pub mod web;
pub mod wiring;
