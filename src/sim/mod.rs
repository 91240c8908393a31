//! The loopback simulator (to be written).
