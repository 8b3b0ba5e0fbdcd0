//! The patch that declares what a Service's ports speak: written next to the generated
//! configuration (never a rewrite of the team's manifests) and applied by the rollout with
//! `kubectl patch`, with the body that takes it back.
//!
//! It is a strategic merge patch, kubectl's default for Services: `spec.ports` merges by
//! `port`, so only the ports named change and every other field of the Service (a
//! NodePort the cluster assigned, the other ports) stays as it is. A JSON merge patch would
//! replace the whole list.

use serde::Serialize;

/// One port's new declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortDeclaration {
    pub port: u16,
    /// What the port speaks, as Istio reads it: `http`, `grpc`, `tcp`...
    pub app_protocol: String,
    /// The `appProtocol` the manifest gives it, if any: a rollback sets it back.
    pub previous: Option<String>,
}

/// A patch of one Service's ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicePatchSpec {
    /// The Service patched (in the resource's namespace).
    #[serde(skip)]
    pub service: String,
    #[serde(skip)]
    pub ports: Vec<PortDeclaration>,
}

impl ServicePatchSpec {
    /// `service-orders.patch.yaml`: the file of the service's folder it is written to.
    pub fn file_name(&self) -> String {
        format!("service-{}.patch.yaml", self.service)
    }

    /// The patch body: each port's `appProtocol` set to its declaration (`forward`), or back
    /// to what the manifest had (removed where it had none).
    pub fn body(&self, forward: bool) -> serde_json::Value {
        let ports: Vec<serde_json::Value> = self
            .ports
            .iter()
            .map(|p| {
                let value = if forward {
                    Some(p.app_protocol.as_str())
                } else {
                    p.previous.as_deref()
                };
                serde_json::json!({ "port": p.port, "appProtocol": value })
            })
            .collect();
        serde_json::json!({ "spec": { "ports": ports } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_names_only_its_ports_and_the_rollback_restores_them() {
        let spec = ServicePatchSpec {
            service: "orders".into(),
            ports: vec![
                PortDeclaration {
                    port: 8080,
                    app_protocol: "http".into(),
                    previous: None,
                },
                PortDeclaration {
                    port: 9090,
                    app_protocol: "grpc".into(),
                    previous: Some("tcp".into()),
                },
            ],
        };
        assert_eq!(spec.file_name(), "service-orders.patch.yaml");
        assert_eq!(
            spec.body(true).to_string(),
            r#"{"spec":{"ports":[{"appProtocol":"http","port":8080},{"appProtocol":"grpc","port":9090}]}}"#
        );
        assert_eq!(
            spec.body(false).to_string(),
            r#"{"spec":{"ports":[{"appProtocol":null,"port":8080},{"appProtocol":"tcp","port":9090}]}}"#
        );
    }
}
