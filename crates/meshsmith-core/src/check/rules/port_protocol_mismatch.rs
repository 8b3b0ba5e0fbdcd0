//! Rule MS103 `port-protocol-mismatch`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS103`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::{Finding, Protocol};

declare_rule! {
    /// ## What it does
    /// Reports ports whose declared protocol (port name or `appProtocol`, what Istio will do)
    /// contradicts what the evidence says the port speaks (gRPC health probes, client URLs,
    /// well-known images and ports) within one kind of proxying: HTTP/1.1 against HTTP/2 or
    /// gRPC, or UDP against TCP. HTTP taken for TCP is MS109, TCP taken for HTTP MS110.
    ///
    /// ## Why it matters
    /// Istio proxies the port as declared. An `http-` port carrying gRPC is proxied as
    /// HTTP/1.1 and breaks; an `http2-` port carrying HTTP/1.1 clients is upgraded where they
    /// do not expect it.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - name: http-api    # the pods answer gRPC health checks on 9090
    ///     port: 9090
    /// ```
    ///
    /// ## Fix
    /// Declare what the port speaks: `name: grpc-api` or `appProtocol: grpc`.
    pub struct PortProtocolMismatch {
        code: "MS103",
        name: "port-protocol-mismatch",
        severity: Warning,
        istio: None,
    }
}

/// Protocols Envoy proxies the same way.
fn family(p: Protocol) -> u8 {
    match p {
        Protocol::Http => 1,
        Protocol::Http2 | Protocol::Grpc => 2,
        Protocol::Tcp | Protocol::Tls => 3,
        Protocol::Udp => 4,
        Protocol::Unknown => 0,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for node in &ctx.topology.services {
        for port in &node.ports {
            let (declared, believed) = (port.declared, port.believed);
            let http_and_tcp = |a: Protocol, b: Protocol| {
                a.is_http_family() && matches!(b, Protocol::Tcp | Protocol::Tls)
            };
            if family(declared) == 0
                || family(believed) == 0
                || family(declared) == family(believed)
                || http_and_tcp(declared, believed)
                || http_and_tcp(believed, declared)
            {
                continue;
            }
            let (resource, origin) = crate::check::port_fix::place(ctx, node, port);
            let consequence = if believed.is_http_family() && !declared.is_http_family() {
                "; it gets no HTTP policy (timeouts, retries, HTTP authorization)"
            } else {
                ""
            };
            out.push(PortProtocolMismatch::META.finding(
                resource,
                Some(origin),
                format!(
                    "port {} is declared {} but speaks {} ({}){consequence}",
                    port.port,
                    declared.as_str(),
                    believed.as_str(),
                    port.reason
                ),
                format!(
                    "declare the port as {0}: name it `{0}-...` or set `appProtocol: {0}`",
                    believed.as_str()
                ),
            ));
        }
    }
}
