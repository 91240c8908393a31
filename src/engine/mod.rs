//! The background polling engine (being written).
