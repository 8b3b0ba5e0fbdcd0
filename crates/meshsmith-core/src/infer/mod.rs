//! Inventory -> Topology. PLACEHOLDER on this branch only: returns an empty graph so that
//! the commands compile; the real inference replaces this file.

use crate::model::{Inventory, Topology};

pub fn infer(_inventory: &Inventory) -> Topology {
    Topology::default()
}
