//! Workload objects (Deployment ... CronJob, Pod) -> [`Workload`] with typed containers.

use super::{port_ref, string_map};
use crate::model::*;

/// Where the pod template sits in each workload kind.
fn pod_template(doc: &Node, kind: WorkloadKind) -> (&Node, &Node) {
    match kind {
        WorkloadKind::Pod => (doc.at("metadata"), doc.at("spec")),
        WorkloadKind::CronJob => {
            let t = doc.path(&["spec", "jobTemplate", "spec", "template"]);
            (t.at("metadata"), t.at("spec"))
        }
        _ => {
            let t = doc.path(&["spec", "template"]);
            (t.at("metadata"), t.at("spec"))
        }
    }
}

pub(super) fn workload(obj: &Object, kind: WorkloadKind, namespace: String) -> Workload {
    let doc = &obj.doc;
    let (pod_meta, pod_spec) = pod_template(doc, kind);
    let account = pod_spec
        .at("serviceAccountName")
        .as_str()
        .or_else(|| pod_spec.at("serviceAccount").as_str())
        .filter(|s| !s.is_empty());
    let mut containers = Vec::new();
    for (field, init) in [("initContainers", true), ("containers", false)] {
        for c in pod_spec.at(field).as_seq() {
            containers.push(container(obj, c, init));
        }
    }
    let config_map_volumes = pod_spec
        .at("volumes")
        .as_seq()
        .iter()
        .flat_map(|v| {
            let volume = v.at("name").as_str().unwrap_or("").to_string();
            let direct = v.path(&["configMap", "name"]).as_str().map(str::to_string);
            let projected = v
                .path(&["projected", "sources"])
                .as_seq()
                .iter()
                .filter_map(|s| s.path(&["configMap", "name"]).as_str().map(str::to_string))
                .collect::<Vec<_>>();
            direct
                .into_iter()
                .chain(projected)
                .map(move |config_map| ConfigMapVolume {
                    volume: volume.clone(),
                    config_map,
                })
        })
        .collect();
    Workload {
        kind,
        name: obj.name.clone(),
        namespace,
        labels: string_map(doc.path(&["metadata", "labels"])),
        annotations: string_map(doc.path(&["metadata", "annotations"])),
        pod_labels: string_map(pod_meta.at("labels")),
        selector: string_map(doc.path(&["spec", "selector", "matchLabels"])),
        pod_annotations: string_map(pod_meta.at("annotations")),
        service_account: account.unwrap_or("default").to_string(),
        service_account_explicit: account.is_some(),
        host_network: pod_spec.at("hostNetwork").as_bool() == Some(true),
        containers,
        config_map_volumes,
        replicas: doc.path(&["spec", "replicas"]).as_i64(),
        origin: obj.origin(),
    }
}

fn container(obj: &Object, c: &Node, init: bool) -> Container {
    let located = |n: &Node| -> Vec<Located> {
        n.as_seq()
            .iter()
            .filter_map(|a| {
                a.as_str().map(|t| Located {
                    text: t.to_string(),
                    origin: obj.origin_at(a),
                })
            })
            .collect()
    };
    let env = c
        .at("env")
        .as_seq()
        .iter()
        .filter_map(|e| {
            let name = e.at("name").as_str()?.to_string();
            let from = e.at("valueFrom");
            let source = if let Some(cm) = from.at("configMapKeyRef").get("name") {
                EnvSource::ConfigMapKey {
                    config_map: cm.as_str().unwrap_or("").to_string(),
                    key: from
                        .path(&["configMapKeyRef", "key"])
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                }
            } else if let Some(s) = from.at("secretKeyRef").get("name") {
                EnvSource::SecretKey {
                    secret: s.as_str().unwrap_or("").to_string(),
                    key: from
                        .path(&["secretKeyRef", "key"])
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                }
            } else if from.is_map() {
                let field = from.path(&["fieldRef", "fieldPath"]).as_str();
                EnvSource::Field(field.unwrap_or("resource").to_string())
            } else {
                EnvSource::Literal(e.at("value").as_str().unwrap_or("").to_string())
            };
            // Point at the value itself (the line after `- name:` in block style).
            let at = if e.at("value").is_null() {
                e
            } else {
                e.at("value")
            };
            Some(EnvVar {
                name,
                source,
                origin: obj.origin_at(at),
            })
        })
        .collect();
    let env_from = c
        .at("envFrom")
        .as_seq()
        .iter()
        .map(|e| EnvFrom {
            config_map: e
                .path(&["configMapRef", "name"])
                .as_str()
                .map(str::to_string),
            secret: e.path(&["secretRef", "name"]).as_str().map(str::to_string),
            prefix: e.at("prefix").as_str().unwrap_or("").to_string(),
            origin: obj.origin_at(e),
        })
        .collect();
    let ports = c
        .at("ports")
        .as_seq()
        .iter()
        .filter_map(|p| {
            let port = p
                .at("containerPort")
                .as_i64()
                .and_then(|n| u16::try_from(n).ok())?;
            Some(ContainerPort {
                name: p.at("name").as_str().map(str::to_string),
                port,
            })
        })
        .collect();
    let probes = ["livenessProbe", "readinessProbe", "startupProbe"]
        .iter()
        .filter_map(|k| probe(c.at(k)))
        .collect();
    let mounts = c
        .at("volumeMounts")
        .as_seq()
        .iter()
        .filter_map(|m| {
            Some(VolumeMount {
                volume: m.at("name").as_str()?.to_string(),
                mount_path: m.at("mountPath").as_str().unwrap_or("").to_string(),
            })
        })
        .collect();
    Container {
        name: c.at("name").as_str().unwrap_or("").to_string(),
        image: c.at("image").as_str().unwrap_or("").to_string(),
        init,
        env,
        env_from,
        command: located(c.at("command")),
        args: located(c.at("args")),
        ports,
        probes,
        mounts,
        origin: obj.origin_at(c),
    }
}

fn probe(p: &Node) -> Option<Probe> {
    if !p.is_map() {
        return None;
    }
    if let Some(g) = p.get("grpc") {
        let port = g.at("port").as_i64().and_then(|n| u16::try_from(n).ok())?;
        return Some(Probe::Grpc { port });
    }
    if let Some(h) = p.get("httpGet") {
        return Some(Probe::Http {
            port: port_ref(h.at("port"))?,
        });
    }
    if let Some(t) = p.get("tcpSocket") {
        return Some(Probe::Tcp {
            port: port_ref(t.at("port"))?,
        });
    }
    p.get("exec").map(|_| Probe::Exec)
}
