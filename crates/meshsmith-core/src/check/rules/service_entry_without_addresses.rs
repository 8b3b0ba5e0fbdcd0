//! Rule MS339 `service-entry-without-addresses`. The doc comment on its struct is the rule's
//! documentation: `meshsmith explain MS339`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports ServiceEntries without `addresses` (none written, and none Istio allocated in
    /// its `status`) that declare a TCP port (`protocol: TCP`, or no protocol).
    ///
    /// ## Why it matters
    /// A sidecar tells plain TCP connections apart only by destination IP and port. Without
    /// an address, every TCP ServiceEntry on the same port shares one listener, so traffic
    /// for one host can be sent to another, or fall through to the passthrough cluster and
    /// escape the policy written for it.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ServiceEntry
    /// spec:
    ///   hosts: [db.example.com]
    ///   ports: [{number: 5432, name: tcp-postgres, protocol: TCP}]
    ///   resolution: DNS                     # no addresses
    /// ```
    ///
    /// ## Fix
    /// Add the host's `addresses` (a VIP or CIDR), use a protocol Istio can route by name
    /// (`TLS` with SNI, `HTTP`, `HTTPS`), or turn on Istio's DNS proxying with address
    /// allocation (`ISTIO_META_DNS_CAPTURE` and `ISTIO_META_DNS_AUTO_ALLOCATE`).
    ///
    /// ## istioctl
    /// `serviceentry.Analyzer` (IST0134), which assumes address allocation is off unless the
    /// mesh config turns it on.
    pub struct ServiceEntryWithoutAddresses {
        code: "MS339",
        name: "service-entry-without-addresses",
        severity: Warning,
        istio: Some("IST0134"),
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for se in ctx.index.istio_kind("ServiceEntry") {
        let allocated = se.status().at("addresses").as_seq();
        if !se.spec().at("addresses").as_seq().is_empty() || !allocated.is_empty() {
            continue;
        }
        let tcp = se.spec().at("ports").as_seq().iter().find(|p| {
            p.at("protocol")
                .as_str()
                .is_none_or(|proto| proto.is_empty() || proto.eq_ignore_ascii_case("TCP"))
        });
        let Some(port) = tcp else {
            continue;
        };
        let number = port.at("number").as_str().unwrap_or("?");
        out.push(ServiceEntryWithoutAddresses::META.finding(
            resource_label(se),
            Some(se.origin_at(port)),
            format!("port {number} is plain TCP and the ServiceEntry has no `addresses`"),
            "add `addresses`, or declare the port's protocol (TLS, HTTP, HTTPS)",
        ));
    }
}
