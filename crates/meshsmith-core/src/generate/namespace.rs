//! Namespace label changes for sidecar injection, as merge patches (never a rewrite of the
//! Namespace, which the team owns).
//!
//! In: the namespaces of the services that get configuration, and the labels those
//! Namespaces have in the input. Out: a patch adding `istio-injection: enabled` for each
//! namespace that neither has it nor selects a revision with `istio.io/rev`, and a note for
//! each workload that opts out of injection. A namespace labelled `istio-injection:
//! disabled` opted out: it gets a note, never a patch that turns injection on.

use super::Context;
use crate::model::*;
use std::collections::BTreeSet;

pub(crate) fn build(cx: &Context, out: &mut MeshConfig) {
    for t in &cx.targets {
        for w in t
            .service
            .workloads
            .iter()
            .filter(|w| w.sidecar_annotation == Some(false))
        {
            out.notes.push(format!(
                "{}: workload {} opts out of injection (sidecar.istio.io/inject: \"false\"); its policies take effect only with a sidecar",
                t.service.id, w.name
            ));
        }
        for w in t.service.workloads.iter().filter(|w| w.host_network) {
            out.notes.push(format!(
                "{}: workload {}: {}; its policies take effect only with a sidecar",
                t.service.id,
                w.name,
                super::outside::HOST_NETWORK
            ));
        }
    }
    let namespaces: BTreeSet<&str> = cx
        .targets
        .iter()
        .filter(|t| !t.service.workloads.is_empty())
        .map(|t| t.service.id.namespace.as_str())
        .collect();
    for ns in namespaces {
        let labels = cx.options.namespace_labels.get(ns);
        let injection = labels.and_then(|l| l.get("istio-injection"));
        let revision = labels.is_some_and(|l| l.contains_key("istio.io/rev"));
        if injection == Some("enabled") || (revision && injection.is_none()) {
            continue;
        }
        if injection == Some("disabled") {
            // An explicit opt-out: never overridden. Its workloads' callees admit them
            // without identity instead (see `outside`).
            out.notes.push(format!(
                "namespace {ns} is labelled istio-injection: disabled: its workloads get no sidecar and \
                 their policies take no effect; their callees stay PERMISSIVE for them and admit them \
                 without identity on the ports they call"
            ));
            continue;
        }
        let why = match (labels, injection) {
            (None, _) => "namespace not in the input: injection state unknown".to_string(),
            (Some(_), Some(value)) => {
                format!("istio-injection is `{value}`: sidecars would not be injected")
            }
            (Some(_), None) => "no injection label: sidecars would not be injected".to_string(),
        };
        let patch = StringMap::from([("istio-injection".to_string(), "enabled".to_string())]);
        let owner = QualifiedName::new(ns, "");
        let mut res = cx.resource(
            Kind::NamespacePatch,
            ns,
            &owner,
            Spec::NamespacePatch(patch),
        );
        res.namespace = String::new();
        res.reasons = cx.kept(|| {
            vec![Reason::new(
                "metadata.labels.istio-injection",
                "enabled",
                why,
            )]
        });
        out.resources.push(Box::new(res));
    }
}
