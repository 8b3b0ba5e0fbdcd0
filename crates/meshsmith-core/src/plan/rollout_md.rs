//! [`Plan`] -> text for people: `ROLLOUT.md` (every phase with its services, exact commands,
//! smoke tests (the script that runs them and the first few by name), metrics, window and
//! rollback) and a short outline for the terminal.
//! Commands are run from the output folder, where every path they name exists.

use crate::model::*;
use std::fmt::Write;

fn names(list: &[QualifiedName]) -> String {
    if list.is_empty() {
        return "-".to_string();
    }
    list.iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A caller as people name it; one outside the cluster has no namespace.
fn who(q: &QualifiedName) -> String {
    if q.namespace.is_empty() {
        q.name.to_string()
    } else {
        q.to_string()
    }
}

/// A few lines per phase: its title, services, steps and lock-downs.
pub fn outline(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Rollout: {} phases, {} monitoring window after each",
        plan.phases.len(),
        plan.window
    );
    for p in &plan.phases {
        let _ = writeln!(out, "  phase {}: {}", p.number, p.title);
        if !p.services.is_empty() {
            let _ = writeln!(out, "    onboard: {}", names(&p.services));
        }
        if !p.locked.is_empty() {
            let _ = writeln!(out, "    lock down: {}", names(&p.locked));
        }
        let steps: Vec<&str> = p.steps.iter().map(|s| s.action.as_str()).collect();
        let _ = writeln!(out, "    steps: {}", steps.join(", "));
    }
    for h in &plan.held {
        let _ = writeln!(out, "  held: {}: {}", h.service, h.reason);
    }
    out
}

/// The whole of `ROLLOUT.md`.
pub fn rollout_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    write_rollout_markdown(&mut out, plan);
    out
}

/// `ROLLOUT.md` appended to `out` (which may hold the room for its header).
pub fn write_rollout_markdown(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "\n# Rollout plan\n");
    let _ = writeln!(
        out,
        "Run every command from this folder. Each step is one `kubectl apply -k` of a folder that \
         holds the exact resources it changes; `config/` holds the final configuration as \
         `meshsmith generate` writes it.\n\n\
         Order: background workers, internal services, core services, then the gateway and \
         everything exposed to outside traffic. Each service first gets its sidecar with mTLS \
         PERMISSIVE and its AuthorizationPolicy in dry-run (`istio.io/dry-run: \"true\"`), then \
         its DestinationRule (circuit breaker) before its VirtualService (timeouts, retries). \
         It goes STRICT, and its AuthorizationPolicy is enforced, only in a phase after every \
         one of its callers has a sidecar and its dry-run results were looked at. The callees \
         of the last tier can only be locked down after that tier is meshed, so a closing \
         lock-down phase follows the onboarding phases.\n\n\
         Each workload gets its sidecar in its own phase: where a namespace holds services of \
         more than one phase, each phase labels the pod template of each workload it onboards \
         `sidecar.istio.io/inject: \"true\"` (a merge patch, which restarts the workload), so \
         no restart meshes a workload ahead of its phase; a namespace whose workloads all join \
         in one phase is labelled `istio-injection=enabled` then. Each rollback takes off \
         exactly the label its step put on, and restarts. In a namespace that injects already, \
         the restart is all a step does, and its rollback opts the workload out \
         (`sidecar.istio.io/inject: \"false\"`). A namespace labelled \
         `istio-injection=disabled`, or a workload labelled or annotated \"false\", gets no \
         sidecar; a service it calls stays PERMISSIVE for it and admits its requests without \
         identity on the ports it calls, and is still locked down (enforced) once its other \
         callers are meshed.\n\n\
         A caller that shared its ServiceAccount with workloads that do not call what it calls \
         gets one of its own first: the phase that onboards it applies the account and patches \
         its pod template's `serviceAccountName` (a restart), long before any service it calls \
         is locked down, since the enforced policies name the new account. Its rollback patches \
         the workload back to the account its manifest names and deletes the new one.\n\n\
         Each phase's smoke tests are one script, `phase-N/smoke.sh`: `sh phase-N/smoke.sh` \
         runs them all and says `ok` or `FAIL` for each, `sh phase-N/smoke.sh NAME...` runs the \
         named ones. They run in throwaway pods (`kubectl run --rm`, images `curlimages/curl` \
         and `busybox`) in the caller's namespace, under its service account and, once the \
         caller has one, with a sidecar; nothing assumes a tool inside your own images.\n\n\
         Wait {} after each phase before going on. Roll back a phase by running its steps' \
         rollbacks, last step first; each rollback is safe even after later phases are in place \
         (taking a sidecar away also returns the services it calls to PERMISSIVE and dry-run, \
         and going back from STRICT re-applies PERMISSIVE rather than deleting, since a deleted \
         policy falls back to a default that may be STRICT).\n\n\
         The Envoy metrics below (outlier ejections, dry-run denials, refused plaintext) are \
         exported by Istio's proxies only when \
         `meshConfig.defaultConfig.proxyStatsMatcher.inclusionRegexps` includes \
         `.*outlier_detection.*`, `.*rbac.*` and `.*no_filter_chain_match.*`.\n\n\
         At the end of each window, `meshsmith gate` compares the window's metrics with the \
         window before the phase and says proceed, hold (too little traffic to judge) or roll \
         back (with the figures and the phase's rollback commands); each phase's \
         \"Gate at the end of the window\" gives the commands.\n",
        plan.window
    );
    for p in &plan.phases {
        phase(out, p, &plan.window);
    }
    if !plan.held.is_empty() {
        let _ = writeln!(out, "## Held\n\nThese stay PERMISSIVE and in dry-run at the end of the plan; lock them down by hand once the reason is gone:\n");
        for h in &plan.held {
            let _ = writeln!(out, "- {}: {}", h.service, h.reason);
        }
        out.push('\n');
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(out, "## Not in the rollout\n");
        for s in &plan.skipped {
            let _ = writeln!(out, "- {}: {}", s.service, s.reason);
        }
        out.push('\n');
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "## Notes\n");
        for n in &plan.notes {
            let _ = writeln!(out, "- {n}");
        }
        out.push('\n');
    }
}

fn phase(out: &mut String, p: &Phase, window: &str) {
    let _ = writeln!(out, "## Phase {}: {}\n", p.number, p.title);
    let _ = writeln!(out, "- Onboards: {}", names(&p.services));
    let _ = writeln!(out, "- Locks down (STRICT, enforced): {}", names(&p.locked));
    let _ = writeln!(out, "- Monitoring window: {window}\n");
    for s in &p.steps {
        let _ = writeln!(out, "### Step {}\n", s.id);
        let _ = writeln!(out, "Services: {}\n", names(&s.services));
        let _ = writeln!(out, "```sh");
        for c in &s.commands {
            let _ = writeln!(out, "{c}");
        }
        let _ = writeln!(out, "```\n");
        let _ = writeln!(out, "Rollback:\n\n```sh");
        for c in &s.rollback.commands {
            let _ = writeln!(out, "{c}");
        }
        let _ = writeln!(out, "```\n");
        for r in s
            .rollback
            .resources
            .iter()
            .filter(|r| r.variant == Variant::Original)
        {
            let _ = writeln!(
                out,
                "This step replaces the manifests' own {} {}/{} under its name; the rollback \
                 applies that original again ({}) rather than leave it deleted.\n",
                r.kind, r.namespace, r.name, r.file
            );
        }
    }
    smoke_section(out, p);
    let _ = writeln!(out, "### Watch during the window\n");
    for w in &p.watch {
        let _ = writeln!(
            out,
            "- {} (healthy: {})\n\n  ```promql\n  {}\n  ```\n",
            w.what, w.healthy, w.query
        );
    }
    let _ = writeln!(out, "Proceed when {}.\n", p.proceed_when);
    let _ = writeln!(out, "Roll back when {}.\n", p.roll_back_when);
    if let Some(gate) = &p.gate {
        gate_section(out, gate, window);
    }
}

/// `1 test`, `3 tests`, `0 files`: a count with its noun, plural where English wants it.
pub fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// How many smoke tests listed by name before the rest are counted.
pub const SMOKE_LISTED: usize = 20;

/// The phase's smoke tests: the script that runs them, then the first [`SMOKE_LISTED`] by
/// name with what each expects; the script and plan.json have every one.
fn smoke_section(out: &mut String, p: &Phase) {
    if p.smoke_tests.is_empty() {
        return;
    }
    let script = super::smoke_script::path(p.number);
    let n = p.smoke_tests.len();
    let _ = writeln!(
        out,
        "### Smoke tests\n\n{}, all in `{script}`. Run them after the phase's last step; each \
         prints `ok NAME` or `FAIL NAME: ...` with what it saw and expected, and the script exits \
         1 if any failed:\n\n\
         ```sh\nsh {script}\n```\n\n\
         `sh {script} NAME...` runs the named ones again.\n",
        counted(n, "test")
    );
    for t in p.smoke_tests.iter().take(SMOKE_LISTED) {
        let _ = writeln!(
            out,
            "- `{}`: {} -> {}: expect {}",
            t.name,
            who(&t.from),
            t.to,
            t.expect
        );
    }
    if n > SMOKE_LISTED {
        let _ = writeln!(
            out,
            "- and {} more, see `{script}` (`sh {script} --list` names them; plan.json lists \
             each with its caller, callee and expectation)",
            n - SMOKE_LISTED
        );
    }
    out.push('\n');
}

fn gate_section(out: &mut String, gate: &PhaseGate, window: &str) {
    let _ = writeln!(
        out,
        "### Gate at the end of the window
"
    );
    let _ = writeln!(
        out,
        "Set `PROMETHEUS` to Prometheus' address (e.g. `http://localhost:9090` with \
         `kubectl -n istio-system port-forward svc/prometheus 9090`) and `PHASE_START` to the \
         Unix time the phase's first step was applied (`date +%s`). The baseline is the {window} \
         before that, the window the {window} after it.\n\nBaseline:\n\n```sh"
    );
    for c in &gate.baseline {
        let _ = writeln!(out, "{c}");
    }
    let _ = writeln!(out, "```\n\nWindow, once it is over:\n\n```sh");
    for c in &gate.window {
        let _ = writeln!(out, "{c}");
    }
    let _ = writeln!(
        out,
        "```\n\nThen (exit 0 proceed; 1 hold or roll back, with the figures and this phase's \
         rollback commands; 2 metrics missing):\n\n```sh\n{}\n```\n",
        gate.command
    );
}
