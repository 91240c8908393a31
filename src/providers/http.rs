//! The shared HTTP layer (to be written).
