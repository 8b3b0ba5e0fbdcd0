//! The declaration each Service port should carry, as a patch of the Service (never a
//! rewrite of the team's manifests), and what generation does until it is applied.
//!
//! In: each service's ports with what Istio will do (declared) and what the evidence says
//! (believed). Out: one [`ServicePatchSpec`] per Service whose ports need a declaration,
//! setting `appProtocol` where the port speaks HTTP or gRPC but Istio takes it for TCP, where
//! it serves TCP but is declared HTTP, and where it declares nothing while the evidence says
//! what it speaks (a server-first protocol stalls under sniffing). A port whose protocol is
//! unknown gets no patch: meshsmith does not guess.
//!
//! Until the patch is applied Istio does what the manifest declares, so [`routed`] is what
//! the other generators build for: an HTTP port declared TCP gets no HTTP route, a TCP server
//! declared HTTP gets TCP settings only.

use super::{Context, Target};
use crate::model::*;

/// What Istio will proxy the port as once the configuration is applied, before the port
/// patch: what the port speaks, except that an HTTP port Istio takes for TCP stays TCP
/// (its HTTP route waits for the patch). A port with no evidence is what it declares.
pub(crate) fn routed(port: &PortInfo) -> Protocol {
    match (port.declared, port.believed) {
        (Protocol::Tcp | Protocol::Tls, b) if b.is_http_family() => port.declared,
        (d, Protocol::Unknown) => d,
        (_, b) => b,
    }
}

/// The declaration a port needs, and why; `None` when it has the right one or meshsmith
/// does not know what it speaks.
pub(crate) fn needed(port: &PortInfo) -> Option<(&'static str, String)> {
    let (d, b) = (port.declared, port.believed);
    let value = match b {
        Protocol::Http => "http",
        Protocol::Http2 => "http2",
        Protocol::Grpc => "grpc",
        Protocol::Tcp => "tcp",
        Protocol::Tls | Protocol::Udp | Protocol::Unknown => return None,
    };
    let why = if b.is_http_family() && matches!(d, Protocol::Tcp | Protocol::Tls) {
        format!(
            "speaks {} ({}) but Istio takes it for {} ({}): no timeouts, retries or HTTP \
             policy apply until it is declared",
            b.as_str(),
            port.reason,
            d.as_str(),
            port.declared_reason
        )
    } else if b == Protocol::Tcp && d.is_http_family() {
        format!(
            "serves TCP ({}) but is declared {} ({}): Istio parses its bytes as HTTP",
            port.reason,
            d.as_str(),
            port.declared_reason
        )
    } else if d == Protocol::Unknown {
        let stall = if port.server_first {
            "; its server talks first, so sniffing stalls every connection"
        } else {
            ""
        };
        format!(
            "speaks {} ({}) and declares nothing ({}){stall}",
            b.as_str(),
            port.reason,
            port.declared_reason
        )
    } else {
        return None;
    };
    Some((value, why))
}

pub(crate) fn build(cx: &Context, targets: &[Target], out: &mut MeshConfig) {
    for t in targets {
        let s = t.service;
        let Some(name) = super::routable(s) else {
            continue;
        };
        let mut ports = Vec::new();
        let mut reasons = Vec::new();
        for (i, p) in s.ports.iter().enumerate() {
            let Some((value, why)) = needed(p) else {
                continue;
            };
            if routed(p) != p.believed {
                out.notes.push(format!(
                    "{}: port {} gets no HTTP route until service-{name}.patch.yaml declares it {value} \
                     (the plan applies it in the service's first step; run generate again after)",
                    s.id, p.port
                ));
            }
            reasons.push(Reason::new(
                format!("spec.ports[{i}].appProtocol"),
                value,
                format!("port {} {why}", p.port),
            ));
            ports.push(PortDeclaration {
                port: p.port,
                app_protocol: value.to_string(),
                previous: p.app_protocol.clone(),
            });
        }
        if ports.is_empty() {
            continue;
        }
        let spec = ServicePatchSpec {
            service: name.to_string(),
            ports,
        };
        let mut res = cx.resource(Kind::ServicePatch, name, &s.id, Spec::ServicePatch(spec));
        res.reasons = cx.kept(|| reasons);
        out.resources.push(Box::new(res));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(declared: Protocol, believed: Protocol, server_first: bool) -> PortInfo {
        PortInfo {
            port: 8080,
            name: None,
            target_port: None,
            declared,
            believed,
            reason: "evidence".into(),
            declared_reason: "declaration".into(),
            server_first,
            main: false,
            app_protocol: None,
        }
    }

    #[test]
    fn an_http_port_taken_for_tcp_is_routed_as_tcp_until_patched() {
        let p = port(Protocol::Tcp, Protocol::Http, false);
        assert_eq!(routed(&p), Protocol::Tcp);
        assert_eq!(needed(&p).map(|n| n.0), Some("http"));
    }

    #[test]
    fn a_tcp_server_declared_http_gets_tcp_settings_and_a_tcp_declaration() {
        let p = port(Protocol::Http, Protocol::Tcp, false);
        assert_eq!(routed(&p), Protocol::Tcp);
        assert_eq!(needed(&p).map(|n| n.0), Some("tcp"));
    }

    #[test]
    fn sniffed_ports_are_declared_when_the_evidence_says_what_they_speak() {
        let p = port(Protocol::Unknown, Protocol::Tcp, true);
        let (value, why) = needed(&p).unwrap();
        assert_eq!(value, "tcp");
        assert!(why.contains("sniffing stalls"), "{why}");
        assert_eq!(
            routed(&port(Protocol::Unknown, Protocol::Grpc, false)),
            Protocol::Grpc
        );
        // No evidence: no declaration and no guess.
        assert_eq!(
            needed(&port(Protocol::Unknown, Protocol::Unknown, false)),
            None
        );
        assert_eq!(needed(&port(Protocol::Http, Protocol::Http, false)), None);
        assert_eq!(needed(&port(Protocol::Http2, Protocol::Grpc, false)), None);
    }
}
