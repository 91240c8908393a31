//! The TOML config file (being written).
