//! The commented `meshsmith.yaml` that `meshsmith init` writes: every default spelled out, so
//! a person sees what they can change. Built from the defaults themselves, so it always
//! parses back to exactly [`Policy::default`].

use super::{defaults, Policy};
use crate::model::Role;
use std::fmt::Write;

/// The text of a fresh policy file.
pub fn init_template() -> String {
    let p = defaults::policy();
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        out,
        "# meshsmith policy: the defaults `meshsmith generate` applies, and your exceptions.\n\
         # Every key is optional; a key meshsmith does not know is an error, never ignored.\n\
         \n\
         # Trust domain of the mesh: principals are <trustDomain>/ns/<namespace>/sa/<account>.\n\
         trustDomain: {}\n\
         # Istio the configuration is written for; newer fields are left out for older ones.\n\
         istioVersion: \"{}\"\n\
         # Identity of the ingress gateway, allowed into services routed through it.\n\
         ingressGateway:\n  principal: {}\n\
         # Namespaces that get no configuration at all.\n\
         skipNamespaces: [{}]\n\
         \n\
         # Defaults per role. Roles are inferred from the manifests (see `meshsmith map`).\n\
         # retries.attempts counts retries after the first try; perTryTimeout, when left out,\n\
         # is chosen so that every try fits in the timeout; retryOn, when left out, retries\n\
         # only failures that never reached the application (plus gRPC `unavailable`).\n\
         roles:",
        p.trust_domain,
        p.istio_version,
        p.ingress_gateway_principal,
        p.skip_namespaces.join(", "),
    );
    for role in Role::ALL {
        role_block(&mut out, &p, role);
    }
    let _ = writeln!(
        out,
        "\n# How `meshsmith plan` paces the rollout: onboarding phases (workers, internal, core,\n\
         # exposed; a closing lock-down phase may follow) and the monitoring window after each.\n\
         # maxServicesPerPhase, when set, splits a phase that would onboard more services.\n\
         rollout:\n  phases: {}\n  window: {}\n  # maxServicesPerPhase: 5",
        p.rollout.phases,
        crate::plan::window_text(p.rollout.window),
    );
    gate_block(&mut out, &p.rollout.gate);
    out.push_str(
        "\n# How `meshsmith check` reports a code: off, info, warning or error (see `meshsmith\n\
         # explain` for every code), e.g. `MS106: off` when sidecar injection is namespace-wide.\n\
         checks: {}\n",
    );
    out.push_str(
        "\n# Cloud metadata endpoints (metadata.google.internal, 169.254.169.254, ...) and other\n\
         # link-local addresses the manifests name get no ServiceEntry and a finding\n\
         # (`meshsmith explain cloud-metadata-egress`) unless allowed here, each with a reason:\n\
         #   allow:\n\
         #     - host: metadata.google.internal\n\
         #       reason: \"the collector reads the instance's zone; Workload Identity limits what it gets\"\n\
         egress:\n  allow: []\n",
    );
    out.push_str(
        "\n# Per-service exceptions, keyed by `name` or `name.namespace`. Any role key above can be\n\
         # set here too, plus `role` and `mtls`. Anything but STRICT needs a reason, e.g.:\n\
         #   stripe-webhook.shop:\n\
         #     mtls: {mode: PERMISSIVE, reason: \"Stripe delivers webhooks over plain HTTPS via the load balancer\"}\n\
         #   payment-service:\n\
         #     role: external-integration\n\
         #     timeout: 8s\n\
         # Callers a person confirmed (with how), for a service whose callers the manifests do not\n\
         # show: its AuthorizationPolicy is then enforced instead of shipping in dry-run, e.g.:\n\
         #   reviews:\n\
         #     callers: [productpage]\n\
         #     reason: \"productpage's code calls http://reviews:9080; nothing else does\"\n\
         services: {}\n",
    );
    out
}

fn role_block(out: &mut String, p: &Policy, role: Role) {
    let d = p.role(role);
    let r = &d.retries;
    let _ = writeln!(out, "  {}:", role.as_str());
    let _ = writeln!(out, "    timeout: {}", d.timeout);
    let _ = writeln!(out, "    retries:");
    let _ = writeln!(out, "      attempts: {}", r.attempts);
    if let Some(t) = r.per_try_timeout {
        let _ = writeln!(out, "      perTryTimeout: {t}");
    }
    if let Some(on) = &r.retry_on {
        let _ = writeln!(out, "      retryOn: {}", on.join(","));
    }
    if let Some(b) = r.backoff {
        let _ = writeln!(out, "      backoff: {b}  # Istio 1.26 and later");
    }
    let c = &d.connection_pool;
    let _ = writeln!(
        out,
        "    connectionPool: {{maxConnections: {}, connectTimeout: {}, http1MaxPendingRequests: {}, http2MaxRequests: {}, maxRetries: {}}}",
        c.max_connections, c.connect_timeout, c.http1_max_pending_requests, c.http2_max_requests, c.max_retries
    );
    let o = &d.outlier_detection;
    let _ = writeln!(
        out,
        "    outlierDetection: {{consecutive5xxErrors: {}, interval: {}, baseEjectionTime: {}, maxEjectionPercent: {}}}",
        o.consecutive_5xx_errors, o.interval, o.base_ejection_time, o.max_ejection_percent
    );
    let b = &d.retry_budget;
    let _ = writeln!(
        out,
        "    retryBudget: {{percent: {}, minRetryConcurrency: {}}}  # Istio 1.27 and later",
        b.percent, b.min_retry_concurrency
    );
}

/// `rollout.gate:` with each threshold's value and the reason for its default.
fn gate_block(out: &mut String, g: &crate::model::GateThresholds) {
    let number = |n: f64| {
        if n.fract() == 0.0 {
            format!("{}", n as i64)
        } else {
            format!("{n}")
        }
    };
    let values = [
        g.min_requests.to_string(),
        number(g.error_rate_points),
        number(g.error_rate_factor),
        number(g.p99_factor),
        number(g.p99_added_ms),
        g.denials.to_string(),
        g.dry_run_denials.to_string(),
        g.plaintext_refusals.to_string(),
        g.outlier_ejections.to_string(),
    ];
    let _ = writeln!(
        out,
        "  # When `meshsmith gate` holds a phase (too little traffic) or rolls it back (a figure\n  \
         # of the window crossed its threshold against the baseline). An error rate or p99 rolls\n  \
         # back only when both of its thresholds are crossed.\n  gate:"
    );
    for ((key, reason), value) in crate::model::GateThresholds::reasons().iter().zip(values) {
        let _ = writeln!(out, "    # {reason}\n    {key}: {value}");
    }
}
