//! The configuration a rollout applies, object by object: the generated resources, except
//! the ones in files of `config/` that a person edited since they were generated, which come
//! from those files as they are now.
//!
//! In: the generated [`MeshConfig`] and, for each edited file, the objects generated into it
//! and the objects it holds today (parsed by the caller). Out: a [`RolloutConfig`] whose
//! objects the plan's steps, effects and step folders are built from, so a person's edit is
//! what the rollout applies, or an [`EditError`] naming each file a step cannot be built
//! from. An edited file's objects belong to the service whose folder the file is in; an
//! object the person added there is rolled out with that service, one they removed is not.

use super::policy_facts::{self, object};
use crate::generate::layout::to_value;
use crate::model::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// A file of the generated configuration that a person edited.
#[derive(Debug, Clone, PartialEq)]
pub struct EditedFile {
    /// Its path relative to the output folder, e.g. `config/shop/orders/virtual-service.yaml`.
    pub path: String,
    /// The objects meshsmith generates into it.
    pub generated: Vec<Value>,
    /// The objects it holds now.
    pub on_disk: Vec<Value>,
}

/// One object of an edited file.
#[derive(Debug, Clone, PartialEq)]
pub struct EditedObject {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    /// The service whose folder the file is in.
    pub owner: QualifiedName,
    pub object: Value,
    /// The file it was read from, relative to the output folder.
    pub file: String,
}

/// Why a step cannot be built from an edited file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    /// The file, relative to the output folder.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// One object the rollout applies.
#[derive(Debug, Clone, Copy)]
pub enum ConfigObject<'a> {
    Generated(&'a Resource),
    Edited(&'a EditedObject),
}

impl<'a> ConfigObject<'a> {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Generated(r) => r.kind,
            Self::Edited(e) => e.kind,
        }
    }

    pub fn namespace(&self) -> &'a str {
        match self {
            Self::Generated(r) => &r.namespace,
            Self::Edited(e) => &e.namespace,
        }
    }

    pub fn name(&self) -> &'a str {
        match self {
            Self::Generated(r) => &r.name,
            Self::Edited(e) => &e.name,
        }
    }

    pub fn owner(&self) -> &'a QualifiedName {
        match self {
            Self::Generated(r) => &r.owner,
            Self::Edited(e) => &e.owner,
        }
    }

    /// The object as Kubernetes reads it.
    pub fn value(&self) -> Value {
        match self {
            Self::Generated(r) => to_value(r),
            Self::Edited(e) => e.object.clone(),
        }
    }

    pub fn annotation(&self, key: &str) -> Option<String> {
        match self {
            Self::Generated(r) => r.annotations.get(key).map(str::to_string),
            Self::Edited(e) => object::annotation(&e.object, key),
        }
    }

    /// A PeerAuthentication whose mode is STRICT.
    pub fn is_strict(&self) -> bool {
        match self {
            Self::Generated(r) => policy_facts::is_strict(r),
            Self::Edited(e) => {
                e.kind == Kind::PeerAuthentication && object::mtls_mode(&e.object) == Some("STRICT")
            }
        }
    }

    /// The principals an AuthorizationPolicy admits, sorted.
    pub fn principals(&self) -> Vec<String> {
        match self {
            Self::Generated(r) => policy_facts::principals(r),
            Self::Edited(e) => object::principals(&e.object),
        }
    }

    /// The workload ports an AuthorizationPolicy opens to callers without an identity.
    pub fn plain_ports(&self) -> Vec<u16> {
        match self {
            Self::Generated(r) => policy_facts::plain_ports(r),
            Self::Edited(e) => object::plain_ports(&e.object),
        }
    }
}

/// The objects a rollout applies; see the module documentation.
#[derive(Debug, Clone)]
pub struct RolloutConfig<'a> {
    config: &'a MeshConfig,
    /// (kind, namespace, name) of the generated resources an edited file replaces.
    replaced: HashSet<(Kind, String, String)>,
    edited: Vec<EditedObject>,
    /// The edited files of resources, relative to the output folder, sorted.
    files: Vec<String>,
}

type Key = (Kind, String, String);

fn key_of(v: &Value) -> Option<(&str, &str, &str)> {
    let kind = v["kind"].as_str()?;
    let name = v["metadata"]["name"].as_str()?;
    Some((
        kind,
        v["metadata"]["namespace"].as_str().unwrap_or(""),
        name,
    ))
}

/// The kinds a step can carry, by the `kind` written in the YAML.
fn kind_of(text: &str) -> Option<Kind> {
    Kind::ALL
        .into_iter()
        .find(|k| !k.is_patch() && k.as_str() == text)
}

impl<'a> RolloutConfig<'a> {
    /// The configuration exactly as generated.
    pub fn generated(config: &'a MeshConfig) -> Self {
        RolloutConfig {
            config,
            replaced: HashSet::new(),
            edited: Vec::new(),
            files: Vec::new(),
        }
    }

    /// The configuration with each edited file's objects in place of the generated ones;
    /// every file a step cannot be built from is an error.
    pub fn with_edits(
        config: &'a MeshConfig,
        files: &[EditedFile],
    ) -> Result<Self, Vec<EditError>> {
        let mut out = Self::generated(config);
        let mut errors = Vec::new();
        let mut seen: BTreeMap<Key, String> = BTreeMap::new();
        for file in files {
            let owners: Vec<&QualifiedName> = file
                .generated
                .iter()
                .filter_map(key_of)
                .filter_map(|(k, ns, name)| config.find(kind_of(k)?, ns, name))
                .map(|r| &r.owner)
                .collect();
            let Some(owner) = owners.first().copied() else {
                // Not a file of resources (a namespace patch, a kustomization): no step copies it.
                continue;
            };
            out.files.push(file.path.clone());
            for v in &file.generated {
                if let Some((k, ns, name)) = key_of(v) {
                    if let Some(kind) = kind_of(k) {
                        out.replaced
                            .insert((kind, ns.to_string(), name.to_string()));
                    }
                }
            }
            for v in &file.on_disk {
                match out.edited_object(file, owner, v) {
                    Ok(obj) => {
                        let key = (obj.kind, obj.namespace.clone(), obj.name.clone());
                        if let Some(first) = seen.insert(key, file.path.clone()) {
                            errors.push(EditError {
                                path: file.path.clone(),
                                message: format!(
                                    "{} {}/{} is also in {first}; keep it in one file",
                                    obj.kind.as_str(),
                                    obj.namespace,
                                    obj.name
                                ),
                            });
                        }
                        out.edited.push(obj);
                    }
                    Err(message) => errors.push(EditError {
                        path: file.path.clone(),
                        message,
                    }),
                }
            }
        }
        out.files.sort();
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    fn edited_object(
        &self,
        file: &EditedFile,
        owner: &QualifiedName,
        v: &Value,
    ) -> Result<EditedObject, String> {
        let kind_text = v["kind"].as_str().unwrap_or("(no kind)");
        let Some(kind) = kind_of(kind_text) else {
            return Err(format!(
                "a {kind_text} is not a kind the rollout applies (VirtualService, DestinationRule, \
                 PeerAuthentication, AuthorizationPolicy, Sidecar, ServiceEntry, ServiceAccount); move it out of \
                 config/ and apply it yourself, or run again with --force to restore the generated file"
            ));
        };
        let Some((_, ns, name)) = key_of(v) else {
            return Err(format!("a {kind_text} without metadata.name"));
        };
        let namespace = if ns.is_empty() {
            owner.namespace.as_str()
        } else {
            ns
        };
        let mut object = v.clone();
        if ns.is_empty() {
            // Where the file's folder puts it, as `kubectl apply -k` of config/ would not.
            object["metadata"]["namespace"] = Value::String(namespace.to_string());
        }
        Ok(EditedObject {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            owner: owner.clone(),
            object,
            file: file.path.clone(),
        })
    }

    /// Every object, the generated ones first, in the configuration's order.
    /// The manifests' objects that generated ones replace under their names.
    pub fn replaced(&self) -> &'a [ReplacedObject] {
        &self.config.replaced
    }

    pub fn objects(&self) -> impl Iterator<Item = ConfigObject<'_>> {
        self.config
            .resources
            .iter()
            .filter(|r| !r.kind.is_patch())
            .filter(move |r| {
                self.replaced.is_empty()
                    || !self
                        .replaced
                        .contains(&(r.kind, r.namespace.clone(), r.name.clone()))
            })
            .map(|r| ConfigObject::Generated(r))
            .chain(self.edited.iter().map(ConfigObject::Edited))
    }

    /// The generated patches that move workloads to accounts of their own, with the service
    /// each belongs to, in the configuration's order. Patches are applied by command, not
    /// copied into step folders, so a person's edit of one does not change the rollout.
    pub fn account_patches(&self) -> impl Iterator<Item = (&QualifiedName, &WorkloadPatchSpec)> {
        self.config.resources.iter().filter_map(|r| match &r.spec {
            Spec::WorkloadPatch(patch) => Some((&r.owner, patch)),
            _ => None,
        })
    }

    /// The generated patches that declare Services' ports, with the service each belongs to.
    /// Applied by command, like the account patches.
    pub fn port_patches(&self) -> impl Iterator<Item = (&QualifiedName, &ServicePatchSpec)> {
        self.config.resources.iter().filter_map(|r| match &r.spec {
            Spec::ServicePatch(patch) => Some((&r.owner, patch)),
            _ => None,
        })
    }

    /// Whether generation asks for the namespace's injection label (it has none yet).
    pub fn labels_namespace(&self, namespace: &str) -> bool {
        self.config
            .find(Kind::NamespacePatch, "", namespace)
            .is_some()
    }

    /// The edited files of resources whose objects the rollout applies as they are, sorted.
    pub fn edited_files(&self) -> &[String] {
        &self.files
    }
}
