//! Plain data that crosses the stages of the pipeline.
//!
//! ```text
//!  files ──load──▶ Vec<Object> ──inventory──▶ Inventory ──infer──▶ Topology
//!                  (Node trees                (typed workloads,     (services, edges
//!                   with lines)                services, maps)       with evidence)
//! ```
//!
//! Nothing here does I/O or printing.

pub mod finding;
pub mod gate;
pub mod inventory;
pub mod mesh;
pub mod metrics;
pub mod node;
pub mod object;
pub mod plan;
pub mod service_patch;
pub mod string_map;
pub mod topology;
pub mod traffic;
pub mod workload_patch;

pub use finding::*;
pub use gate::*;
pub use inventory::*;
pub use mesh::*;
pub use metrics::*;
pub use node::{shared, text, Node, Text, Value};
pub use object::{Object, Origin, SourceId, Sources};
pub use plan::*;
pub use service_patch::{PortDeclaration, ServicePatchSpec};
pub use string_map::StringMap;
pub use topology::*;
pub use traffic::*;
pub use workload_patch::WorkloadPatchSpec;
