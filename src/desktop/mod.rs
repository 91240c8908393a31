//! OS integrations behind core traits (being written).
