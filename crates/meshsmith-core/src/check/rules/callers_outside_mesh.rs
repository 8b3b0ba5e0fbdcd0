//! Rule MS213 `callers-outside-mesh`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS213`, the SARIF rule metadata and the generated docs
//! read it.

use crate::check::callers::service_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports services that the traffic (`--traffic`) shows receiving requests from outside
    /// the mesh: no mesh identity (`source_workload="unknown"`, plain text with no peer
    /// certificate), per service, with the count.
    ///
    /// ## Why it matters
    /// Once a service is STRICT and its AuthorizationPolicy names its callers by identity,
    /// these requests are refused. Probes by the kubelet are rewritten by Istio and are not
    /// affected; anything else from outside must come through an ingress gateway or be a
    /// declared exception.
    ///
    /// ## Example
    /// ```text
    /// istio_requests_total{source_workload="unknown",destination_service_name="web",...} 40
    /// ```
    ///
    /// ## Fix
    /// Route the outside callers through the ingress gateway, mesh them, or declare the
    /// service a webhook receiver (PERMISSIVE, with the reason) in the policy file.
    pub struct CallersOutsideMesh {
        code: "MS213",
        name: "callers-outside-mesh",
        severity: Info,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(traffic) = &ctx.topology.traffic else {
        return;
    };
    for o in &traffic.outside {
        out.push(CallersOutsideMesh::META.finding(
            service_label(ctx, &o.service),
            Some(o.origin.clone()),
            format!(
                "{} received {} request(s) from outside the mesh (no identity)",
                o.service, o.requests
            ),
            "route them through the ingress gateway, mesh the caller, or declare an exception with its reason",
        ));
    }
}
