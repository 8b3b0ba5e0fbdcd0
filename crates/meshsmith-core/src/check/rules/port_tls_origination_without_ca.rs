//! Rule MS336 `port-tls-origination-without-ca`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS336`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::rules::tls_origination_without_ca::unverified;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports the `trafficPolicy.portLevelSettings` of DestinationRules that originate TLS
    /// (`tls.mode: SIMPLE` or `MUTUAL`) on a port without `caCertificates`, as MS335 does for
    /// the rule as a whole.
    ///
    /// ## Why it matters
    /// Traffic on that port is encrypted but the server is not authenticated: anything that
    /// can answer for the host can read and change it.
    ///
    /// ## Example
    /// ```yaml
    /// trafficPolicy:
    ///   portLevelSettings:
    ///     - port: {number: 443}
    ///       tls: {mode: SIMPLE}      # no caCertificates
    /// ```
    ///
    /// ## Fix
    /// Set `caCertificates` (and `sni`) in the port's `tls`.
    ///
    /// ## istioctl
    /// `destinationrule.CaCertificateAnalyzer` (IST0129).
    pub struct PortTlsOriginationWithoutCa {
        code: "MS336",
        name: "port-tls-origination-without-ca",
        severity: Warning,
        istio: Some("IST0129"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for dr in ctx.index.istio_kind("DestinationRule") {
        let settings = dr.spec().path(&["trafficPolicy", "portLevelSettings"]);
        for setting in settings.as_seq() {
            let tls = setting.at("tls");
            let Some(mode) = unverified(dr, tls) else {
                continue;
            };
            let port = setting.path(&["port", "number"]).as_str().unwrap_or("?");
            out.push(PortTlsOriginationWithoutCa::META.finding(
                resource_label(dr),
                Some(dr.origin_at(tls)),
                format!(
                    "port {port}: TLS mode {mode} without `caCertificates`: the server's \
                     certificate is not verified"
                ),
                "set `caCertificates` (and `sni`) in the port's tls",
            ));
        }
    }
}
