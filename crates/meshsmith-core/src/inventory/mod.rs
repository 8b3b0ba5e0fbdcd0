//! Objects -> typed inventory.
