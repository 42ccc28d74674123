//! The course vocabulary in our own words (to be written).
