//! Synthetic Q/K/V with planted attention structure (being written).
