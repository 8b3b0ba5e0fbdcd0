//! meshsmith's pipeline: Kubernetes manifests in, a service graph and mesh configuration out.
//!
//! ```text
//!  load ──▶ inventory ──▶ infer ──▶ generate ──▶ check ──▶ plan
//!  (I/O)     (typed)      (graph)   (Istio)      (findings) (rollout)
//!  plan + metrics (load::traffic::read_metrics) ──▶ gate (proceed, hold, roll back)
//! ```
//!
//! Each stage is one function named after its module; stages never call each other.
//! Only `load` does I/O and returns `Result`; the others turn problems into notes or findings.
#![forbid(unsafe_code)]

pub mod check;
pub mod gate;
pub mod generate;
pub mod infer;
pub mod inventory;
pub mod load;
pub mod model;
pub mod plan;
pub mod policy;
pub mod pool;
pub mod redact;
