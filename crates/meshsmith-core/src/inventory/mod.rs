//! Objects -> [`Inventory`]: typed workloads, Services, accounts, namespaces, config and the
//! Istio resources already present.
//!
//! Tolerant by design: a field of the wrong shape is read as absent rather than rejecting the
//! object, because real manifests carry fields no schema knows. Objects without a namespace
//! get the default one. A kind meshsmith does not use is noted and skipped; the same object
//! twice is a warning and the later one wins, as `kubectl apply` would leave it.

mod pod;

use crate::model::*;
use std::collections::{HashMap, HashSet};

/// API groups whose resources are Istio configuration.
pub const ISTIO_GROUPS: [&str; 4] = [
    "networking.istio.io",
    "security.istio.io",
    "telemetry.istio.io",
    "extensions.istio.io",
];

/// Builds the inventory. `default_namespace` applies to objects that name none.
pub fn inventory(objects: &[Object], default_namespace: &str) -> Inventory {
    merge(vec![collect(objects, default_namespace)])
}

/// Types the objects of one part of the input (a file, say) without looking at the others.
/// Parts are joined by [`merge`]; one part alone is not de-duplicated or sorted.
pub fn collect(objects: &[Object], default_namespace: &str) -> Inventory {
    let mut inv = Inventory::default();
    for obj in objects {
        let namespace = obj
            .namespace
            .clone()
            .unwrap_or_else(|| default_namespace.to_string());
        add_object(&mut inv, obj, namespace);
    }
    inv
}

/// Like [`collect`], taking the objects so that the Istio resources among them are moved
/// into the inventory rather than copied.
pub fn collect_owned(objects: Vec<Object>, default_namespace: &str) -> Inventory {
    let mut inv = Inventory::default();
    for obj in objects {
        let namespace = obj
            .namespace
            .clone()
            .unwrap_or_else(|| default_namespace.to_string());
        if ISTIO_GROUPS.contains(&obj.group()) {
            inv.istio.push(Box::new(istio_resource(obj, namespace)));
        } else {
            add_object(&mut inv, &obj, namespace);
        }
    }
    inv.shrink_to_fit();
    inv
}

/// Joins parts in input order: the same object twice is a warning and the later one wins;
/// every list comes out sorted by (namespace, name).
pub fn merge(mut parts: Vec<Inventory>) -> Inventory {
    if parts.len() == 1 {
        // One part: sorted and deduplicated where it lies.
        let only = parts.pop().unwrap_or_default();
        return tidy(only);
    }
    // Each list is allocated once at its final size rather than grown part by part.
    let total = |len: fn(&Inventory) -> usize| parts.iter().map(len).sum::<usize>();
    let mut all = Inventory {
        workloads: Vec::with_capacity(total(|p| p.workloads.len())),
        services: Vec::with_capacity(total(|p| p.services.len())),
        service_accounts: Vec::with_capacity(total(|p| p.service_accounts.len())),
        namespaces: Vec::with_capacity(total(|p| p.namespaces.len())),
        config_maps: Vec::with_capacity(total(|p| p.config_maps.len())),
        secrets: Vec::with_capacity(total(|p| p.secrets.len())),
        ingresses: Vec::with_capacity(total(|p| p.ingresses.len())),
        istio: Vec::with_capacity(total(|p| p.istio.len())),
        notes: Vec::with_capacity(total(|p| p.notes.len())),
        duplicates: Vec::new(),
    };
    for p in parts {
        all.workloads.extend(p.workloads);
        all.services.extend(p.services);
        all.service_accounts.extend(p.service_accounts);
        all.namespaces.extend(p.namespaces);
        all.config_maps.extend(p.config_maps);
        all.secrets.extend(p.secrets);
        all.ingresses.extend(p.ingresses);
        all.istio.extend(p.istio);
        all.notes.extend(p.notes);
        all.duplicates.extend(p.duplicates);
    }
    tidy(all)
}

/// Keeps the last definition of each object (with a warning for the others) and sorts every
/// list by (namespace, name).
fn tidy(mut all: Inventory) -> Inventory {
    let mut notes = std::mem::take(&mut all.notes);
    // The later definition wins, as `kubectl apply` of the same files in order would leave it:
    // walk each list backwards and keep the first of each name seen.
    keep_last(&mut all.workloads, &mut notes, |w| {
        [w.kind.as_str(), &w.namespace, &w.name]
    });
    keep_last(&mut all.services, &mut notes, |s| {
        ["Service", &s.namespace, &s.name]
    });
    keep_last(&mut all.service_accounts, &mut notes, |a| {
        ["ServiceAccount", &a.namespace, &a.name]
    });
    keep_last(&mut all.namespaces, &mut notes, |n| {
        ["Namespace", "", &n.name]
    });
    keep_last(&mut all.config_maps, &mut notes, |c| {
        ["ConfigMap", &c.namespace, &c.name]
    });
    keep_last(&mut all.secrets, &mut notes, |c| {
        ["Secret", &c.namespace, &c.name]
    });
    keep_last(&mut all.ingresses, &mut notes, |c| {
        ["Ingress", &c.namespace, &c.name]
    });
    duplicates(&all.istio, &mut all.duplicates);
    keep_last(&mut all.istio, &mut notes, |r| {
        [&r.kind, &r.namespace, &r.name]
    });
    missing_config_maps(&all, &mut notes);
    notes.sort();
    all.notes = collapse_repeats(notes);
    let mut inv = all;
    let by_ns_name = |a: (&String, &String), b: (&String, &String)| a.cmp(&b);
    // Two workloads of different kinds may share a name; they keep their input order.
    inv.workloads
        .sort_by(|a, b| by_ns_name((&a.namespace, &a.name), (&b.namespace, &b.name)));
    // Every other list now holds each (namespace, name) once, so an unstable sort gives the
    // one order there is, without a stable sort's scratch copy of the list.
    inv.services
        .sort_unstable_by(|a, b| by_ns_name((&a.namespace, &a.name), (&b.namespace, &b.name)));
    inv.service_accounts
        .sort_unstable_by(|a, b| by_ns_name((&a.namespace, &a.name), (&b.namespace, &b.name)));
    inv.namespaces.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    inv.config_maps
        .sort_unstable_by(|a, b| by_ns_name((&a.namespace, &a.name), (&b.namespace, &b.name)));
    inv.secrets
        .sort_unstable_by(|a, b| by_ns_name((&a.namespace, &a.name), (&b.namespace, &b.name)));
    inv.ingresses
        .sort_unstable_by(|a, b| by_ns_name((&a.namespace, &a.name), (&b.namespace, &b.name)));
    inv.istio.sort_unstable_by(|a, b| {
        (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name))
    });
    inv.shrink_to_fit();
    inv
}

/// Keeps one of each informational or skipped note said more than once (one per object of
/// a kind meshsmith does not use, say), at the first place it applies, with how many it
/// stands for. `notes` is sorted, so "first" is the first in input order.
fn collapse_repeats(mut notes: Vec<Note>) -> Vec<Note> {
    let collapses = |n: &Note| n.level == NoteLevel::Info || n.message.starts_with(SKIPPED);
    let mut count: HashMap<String, usize> = HashMap::new();
    for n in notes.iter().filter(|n| collapses(n)) {
        match count.get_mut(&n.message) {
            Some(c) => *c += 1,
            None => {
                count.insert(n.message.clone(), 1);
            }
        }
    }
    notes.retain_mut(|n| {
        if !collapses(n) {
            return true;
        }
        match count.remove(&n.message) {
            None => false,
            Some(1) => true,
            Some(times) => {
                n.message = format!("{} ({times} objects; the first is here)", n.message);
                true
            }
        }
    });
    notes.shrink_to_fit();
    notes
}

/// Something the inventory holds once per (kind, namespace, name), and where it was written.
trait Defined {
    fn origin(&self) -> Origin;
}

macro_rules! defined {
    ($($t:ty),*) => {$(
        impl Defined for $t {
            fn origin(&self) -> Origin {
                self.origin.clone()
            }
        }
    )*};
}
defined!(
    Workload,
    Service,
    ServiceAccount,
    Namespace,
    ConfigMap,
    Secret,
    Ingress
);

impl Defined for Box<IstioResource> {
    fn origin(&self) -> Origin {
        IstioResource::origin(self)
    }
}

/// Keeps, of the items with the same `key` (kind, namespace, name), only the last, with a
/// warning for each earlier one.
/// A ConfigMap a workload references (by `envFrom`, `configMapKeyRef` or a volume) that is
/// not in the input: `kubectl apply` accepts it, but the addresses it holds cannot be read, so
/// the calls they name are missing from the graph.
fn missing_config_maps(all: &Inventory, notes: &mut Vec<Note>) {
    let present: HashSet<(&str, &str)> = all
        .config_maps
        .iter()
        .map(|c| (c.namespace.as_str(), c.name.as_str()))
        .collect();
    for w in &all.workloads {
        let mut referenced: Vec<(&str, Origin)> = Vec::new();
        for c in &w.containers {
            for from in &c.env_from {
                if let Some(cm) = &from.config_map {
                    referenced.push((cm, from.origin.clone()));
                }
            }
            for var in &c.env {
                if let EnvSource::ConfigMapKey { config_map, .. } = &var.source {
                    referenced.push((config_map, var.origin.clone()));
                }
            }
        }
        for v in &w.config_map_volumes {
            referenced.push((&v.config_map, w.origin.clone()));
        }
        referenced.sort_by(|a, b| a.0.cmp(b.0));
        referenced.dedup_by(|a, b| a.0 == b.0);
        for (name, origin) in referenced {
            if !present.contains(&(w.namespace.as_str(), name)) {
                notes.push(Note {
                    origin,
                    message: format!(
                        "{} {}/{} references ConfigMap {name}, which is not in the input: the addresses \
                         it holds cannot be read (the pod starts only if it exists or the reference is optional)",
                        w.kind.as_str(),
                        w.namespace,
                        w.name
                    ),
                    level: NoteLevel::Warning,
                });
            }
        }
    }
}

/// The Istio resources defined again with other content (see [`DuplicateObject`]); the
/// same object read twice (a re-run's output read beside the one before) is no conflict.
fn duplicates(istio: &[Box<IstioResource>], out: &mut Vec<DuplicateObject>) {
    let mut last: HashMap<[&str; 3], usize> = HashMap::with_capacity(istio.len());
    for (i, r) in istio.iter().enumerate().rev() {
        let key = [r.kind.as_str(), r.namespace.as_str(), r.name.as_str()];
        let Some(&winner) = last.get(&key) else {
            last.insert(key, i);
            continue;
        };
        let kept = &istio[winner];
        if kept.to_json() == r.to_json() {
            continue;
        }
        let generated =
            |x: &IstioResource| x.labels.get("app.kubernetes.io/managed-by") == Some("meshsmith");
        let theirs = if generated(kept) { r } else { kept };
        out.push(DuplicateObject {
            kind: r.kind.to_string(),
            namespace: r.namespace.to_string(),
            name: r.name.to_string(),
            origin: r.origin(),
            kept: kept.origin(),
            generated: generated(kept) || generated(r),
            pass_through: r.kind.as_str() == "VirtualService" && passes_through(theirs),
        });
    }
    out.sort();
}

/// A VirtualService with hosts and one HTTP route to one destination, nothing else.
fn passes_through(vs: &IstioResource) -> bool {
    let spec = vs.spec();
    let only = |node: &Node, keys: &[&str]| {
        node.as_map()
            .iter()
            .all(|(k, _)| keys.contains(&k.as_str()))
    };
    let [route] = spec.at("http").as_seq() else {
        return false;
    };
    let [destination] = route.at("route").as_seq() else {
        return false;
    };
    spec.at("hosts").as_seq().len() == 1
        && only(spec, &["hosts", "http", "gateways"])
        && only(route, &["route"])
        && only(destination, &["destination"])
        && only(destination.at("destination"), &["host", "port"])
}

fn keep_last<T: Defined>(
    items: &mut Vec<T>,
    notes: &mut Vec<Note>,
    key: impl for<'t> Fn(&'t T) -> [&'t str; 3],
) {
    let mut keep = vec![true; items.len()];
    // Each key with the definition that wins: the last one read.
    let mut seen: HashMap<[&str; 3], usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate().rev() {
        let Some(&winner) = seen.get(&key(item)) else {
            seen.insert(key(item), i);
            continue;
        };
        keep[i] = false;
        let [kind, namespace, name] = key(item);
        let label = match namespace {
            "" => format!("{kind} {name}"),
            ns => format!("{kind} {ns}/{name}"),
        };
        notes.push(Note {
            origin: item.origin(),
            message: format!(
                "{label} is defined again at {}; that later definition is used, as `kubectl apply` would",
                items[winner].origin()
            ),
            level: NoteLevel::Warning,
        });
    }
    drop(seen);
    let mut kept = keep.into_iter();
    items.retain(|_| kept.next().unwrap_or(true));
}

fn add_object(inv: &mut Inventory, obj: &Object, namespace: String) {
    let doc = &obj.doc;
    let meta = doc.at("metadata");
    if ISTIO_GROUPS.contains(&obj.group()) {
        inv.istio
            .push(Box::new(istio_resource(obj.clone(), namespace)));
        return;
    }
    if let Some(kind) = WorkloadKind::from_kind(&obj.kind) {
        inv.workloads.push(pod::workload(obj, kind, namespace));
        return;
    }
    let origin = obj.origin();
    match obj.kind.as_str() {
        "Service" => inv.services.push(service(obj, namespace)),
        "ServiceAccount" => inv.service_accounts.push(ServiceAccount {
            name: obj.name.clone(),
            namespace,
            annotations: string_map(meta.at("annotations")),
            origin,
        }),
        "Namespace" => inv.namespaces.push(Namespace {
            name: obj.name.clone(),
            labels: string_map(meta.at("labels")),
            origin,
        }),
        "ConfigMap" => inv.config_maps.push(config_map(obj, namespace)),
        "Secret" => {
            let mut keys: Vec<String> = ["data", "stringData"]
                .iter()
                .flat_map(|k| doc.at(k).as_map().iter().map(|(k, _)| k.to_string()))
                .collect();
            keys.sort();
            keys.dedup();
            inv.secrets.push(Secret {
                name: obj.name.clone(),
                namespace,
                keys,
                origin,
            });
        }
        "Ingress" => inv.ingresses.push(ingress(obj, namespace)),
        // The same words for every object of the kind, so they collapse into one note; a
        // warning, as every command shows, since the object is left out of all it does.
        _ => inv.notes.push(Note {
            origin,
            message: format!("{SKIPPED}{} is a kind meshsmith does not use", obj.kind),
            level: NoteLevel::Warning,
        }),
    }
}

fn istio_resource(object: Object, namespace: String) -> IstioResource {
    let meta = object.doc.at("metadata");
    let labels = string_map(meta.at("labels"));
    let annotations = string_map(meta.at("annotations"));
    // The spec and status are moved out of the document, which is then let go.
    let mut doc = object.doc;
    let mut take = |key: &str| match &mut doc.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| std::mem::replace(v, Node::new(Value::Null, 0))),
        _ => None,
    };
    let spec = take("spec");
    let status = take("status");
    IstioResource {
        kind: object.kind.into(),
        api_version: object.api_version.into(),
        name: object.name.into(),
        namespace: namespace.into(),
        labels,
        annotations,
        spec: spec.unwrap_or_else(|| Node::new(Value::Null, 0)),
        status: status.map(Box::new),
        file: object.file,
        source: object.source,
        line: object.line,
    }
}

pub(crate) fn string_map(node: &Node) -> StringMap {
    // The keys are cloned, so a well-known key stays the one shared text.
    node.as_map()
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), text(s))))
        .collect::<StringMap>()
}

pub(crate) fn port_ref(node: &Node) -> Option<PortRef> {
    let text = node.as_str()?;
    match text.parse::<u16>() {
        Ok(n) => Some(PortRef::Number(n)),
        Err(_) if !text.is_empty() => Some(PortRef::Name(text.to_string())),
        Err(_) => None,
    }
}

fn service(obj: &Object, namespace: String) -> Service {
    let spec = obj.doc.at("spec");
    let meta = obj.doc.at("metadata");
    let service_type = match spec.at("type").as_str() {
        Some("NodePort") => ServiceType::NodePort,
        Some("LoadBalancer") => ServiceType::LoadBalancer,
        Some("ExternalName") => ServiceType::ExternalName,
        _ => ServiceType::ClusterIp,
    };
    let ports = spec
        .at("ports")
        .as_seq()
        .iter()
        .filter_map(|p| {
            let port = p.at("port").as_i64().and_then(|n| u16::try_from(n).ok())?;
            Some(ServicePort {
                name: p.at("name").as_str().map(str::to_string),
                port,
                target_port: port_ref(p.at("targetPort")),
                app_protocol: p.at("appProtocol").as_str().map(str::to_string),
                transport: p.at("protocol").as_str().unwrap_or("TCP").to_string(),
                origin: obj.origin_at(p),
            })
        })
        .collect();
    Service {
        name: obj.name.clone(),
        namespace,
        service_type,
        headless: spec.at("clusterIP").as_str() == Some("None"),
        selector: string_map(spec.at("selector")),
        ports,
        external_name: spec.at("externalName").as_str().map(str::to_string),
        labels: string_map(meta.at("labels")),
        annotations: string_map(meta.at("annotations")),
        origin: obj.origin(),
    }
}

fn config_map(obj: &Object, namespace: String) -> ConfigMap {
    let data = obj
        .doc
        .at("data")
        .as_map()
        .iter()
        .filter_map(|(key, v)| {
            let Value::Scalar { text, .. } = &v.value else {
                return None;
            };
            Some(ConfigEntry {
                key: key.to_string(),
                value: text.to_string(),
                origin: obj.origin_at(v),
            })
        })
        .collect();
    ConfigMap {
        name: obj.name.clone(),
        namespace,
        data,
        origin: obj.origin(),
    }
}

fn ingress(obj: &Object, namespace: String) -> Ingress {
    let spec = obj.doc.at("spec");
    let mut backends = Vec::new();
    let mut add = |b: &Node| {
        // networking.k8s.io/v1: backend.service.{name,port.number|name}; v1beta1: serviceName/servicePort.
        let svc = b.at("service");
        let (name, port) = if svc.is_map() {
            let p = svc.at("port");
            (
                svc.at("name").as_str(),
                port_ref(p.at("number")).or_else(|| port_ref(p.at("name"))),
            )
        } else {
            (b.at("serviceName").as_str(), port_ref(b.at("servicePort")))
        };
        if let Some(name) = name {
            backends.push(IngressBackend {
                service: name.to_string(),
                port,
                origin: obj.origin_at(b),
            });
        }
    };
    add(spec.at("defaultBackend"));
    add(spec.at("backend"));
    for rule in spec.at("rules").as_seq() {
        for path in rule.path(&["http", "paths"]).as_seq() {
            add(path.at("backend"));
        }
    }
    let class = spec
        .at("ingressClassName")
        .as_str()
        .or_else(|| {
            obj.doc
                .path(&["metadata", "annotations", "kubernetes.io/ingress.class"])
                .as_str()
        })
        .map(str::to_string);
    Ingress {
        name: obj.name.clone(),
        namespace,
        class,
        backends,
        origin: obj.origin(),
    }
}

#[cfg(test)]
mod tests;
