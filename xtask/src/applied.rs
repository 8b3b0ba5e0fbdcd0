//! What a cluster holds after the manifests and then meshsmith's output are applied, and
//! istioctl's verdict on it.
//!
//! ```text
//!  manifests ──load──▶ Cluster (user's objects)
//!  config/ or a step ──kubectl kustomize──▶ apply ──┐
//!  `kubectl patch ...` of a step ───────────────────┴─▶ Cluster (objects, who wrote each)
//!  Cluster ──write──▶ state.yaml ──istioctl analyze --use-kube=false──▶ messages
//! ```
//!
//! Objects are keyed as the API server keys them (API group, kind, namespace, name); a
//! namespaced object written without a namespace lands in `default`, as `kubectl apply`
//! puts it. Applying an object replaces the one of the same key; a patch changes it in
//! place, as a merge patch (RFC 7386, `--type merge`) or a strategic merge patch (kubectl's
//! default: lists with a merge key, such as a Service's ports, merge element by element).
//! The rollout's steps are replayed from their commands in plan.json: `kubectl apply -k`,
//! `kubectl delete -k`, `kubectl patch ... -p/--patch-file` and `kubectl label`; commands
//! that change nothing stored (restarts, waits, `curl`, the smoke tests' `sh phase-N/smoke.sh`)
//! are passed over, and any other `kubectl` command is an error, so a new kind of step cannot
//! go unjudged.

use anyhow::{anyhow, bail, Context};
use meshsmith_core::check::istioctl::{parse, IstioctlMessage};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An object's identity: API group, kind, namespace ("" when cluster-scoped), name.
pub type Key = (String, String, String, String);

/// Who put an object where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The manifests meshsmith read (a merge patch from meshsmith leaves this as it is).
    User,
    Meshsmith,
}

/// The objects a cluster would hold.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub objects: BTreeMap<Key, (Author, Value)>,
    /// Objects of the manifests that meshsmith's output replaced outright (it may only add
    /// objects or patch them), as `Kind namespace/name`.
    pub replaced: Vec<String>,
}

/// Kinds without a namespace.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "GatewayClass",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
];

/// Every Kubernetes object of a YAML stream (the items of a `kind: List` one by one);
/// documents without `apiVersion`, `kind` and `metadata.name` (patches, ground truth files)
/// are passed over.
pub fn objects_of(text: &str, name: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).with_context(|| format!("reading {name}"))?;
        collect(value, &mut out);
    }
    Ok(out)
}

fn collect(value: Value, out: &mut Vec<Value>) {
    if value["kind"] == "List" {
        if let Value::Object(mut list) = value {
            if let Some(Value::Array(items)) = list.remove("items") {
                items.into_iter().for_each(|i| collect(i, out));
            }
        }
        return;
    }
    let named = value["metadata"]["name"].is_string();
    if value["apiVersion"].is_string() && value["kind"].is_string() && named {
        out.push(value);
    }
}

fn key_of(object: &mut Value) -> Key {
    let api = object["apiVersion"].as_str().unwrap_or("");
    let group = api.rsplit_once('/').map_or("", |(g, _)| g).to_string();
    let kind = object["kind"].as_str().unwrap_or("").to_string();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let namespace = if CLUSTER_SCOPED.contains(&kind.as_str()) {
        String::new()
    } else {
        let ns = object["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_string();
        object["metadata"]["namespace"] = Value::String(ns.clone());
        ns
    };
    (group, kind, namespace, name)
}

/// `Kind namespace/name`, as istioctl names a resource.
pub fn display(key: &Key) -> String {
    let (_, kind, ns, name) = key;
    if ns.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {ns}/{name}")
    }
}

/// Every `.yaml`, `.yml` and `.json` file under `path` (or `path` itself), sorted.
pub fn yaml_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut found = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

impl Cluster {
    /// The objects of the manifests under `paths`.
    pub fn of_manifests(paths: &[PathBuf]) -> anyhow::Result<Cluster> {
        let mut cluster = Cluster::default();
        for file in paths.iter().flat_map(|p| yaml_files(p)) {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let objects = objects_of(&text, &file.display().to_string())?;
            cluster.apply(objects, Author::User);
        }
        Ok(cluster)
    }

    /// Creates or replaces each object.
    pub fn apply(&mut self, objects: Vec<Value>, author: Author) {
        for mut object in objects {
            let key = key_of(&mut object);
            let before = self.objects.insert(key.clone(), (author, object));
            let was_users = before.is_some_and(|(a, _)| a == Author::User);
            if author == Author::Meshsmith && was_users && !self.replaced.contains(&display(&key)) {
                self.replaced.push(display(&key));
            }
        }
    }

    /// Deletes each object (what `kubectl delete --ignore-not-found` does).
    pub fn delete(&mut self, objects: Vec<Value>) {
        for mut object in objects {
            self.objects.remove(&key_of(&mut object));
        }
    }

    /// Merges `patch` into the object `kind/name` of `namespace` (RFC 7386).
    pub fn merge_patch(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> anyhow::Result<()> {
        self.patch(kind, namespace, name, patch, Patch::Merge)
    }

    /// Patches the object `kind/name` of `namespace` as kubectl's patch of that type does.
    pub fn patch(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
        style: Patch,
    ) -> anyhow::Result<()> {
        let combine = |target: &mut Value, patch: &Value| match style {
            Patch::Merge => merge(target, patch),
            Patch::Strategic => strategic_merge(target, patch),
        };
        let found = self.objects.iter_mut().find(|((_, k, ns, n), _)| {
            k.eq_ignore_ascii_case(kind) && n == name && (ns.is_empty() || ns == namespace)
        });
        if let Some((_, (_, object))) = found {
            combine(object, patch);
            return Ok(());
        }
        if kind != "Namespace" {
            bail!("no {kind} {namespace}/{name} to patch");
        }
        // A cluster has every namespace its objects live in, written in the manifests or not
        // (`default` always).
        let mut namespace = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        combine(&mut namespace, patch);
        self.apply(vec![namespace], Author::User);
        Ok(())
    }

    /// Every object as one YAML stream, in key order.
    pub fn to_yaml(&self) -> anyhow::Result<String> {
        let mut out = String::new();
        for (_, object) in self.objects.values() {
            out.push_str("---\n");
            out.push_str(&yaml_serde::to_string(object)?);
        }
        Ok(out)
    }
}

/// How a patch combines with the object it patches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patch {
    /// RFC 7386 (`--type merge`): lists are replaced whole.
    Merge,
    /// Kubernetes' strategic merge patch (kubectl's default): as a merge patch, except that
    /// the lists Kubernetes declares with a merge key merge element by element on that key.
    Strategic,
}

/// The merge key of the lists of built-in kinds a strategic merge patch merges by element
/// (the `patchMergeKey` of the Kubernetes API types), by the list's field name; other
/// lists are replaced.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        // ServiceSpec.ports
        "ports" => Some("port"),
        // PodSpec containers, init containers, volumes; Container env
        "containers" | "initContainers" | "volumes" | "env" => Some("name"),
        // Container volumeMounts
        "volumeMounts" => Some("mountPath"),
        _ => None,
    }
}

/// A strategic merge patch: [`merge`], with lists of a known merge key merged element by
/// element (an element of the patch replaces-by-merging the element of the same key, or is
/// appended).
fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
            continue;
        }
        match (merge_key(key), value, map.get_mut(key)) {
            (Some(merge_key), Value::Array(items), Some(Value::Array(existing))) => {
                for item in items {
                    let id = item.get(merge_key);
                    match existing
                        .iter_mut()
                        .find(|e| id.is_some() && e.get(merge_key) == id)
                    {
                        Some(element) => strategic_merge(element, item),
                        None => existing.push(item.clone()),
                    }
                }
            }
            _ => strategic_merge(map.entry(key.clone()).or_insert(Value::Null), value),
        }
    }
}

/// RFC 7386: objects merge key by key, `null` deletes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// `kubectl kustomize dir`: the objects of a kustomization folder.
pub fn kustomize(kubectl: &Path, dir: &Path) -> anyhow::Result<Vec<Value>> {
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir)
        .output()
        .with_context(|| format!("running {}", kubectl.display()))?;
    if !out.status.success() {
        bail!(
            "kubectl kustomize {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    objects_of(
        &String::from_utf8_lossy(&out.stdout),
        &dir.display().to_string(),
    )
}

/// The merge patches `generate` writes beside the configuration, each with the command
/// that applies it in its second line (`# Merge patch, not a full Namespace: kubectl patch
/// namespace shop --type merge --patch-file shop/namespace-patch.yaml`), as the commands.
pub fn config_patch_commands(config: &Path) -> Vec<String> {
    let mut commands = Vec::new();
    for file in yaml_files(config) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for line in text.lines().take(3) {
            if let Some((_, command)) = line.split_once(": kubectl patch ") {
                if line.starts_with("# Merge patch") {
                    commands.push(format!("kubectl patch {command}"));
                }
            }
        }
    }
    commands
}

/// Carries out one command of the rollout in `cluster`; `dir` is the folder commands run
/// from. Commands that store nothing are passed over.
pub fn run_command(
    cluster: &mut Cluster,
    kubectl: &Path,
    dir: &Path,
    command: &str,
) -> anyhow::Result<()> {
    let words = shell_words(command);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["kubectl", "apply", "-k", folder] => {
            let objects = kustomize(kubectl, &dir.join(folder))?;
            cluster.apply(objects, Author::Meshsmith);
        }
        ["kubectl", "delete", "-k", folder, ..] => {
            let objects = kustomize(kubectl, &dir.join(folder))?;
            cluster.delete(objects);
        }
        ["kubectl", "patch", target, rest @ ..] => patch(cluster, dir, target, rest)?,
        ["kubectl", "label", kind, name, rest @ ..] => label(cluster, kind, name, rest)?,
        ["kubectl", "rollout" | "run" | "get" | "logs" | "wait" | "exec", ..] => {}
        ["kubectl", ..] => bail!("a command the replay does not know: {command}"),
        _ => {}
    }
    Ok(())
}

fn namespace_of<'a>(rest: &[&'a str]) -> &'a str {
    rest.windows(2)
        .find(|w| w[0] == "-n" || w[0] == "--namespace")
        .map_or("default", |w| w[1])
}

fn flag<'a>(rest: &[&'a str], name: &str) -> Option<&'a str> {
    rest.windows(2).find(|w| w[0] == name).map(|w| w[1])
}

/// `kubectl patch KIND/NAME [-n NS] --type merge (-p JSON | --patch-file FILE)`, or
/// `kubectl patch namespace NAME ...`.
fn patch(cluster: &mut Cluster, dir: &Path, target: &str, rest: &[&str]) -> anyhow::Result<()> {
    let (kind, name, rest) = match target.split_once('/') {
        Some((kind, name)) => (kind, name, rest),
        None => match rest.split_first() {
            Some((name, rest)) => (target, *name, rest),
            None => bail!("kubectl patch {target}: no name"),
        },
    };
    // kubectl's default for built-in kinds is a strategic merge patch.
    let strategic = match flag(rest, "--type") {
        Some("merge") => false,
        None | Some("strategic") => true,
        Some(other) => bail!("kubectl patch {target}: --type {other} patches are not replayed"),
    };
    let patch: Value = match (flag(rest, "-p"), flag(rest, "--patch-file")) {
        (Some(json), _) => serde_json::from_str(json)?,
        (None, Some(file)) => {
            let text = std::fs::read_to_string(dir.join(file))
                .with_context(|| format!("reading {file}"))?;
            yaml_serde::from_str(&text).with_context(|| format!("reading {file}"))?
        }
        (None, None) => bail!("kubectl patch {target}: no patch"),
    };
    let kind = match kind {
        "deployment" | "deploy" => "Deployment",
        "statefulset" | "sts" => "StatefulSet",
        "daemonset" | "ds" => "DaemonSet",
        "namespace" | "ns" => "Namespace",
        "serviceaccount" | "sa" => "ServiceAccount",
        "service" | "svc" => "Service",
        other => other,
    };
    let style = if strategic {
        Patch::Strategic
    } else {
        Patch::Merge
    };
    cluster.patch(kind, namespace_of(rest), name, &patch, style)
}

/// `kubectl label namespace NAME key=value... [--overwrite]` (and `key-` to take one off).
fn label(cluster: &mut Cluster, kind: &str, name: &str, rest: &[&str]) -> anyhow::Result<()> {
    let kind = match kind {
        "namespace" | "ns" => "Namespace",
        other => bail!("kubectl label {other}: only namespaces are replayed"),
    };
    let mut labels = Map::new();
    for word in rest.iter().filter(|w| !w.starts_with('-')) {
        match word.split_once('=') {
            Some((k, v)) => labels.insert(k.to_string(), Value::String(v.to_string())),
            None => labels.insert(word.trim_end_matches('-').to_string(), Value::Null),
        };
    }
    let patch = serde_json::json!({"metadata": {"labels": labels}});
    cluster.merge_patch(kind, "", name, &patch)
}

/// A command line split as a POSIX shell splits it (single and double quotes); a `#`
/// comment line is no words.
fn shell_words(command: &str) -> Vec<String> {
    if command.trim_start().starts_with('#') {
        return Vec::new();
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut any = false;
    for c in command.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// `istioctl analyze` offline, over every namespace, passing over files that are not
/// Kubernetes objects, with JSON messages: the files to analyze follow.
pub const ANALYZE_OFFLINE: [&str; 6] = [
    "analyze",
    "--use-kube=false",
    "-A",
    "--ignore-unknown",
    "-o",
    "json",
];

/// `istioctl analyze --use-kube=false -A` on one file: its messages.
pub fn analyze(istioctl: &Path, file: &Path) -> anyhow::Result<Vec<IstioctlMessage>> {
    let out = Command::new(istioctl)
        .args(ANALYZE_OFFLINE)
        .arg(file)
        .output()
        .with_context(|| format!("running {}", istioctl.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text, "default").ok_or_else(|| {
        anyhow!(
            "istioctl gave no JSON on {} ({}): {}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

/// One state of the cluster, written out for istioctl.
#[derive(Debug, Clone)]
pub struct State {
    /// `manifests`, `config/` or a step's id (`phase-2/3-destination-rules`).
    pub label: String,
    pub file: PathBuf,
    /// Objects of the manifests that meshsmith replaced on the way here.
    pub replaced: Vec<String>,
}

/// The states to judge, written under `work`: the manifests alone; the manifests with
/// `config/` (and the patches beside it) applied; and the manifests with each step of
/// plan.json applied in order, one state after each.
pub fn states(
    kubectl: &Path,
    manifests: &[PathBuf],
    plan_dir: &Path,
    work: &Path,
) -> anyhow::Result<Vec<State>> {
    let users = Cluster::of_manifests(manifests)?;
    let mut out = Vec::new();
    let mut write = |label: &str, cluster: &Cluster| -> anyhow::Result<()> {
        let file = work.join(format!("state-{:03}.yaml", out.len()));
        std::fs::write(&file, cluster.to_yaml()?)?;
        out.push(State {
            label: label.to_string(),
            file,
            replaced: cluster.replaced.clone(),
        });
        Ok(())
    };
    write("manifests", &users)?;

    let config = plan_dir.join("config");
    let mut final_config = users.clone();
    final_config.apply(kustomize(kubectl, &config)?, Author::Meshsmith);
    for command in config_patch_commands(&config) {
        run_command(&mut final_config, kubectl, &config, &command)?;
    }
    write("config/", &final_config)?;
    drop(final_config);

    let plan_file = plan_dir.join("plan.json");
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file)?)
        .with_context(|| format!("reading {}", plan_file.display()))?;
    let mut cluster = users;
    for phase in plan["phases"].as_array().into_iter().flatten() {
        for step in phase["steps"].as_array().into_iter().flatten() {
            let id = step["id"].as_str().unwrap_or("?");
            for command in step["commands"].as_array().into_iter().flatten() {
                let command = command.as_str().unwrap_or("");
                run_command(&mut cluster, kubectl, plan_dir, command)
                    .with_context(|| format!("step {id}"))?;
            }
            write(id, &cluster)?;
        }
    }
    Ok(out)
}

/// An Error or Warning istioctl gives on a state: (code, resource, message).
pub type Verdict = (String, String, String);

/// istioctl's Errors and Warnings on each state, in parallel, in the states' order.
pub fn verdicts(istioctl: &Path, states: &[State]) -> anyhow::Result<Vec<Vec<Verdict>>> {
    use rayon::prelude::*;
    states
        .par_iter()
        .map(|s| {
            let messages = analyze(istioctl, &s.file)?;
            let mut found: Vec<Verdict> = messages
                .into_iter()
                .filter(|m| m.severity != meshsmith_core::model::Severity::Info)
                .map(|m| (m.code, m.resource.unwrap_or_default(), m.message))
                .collect();
            found.sort();
            found.dedup();
            Ok(found)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFESTS: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n\
        spec: {template: {metadata: {labels: {app: web}}}}\n---\n\
        apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
        apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}}\n\
        ---\nspec: {a: patch}\n";

    fn cluster() -> Cluster {
        let mut c = Cluster::default();
        c.apply(objects_of(MANIFESTS, "m.yaml").expect("yaml"), Author::User);
        c
    }

    /// The Namespace `name` as the cluster holds it.
    fn namespace<'c>(c: &'c Cluster, name: &str) -> &'c serde_json::Value {
        &c.objects[&(
            String::new(),
            "Namespace".into(),
            String::new(),
            name.to_string(),
        )]
            .1
    }

    #[test]
    fn objects_are_keyed_as_the_api_server_keys_them() {
        let c = cluster();
        let keys: Vec<String> = c.objects.keys().map(display).collect();
        assert_eq!(
            keys,
            [
                "Namespace shop",
                "Service shop/web",
                "Deployment default/web"
            ]
        );
    }

    #[test]
    fn steps_replay_merge_patches_labels_and_report_replaced_objects() {
        let mut c = cluster();
        let kubectl = Path::new("kubectl");
        let cmd = r#"kubectl patch deployment/web -n default --type merge -p '{"spec":{"template":{"metadata":{"labels":{"sidecar.istio.io/inject":"true","app":null}}}}}'"#;
        run_command(&mut c, kubectl, Path::new("."), cmd).expect("patch");
        let web = &c.objects[&(
            "apps".into(),
            "Deployment".into(),
            "default".into(),
            "web".into(),
        )]
            .1;
        assert_eq!(
            web["spec"]["template"]["metadata"]["labels"],
            serde_json::json!({"sidecar.istio.io/inject": "true"})
        );
        run_command(
            &mut c,
            kubectl,
            Path::new("."),
            "kubectl label namespace shop istio-injection=enabled --overwrite",
        )
        .expect("label");
        assert_eq!(
            namespace(&c, "shop")["metadata"]["labels"]["istio-injection"],
            "enabled"
        );
        for harmless in [
            "kubectl rollout restart deployment/web -n default",
            "# a comment",
            "curl -s x",
            "sh phase-1/smoke.sh smoke-web-api",
        ] {
            run_command(&mut c, kubectl, Path::new("."), harmless).expect("passed over");
        }
        let unknown = run_command(
            &mut c,
            kubectl,
            Path::new("."),
            "kubectl scale deployment/web --replicas=0",
        );
        assert!(unknown.is_err());
        c.apply(
            objects_of(
                "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n",
                "x",
            )
            .expect("yaml"),
            Author::Meshsmith,
        );
        assert_eq!(c.replaced, ["Service shop/web"]);
    }

    #[test]
    fn a_strategic_patch_merges_service_ports_by_port_and_a_merge_patch_replaces_them() {
        let service = "apiVersion: v1\nkind: Service\nmetadata: {name: mq, namespace: shop}\n\
            spec: {selector: {app: mq}, ports: [{name: amqp, port: 5672}, {name: mgmt, port: 15672, nodePort: 30001}]}\n";
        let kubectl = Path::new("kubectl");
        let mut c = Cluster::default();
        c.apply(objects_of(service, "s.yaml").expect("yaml"), Author::User);
        let cmd = r#"kubectl patch service/mq -n shop -p '{"spec":{"ports":[{"port":15672,"appProtocol":"http"},{"port":5672,"appProtocol":"tcp"}]}}'"#;
        run_command(&mut c, kubectl, Path::new("."), cmd).expect("strategic patch");
        let key = (String::new(), "Service".into(), "shop".into(), "mq".into());
        assert_eq!(
            c.objects[&key].1["spec"]["ports"],
            serde_json::json!([
                {"name": "amqp", "port": 5672, "appProtocol": "tcp"},
                {"name": "mgmt", "port": 15672, "nodePort": 30001, "appProtocol": "http"}
            ])
        );
        assert_eq!(c.objects[&key].1["spec"]["selector"]["app"], "mq");
        // The rollback takes the declaration off again, element by element.
        let undo = r#"kubectl patch service/mq -n shop -p '{"spec":{"ports":[{"port":15672,"appProtocol":null}]}}'"#;
        run_command(&mut c, kubectl, Path::new("."), undo).expect("strategic patch");
        assert_eq!(
            c.objects[&key].1["spec"]["ports"][1],
            serde_json::json!({"name": "mgmt", "port": 15672, "nodePort": 30001})
        );
        let replace = r#"kubectl patch service/mq -n shop --type merge -p '{"spec":{"ports":[{"port":80}]}}'"#;
        run_command(&mut c, kubectl, Path::new("."), replace).expect("merge patch");
        assert_eq!(
            c.objects[&key].1["spec"]["ports"],
            serde_json::json!([{"port": 80}])
        );
        let json = r#"kubectl patch service/mq -n shop --type json -p '[]'"#;
        assert!(run_command(&mut c, kubectl, Path::new("."), json).is_err());
    }

    #[test]
    fn the_patch_commands_beside_the_configuration_are_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("namespace-patch.yaml"),
            "# Generated by meshsmith\n# Merge patch, not a full Namespace: kubectl patch namespace shop --type merge --patch-file namespace-patch.yaml\nmetadata: {labels: {istio-injection: enabled}}\n",
        )
        .expect("write");
        let commands = config_patch_commands(dir.path());
        assert_eq!(
            commands,
            ["kubectl patch namespace shop --type merge --patch-file namespace-patch.yaml"]
        );
        let mut c = cluster();
        run_command(&mut c, Path::new("kubectl"), dir.path(), &commands[0]).expect("patch");
        assert_eq!(
            namespace(&c, "shop")["metadata"]["labels"]["istio-injection"],
            "enabled"
        );
    }
}
