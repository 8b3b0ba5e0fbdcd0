//! Rule MS307 `unknown-destination-rule-host`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS307`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::visibility::{export_to, Visibility};
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports DestinationRules whose `host` names no Service and no ServiceEntry visible
    /// where the rule applies (resolved as MS303 resolves a destination host).
    ///
    /// ## Why it matters
    /// The rule applies to nothing: the connection pool, outlier detection and TLS settings
    /// it was written for are not in force, usually because of a typo or a renamed Service.
    ///
    /// ## Example
    /// ```yaml
    /// kind: DestinationRule
    /// spec:
    ///   host: payment          # the Service is called `payments`
    /// ```
    ///
    /// ## Fix
    /// Use the Service's name, fully qualified across namespaces.
    ///
    /// ## istioctl
    /// `destinationrule.SubsetSelectPodAnalyzer` (IST0174).
    pub struct UnknownDestinationRuleHost {
        code: "MS307",
        name: "unknown-destination-rule-host",
        severity: Warning,
        istio: Some("IST0174"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    let visible = Visibility::new(ctx.inventory);
    for dr in ctx
        .inventory
        .istio
        .iter()
        .filter(|r| r.kind == "DestinationRule")
    {
        let host_node = dr.spec().at("host");
        let Some(host) = host_node.as_str() else {
            continue;
        };
        let exported = export_to(dr.spec());
        if visible.lookup(&dr.namespace, &exported, host).is_some() {
            continue;
        }
        let why = super::unknown_destination_host::why_missing(
            ctx,
            &visible,
            &dr.namespace,
            &exported,
            host,
        );
        out.push(UnknownDestinationRuleHost::META.finding(
            resource_label(dr),
            Some(dr.origin_at(host_node)),
            format!("host `{host}` does not exist ({why}); the rule applies to nothing"),
            "name an existing Service, or declare the host with a ServiceEntry",
        ));
    }
}
