//! What the protocol rules share: where a Service port is written, and the fix as words.
//! The fix itself (a merge patch setting `appProtocol`) is written by `generate`.

use crate::check::Context;
use crate::model::{MeshService, Origin, PortInfo, Protocol};

/// The Service and the line of its port, for a finding.
pub fn place(ctx: &Context, node: &MeshService, port: &PortInfo) -> (String, Origin) {
    let svc_name = node.service.as_deref().unwrap_or(&node.id.name);
    let origin = ctx
        .inventory
        .service(&node.id.namespace, svc_name)
        .and_then(|s| s.ports.iter().find(|p| p.port == port.port))
        .map_or_else(|| node.origin.clone(), |p| p.origin.clone());
    (
        format!("Service {}/{}", node.id.namespace, svc_name),
        origin,
    )
}

/// The `appProtocol` that declares what a port speaks.
pub fn app_protocol(p: Protocol) -> &'static str {
    match p {
        Protocol::Http => "http",
        Protocol::Http2 => "http2",
        Protocol::Grpc => "grpc",
        Protocol::Tls => "tls",
        Protocol::Udp => "udp",
        Protocol::Tcp | Protocol::Unknown => "tcp",
    }
}

/// The help line: the declaration and the patch `generate` writes for it.
pub fn help(node: &MeshService, port: &PortInfo, speaks: Protocol) -> String {
    format!(
        "set `appProtocol: {}` on port {}; `meshsmith generate` writes it as a merge patch \
         (service-{}.patch.yaml) for the plan's first step",
        app_protocol(speaks),
        port.port,
        node.service.as_deref().unwrap_or(&node.id.name)
    )
}
