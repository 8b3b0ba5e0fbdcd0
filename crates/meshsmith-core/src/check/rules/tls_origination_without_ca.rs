//! Rule MS335 `tls-origination-without-ca`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS335`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::{Finding, IstioResource, Node};

declare_rule! {
    /// ## What it does
    /// Reports DestinationRules whose `trafficPolicy.tls` originates TLS (`mode: SIMPLE` or
    /// `MUTUAL`) without `caCertificates` to check the server with. A `credentialName` counts
    /// only on a rule with a `workloadSelector` (a gateway's), where the secret can carry the
    /// CA.
    ///
    /// ## Why it matters
    /// The sidecar then accepts any certificate the server shows: the connection is
    /// encrypted but not authenticated, so a man in the middle (a spoofed DNS answer, a
    /// misrouted egress) reads and changes the traffic to, say, a payment provider.
    ///
    /// ## Example
    /// ```yaml
    /// kind: DestinationRule
    /// spec:
    ///   host: api.stripe.com
    ///   trafficPolicy:
    ///     tls: {mode: SIMPLE}        # no caCertificates
    /// ```
    ///
    /// ## Fix
    /// Set `caCertificates` (for public hosts, the system bundle, e.g.
    /// `/etc/ssl/certs/ca-certificates.crt`) and `sni`.
    ///
    /// ## istioctl
    /// `destinationrule.CaCertificateAnalyzer` (IST0128); MS336 is its port-level half.
    pub struct TlsOriginationWithoutCa {
        code: "MS335",
        name: "tls-origination-without-ca",
        severity: Warning,
        istio: Some("IST0128"),
    }
}

/// The TLS mode when `tls` originates TLS without a way to verify the server.
pub fn unverified<'a>(dr: &IstioResource, tls: &'a Node) -> Option<&'a str> {
    let mode = tls.at("mode").as_str()?;
    let originates = mode == "SIMPLE" || mode == "MUTUAL";
    let has_ca = tls
        .at("caCertificates")
        .as_str()
        .is_some_and(|c| !c.is_empty());
    let gateway_secret = tls
        .at("credentialName")
        .as_str()
        .is_some_and(|c| !c.is_empty())
        && dr.spec().at("workloadSelector").is_map();
    (originates && !has_ca && !gateway_secret).then_some(mode)
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for dr in ctx.index.istio_kind("DestinationRule") {
        let tls = dr.spec().path(&["trafficPolicy", "tls"]);
        let Some(mode) = unverified(dr, tls) else {
            continue;
        };
        let host = dr.spec().at("host").as_str().unwrap_or("?");
        out.push(TlsOriginationWithoutCa::META.finding(
            resource_label(dr),
            Some(dr.origin_at(tls)),
            format!(
                "TLS mode {mode} to `{host}` without `caCertificates`: the server's \
                 certificate is not verified"
            ),
            "set `caCertificates` (and `sni`) in trafficPolicy.tls",
        ));
    }
}
