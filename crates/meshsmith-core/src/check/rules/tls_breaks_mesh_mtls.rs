//! Rule MS308 `tls-breaks-mesh-mtls`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS308`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{resolve_host, resource_label, service_in_mesh, HostRef};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::{Finding, Node};

declare_rule! {
    /// ## What it does
    /// Reports DestinationRules for an in-mesh Service (one that selects sidecar-injected
    /// workloads) that set `tls.mode` to `DISABLE`, `SIMPLE` or `MUTUAL`, at the top, per
    /// port or per subset.
    ///
    /// ## Why it matters
    /// With auto mTLS, sidecars already speak Istio mutual TLS to each other. `DISABLE` sends
    /// plaintext, which a STRICT server closes; `SIMPLE` and `MUTUAL` replace the workload
    /// certificate with other TLS the server sidecar does not accept. Calls fail, or lose the
    /// identity that authorization policies rely on.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   host: orders
    ///   trafficPolicy:
    ///     tls: {mode: DISABLE}
    /// ```
    ///
    /// ## Fix
    /// Remove `tls` for in-mesh hosts (auto mTLS), or set `mode: ISTIO_MUTUAL`.
    pub struct TlsBreaksMeshMtls {
        code: "MS308",
        name: "tls-breaks-mesh-mtls",
        severity: Error,
        istio: None,
    }
}

/// Every `tls.mode` in a DestinationRule with its path.
fn tls_modes(spec: &Node) -> Vec<(&Node, String)> {
    let mut policies = vec![(spec.at("trafficPolicy"), "trafficPolicy".to_string())];
    for (i, subset) in spec.at("subsets").as_seq().iter().enumerate() {
        policies.push((
            subset.at("trafficPolicy"),
            format!("subsets[{i}].trafficPolicy"),
        ));
    }
    let mut found = Vec::new();
    for (policy, at) in policies {
        let mode = policy.path(&["tls", "mode"]);
        if !mode.is_null() {
            found.push((mode, format!("{at}.tls.mode")));
        }
        for (i, port) in policy.at("portLevelSettings").as_seq().iter().enumerate() {
            let mode = port.path(&["tls", "mode"]);
            if !mode.is_null() {
                found.push((mode, format!("{at}.portLevelSettings[{i}].tls.mode")));
            }
        }
    }
    found
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for dr in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "DestinationRule")
    {
        let Some(host) = dr.spec().at("host").as_str() else {
            continue;
        };
        let HostRef::Service(svc) = resolve_host(&ctx.index, host, &dr.namespace) else {
            continue;
        };
        if !service_in_mesh(&ctx.index, svc) {
            continue;
        }
        for (mode_node, at) in tls_modes(dr.spec()) {
            let Some(mode) = mode_node.as_str() else {
                continue;
            };
            if !matches!(mode, "DISABLE" | "SIMPLE" | "MUTUAL") {
                continue;
            }
            out.push(TlsBreaksMeshMtls::META.finding(
                resource_label(dr),
                Some(dr.origin_at(mode_node)),
                format!(
                    "{at}: {mode} towards {}/{}, whose pods have sidecars, replaces Istio mutual TLS",
                    svc.namespace, svc.name
                ),
                "remove `tls` for in-mesh hosts (auto mTLS) or use `mode: ISTIO_MUTUAL`",
            ));
        }
    }
}
