//! Rule MS302 `crd-schema-violation`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS302`, the SARIF rule metadata and the generated docs read it.

use crate::check::hosts::resource_label;
use crate::check::macros::declare_rule;
use crate::check::schema::{line_at, CrdSchemas};
use crate::check::Context;
use crate::model::Finding;
use jsonschema::error::ValidationErrorKind;

declare_rule! {
    /// ## What it does
    /// Validates every Istio resource against the CustomResourceDefinitions given with
    /// `--crds DIR` (for example the output of `kubectl get crd -o yaml` from the target
    /// cluster): field names, types, enums, ranges, and whether the cluster serves the
    /// resource's `apiVersion` at all. Unknown fields are errors, as under
    /// `kubectl apply --validate=strict`.
    ///
    /// ## Why it matters
    /// Configuration written for a newer Istio than the cluster runs is rejected by the API
    /// server (or, for unknown fields, silently dropped), so the rollout fails or does less
    /// than the review said.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// spec:
    ///   hosts: [orders]
    ///   http:
    ///     - timout: 3s        # unknown field
    /// ```
    ///
    /// ## Fix
    /// Correct the field, or use an `apiVersion` and fields the cluster's Istio supports.
    /// CEL rules (`x-kubernetes-validations`) are not run; MS301 covers the common ones.
    ///
    /// ## istioctl
    /// Not mapped. istioctl's IST0106 comes from istiod's validation code, not from the
    /// CustomResourceDefinitions a cluster serves: each finds errors the other does not (an
    /// `apiVersion` the cluster does not serve; a Gateway without servers).
    pub struct CrdSchemaViolation {
        code: "MS302",
        name: "crd-schema-violation",
        severity: Error,
        istio: None,
    }
}

pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    if ctx.config.crds.is_empty() {
        return;
    }
    let schemas = CrdSchemas::new(&ctx.config.crds);
    for res in &ctx.inventory.istio {
        let group = res.group();
        if !schemas.knows_kind(group, &res.kind) {
            continue;
        }
        let version = res.api_version.rsplit_once('/').map_or("", |(_, v)| v);
        let key = (group.to_string(), res.kind.to_string(), version.to_string());
        let mut report = |line: u32, message: String| {
            out.push(CrdSchemaViolation::META.finding(
                resource_label(res),
                Some(crate::model::Origin::new(&res.file, line.max(res.line))),
                message,
                "correct the field, or target an apiVersion the cluster's CRDs serve",
            ));
        };
        match schemas.schemas.get(&key) {
            None => report(
                res.line,
                format!("{} is not served by the given CRDs", res.api_version),
            ),
            Some(Err(e)) => report(
                res.line,
                format!(
                    "the CRD schema for {} {} does not compile: {e}",
                    res.kind, version
                ),
            ),
            Some(Ok(validator)) => {
                let json = res.to_json();
                let mut errors: Vec<(String, String, u32)> = validator
                    .iter_errors(&json)
                    .map(|e| {
                        let pointer = e.instance_path().as_str().to_string();
                        // Point at the unexpected key itself rather than at its parent.
                        let at = match e.kind() {
                            ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                                .first()
                                .map_or(pointer.clone(), |k| format!("{pointer}/{k}")),
                            _ => pointer.clone(),
                        };
                        let line = match at.strip_prefix("/spec") {
                            Some(rest)
                                if res.spec.line > 0
                                    && (rest.is_empty() || rest.starts_with('/')) =>
                            {
                                line_at(&res.spec, rest)
                            }
                            _ => res.line,
                        };
                        (pointer, e.to_string(), line)
                    })
                    .collect();
                errors.sort();
                errors.dedup();
                for (pointer, message, line) in errors {
                    let shown = if pointer.is_empty() { "/" } else { &pointer };
                    report(line, format!("{shown}: {message}"));
                }
            }
        }
    }
}
