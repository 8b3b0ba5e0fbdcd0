//! Rule MS307 `unknown-destination-rule-host`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS307`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::{resolve_host, resource_label, HostRef};
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports DestinationRules whose `host` is neither a Service in the inventory nor
    /// declared by a ServiceEntry.
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
    pub struct UnknownDestinationRuleHost {
        code: "MS307",
        name: "unknown-destination-rule-host",
        severity: Warning,
        istio: Some("IST0174"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
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
        let missing = match resolve_host(&ctx.index, host, &dr.namespace) {
            HostRef::MissingService(id) => format!("no Service {}/{}", id.namespace, id.name),
            HostRef::Unknown => "no Service or ServiceEntry declares it".to_string(),
            _ => continue,
        };
        out.push(UnknownDestinationRuleHost::META.finding(
            resource_label(dr),
            Some(dr.origin_at(host_node)),
            format!("host `{host}` does not exist ({missing}); the rule applies to nothing"),
            "name an existing Service, or declare the host with a ServiceEntry",
        ));
    }
}
