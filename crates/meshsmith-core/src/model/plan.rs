//! A phased rollout of the generated mesh configuration, as written to `plan.json` and read
//! back from it (a person may edit the file; `plan::verify` then checks the edit).
//!
//! ```text
//!  Plan ─▶ Phase (services, window, smoke tests, metrics)
//!            └─▶ Step (folder with a kustomization, commands, effects)
//!                  └─▶ Rollback (commands, effects)
//! ```
//!
//! Effects say what a step changes in terms the verifier can simulate without the YAML:
//! which services get a sidecar, the account each moved workload runs as, each service's
//! mTLS mode, each AuthorizationPolicy's state and the principals it admits, and which
//! traffic resources exist.

use super::QualifiedName;
use serde::{Deserialize, Serialize};

/// The `format` written today; a reader refuses others.
pub const PLAN_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub trust_domain: String,
    pub ingress_gateway_principal: String,
    /// Monitoring window after each phase, e.g. `4h`.
    pub window: String,
    pub phases: Vec<Phase>,
    /// Lock-downs the plan cannot make safely, and why; the services stay PERMISSIVE and in
    /// dry-run until a person resolves the reason.
    #[serde(default)]
    pub held: Vec<Hold>,
    /// Services deliberately left out of the rollout, and why.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Plan {
    /// Lets go what only the plan's own files and its verification read, once it is verified
    /// and its files are written (or, for a report alone, not needed):
    /// each step's services, resources, effects and commands (but its first, where a summary
    /// says how to start), its rollback's objects, commands and effects, the smoke tests and
    /// the gate's queries and commands. What an overview reads stays: phases with their
    /// services, lock-downs, watch and criteria, steps with their folders, and how many
    /// services, resources and smoke tests there were ([`Step::service_count`],
    /// [`Step::resource_count`], [`Phase::smoke_test_count`]). At 10,000 services the effects
    /// alone are about a hundred thousand entries, the rest about 50 MB.
    pub fn release_details(&mut self) {
        for phase in &mut self.phases {
            for step in &mut phase.steps {
                step.released = Some(Released {
                    services: step.service_count(),
                    resources: step.resource_count(),
                });
                step.services = Vec::new();
                step.resources = Vec::new();
                step.commands.truncate(1);
                step.commands.shrink_to_fit();
                step.effects = Vec::new();
                step.rollback.effects = Vec::new();
                step.rollback.resources = Vec::new();
                step.rollback.commands = Vec::new();
            }
            phase.released_smoke_tests = Some(phase.smoke_test_count());
            phase.smoke_tests = Vec::new();
            phase.gate = None;
        }
    }
}

/// How many services and resources a step named before [`Plan::release_details`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub services: usize,
    pub resources: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Workers,
    Internal,
    Core,
    Exposed,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Workers, Tier::Internal, Tier::Core, Tier::Exposed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Workers => "background workers",
            Self::Internal => "internal services",
            Self::Core => "core services",
            Self::Exposed => "gateway and exposed services",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// 1-based; folders are `phase-<number>`.
    pub number: u32,
    pub title: String,
    /// The tiers whose services this phase onboards; empty for the closing lock-down.
    pub tiers: Vec<Tier>,
    /// Services that get their sidecar in this phase.
    pub services: Vec<QualifiedName>,
    /// Services moved to STRICT and enforced authorization in this phase.
    pub locked: Vec<QualifiedName>,
    pub steps: Vec<Step>,
    pub smoke_tests: Vec<SmokeTest>,
    pub watch: Vec<Watch>,
    pub proceed_when: String,
    pub roll_back_when: String,
    /// How to judge the window with `meshsmith gate`: the queries, the commands that fetch
    /// their answers, and the gate's command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<PhaseGate>,
    /// How many smoke tests there were, once [`Plan::release_details`] let them go.
    #[serde(skip)]
    pub released_smoke_tests: Option<usize>,
}

impl Phase {
    /// The phase's smoke tests, counted before or after [`Plan::release_details`].
    pub fn smoke_test_count(&self) -> usize {
        self.released_smoke_tests.unwrap_or(self.smoke_tests.len())
    }
}

/// The gate of one phase, for a person (ROLLOUT.md) and a pipeline (plan.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseGate {
    /// The PromQL queries the gate reads, each answered for the baseline and the window.
    pub queries: Vec<GateQuery>,
    /// Shell commands that fetch the answers for the window before the phase began, into
    /// `baseline_dir` (they use `$PROMETHEUS` and `$PHASE_START`).
    pub baseline: Vec<String>,
    /// The same for the window after the phase, into `window_dir`.
    pub window: Vec<String>,
    pub baseline_dir: String,
    pub window_dir: String,
    /// The `meshsmith gate` command to run once the window is over.
    pub command: String,
}

/// One query of the gate and the file its answer is saved as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateQuery {
    pub name: String,
    pub query: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepAction {
    /// The patch of each Service whose ports need a declaration (`appProtocol`), so that
    /// Istio proxies them as what they speak before their routes and policies arrive.
    ServicePorts,
    /// ServiceAccounts of their own for callers that shared one, and the patch of each such
    /// workload's pod template that moves it there.
    ServiceAccounts,
    /// PeerAuthentication PERMISSIVE, namespace labels, rolling restart.
    Sidecars,
    /// AuthorizationPolicies with `istio.io/dry-run: "true"`.
    AuthorizationDryRun,
    /// DestinationRules (circuit breakers) and ServiceEntries.
    DestinationRules,
    /// VirtualServices (timeouts, retries) and Sidecar egress scoping.
    VirtualServices,
    /// PeerAuthentication STRICT.
    MtlsStrict,
    /// AuthorizationPolicies enforced.
    AuthorizationEnforce,
    /// No change: collect the traffic that shows the callers of services whose policies stay
    /// in dry-run, and learn from it (`meshsmith map --traffic`).
    CollectTraffic,
}

impl StepAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServicePorts => "service-ports",
            Self::ServiceAccounts => "service-accounts",
            Self::Sidecars => "sidecars",
            Self::AuthorizationDryRun => "authorization-dry-run",
            Self::DestinationRules => "destination-rules",
            Self::VirtualServices => "virtual-services",
            Self::MtlsStrict => "mtls-strict",
            Self::AuthorizationEnforce => "authorization-enforce",
            Self::CollectTraffic => "collect-traffic",
        }
    }
}

/// Which version of a generated resource a step folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Exactly as generated.
    Final,
    /// A PeerAuthentication with mode PERMISSIVE.
    Permissive,
    /// An AuthorizationPolicy annotated `istio.io/dry-run: "true"`.
    DryRun,
    /// The manifests' own object that a generated one replaces under its name, as the
    /// manifests hold it: a rollback applies it again rather than leave it deleted.
    Original,
}

/// One generated resource, by kind (as in the YAML), namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub variant: Variant,
    /// Path of its copy, relative to the output folder.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The step's folder relative to the output folder, e.g. `phase-1/1-sidecars`.
    pub id: String,
    pub action: StepAction,
    pub services: Vec<QualifiedName>,
    pub resources: Vec<ResourceRef>,
    pub commands: Vec<String>,
    pub effects: Vec<Effect>,
    pub rollback: Rollback,
    /// The counts of the lists [`Plan::release_details`] let go.
    #[serde(skip)]
    pub released: Option<Released>,
}

impl Step {
    /// The services the step acts on, counted before or after [`Plan::release_details`].
    pub fn service_count(&self) -> usize {
        self.released.map_or(self.services.len(), |r| r.services)
    }

    /// The resources the step applies, counted before or after [`Plan::release_details`].
    pub fn resource_count(&self) -> usize {
        self.released.map_or(self.resources.len(), |r| r.resources)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollback {
    /// Folder of the resources the rollback applies, if it applies any.
    pub folder: Option<String>,
    pub resources: Vec<ResourceRef>,
    pub commands: Vec<String>,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MtlsState {
    /// No workload policy: the namespace or mesh default applies, which may be STRICT.
    Inherit,
    Permissive,
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthzState {
    None,
    DryRun,
    Enforced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrafficKind {
    DestinationRule,
    VirtualService,
}

/// What a step (or its rollback) changes, per service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "kebab-case")]
pub enum Effect {
    /// The service's workloads run with a sidecar from now on.
    Sidecar { service: QualifiedName },
    /// The service's workloads run without a sidecar again.
    NoSidecar { service: QualifiedName },
    Mtls {
        service: QualifiedName,
        mode: MtlsState,
    },
    Authorization {
        service: QualifiedName,
        state: AuthzState,
        /// Principals the policy admits.
        #[serde(default)]
        principals: Vec<String>,
        /// Workload ports that also admit requests without a mesh identity.
        #[serde(default)]
        plain_ports: Vec<u16>,
    },
    Traffic {
        service: QualifiedName,
        kind: TrafficKind,
        present: bool,
    },
    /// One workload of the service runs as this ServiceAccount from now on (its principal
    /// changes with it).
    Account {
        service: QualifiedName,
        workload: String,
        account: String,
    },
}

impl Effect {
    pub fn service(&self) -> &QualifiedName {
        match self {
            Self::Sidecar { service }
            | Self::NoSidecar { service }
            | Self::Mtls { service, .. }
            | Self::Authorization { service, .. }
            | Self::Traffic { service, .. }
            | Self::Account { service, .. } => service,
        }
    }
}

/// A request along one edge the phase relies on, or from outside to what it exposes: one
/// line of the phase's `smoke.sh`, which runs it by its name and judges what it sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeTest {
    pub from: QualifiedName,
    pub to: QualifiedName,
    /// Unique within its phase and a valid pod name (a request from inside the cluster runs
    /// in a pod of that name).
    #[serde(default)]
    pub name: String,
    /// How to run it alone, from the output folder: `sh phase-N/smoke.sh NAME`.
    pub command: String,
    pub expect: String,
    /// What the script's line for it does. Not in plan.json: the script holds it.
    #[serde(skip)]
    pub check: Option<SmokeCheck>,
}

/// What one smoke test sends, and from where, as `smoke.sh` spells it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmokeCheck {
    /// `curl` from a throwaway pod like the caller's; with prior knowledge of HTTP/2 for
    /// HTTP/2 and gRPC ports.
    Http {
        pod: SmokePod,
        url: String,
        http2: bool,
    },
    /// `nc -z` from a throwaway pod like the caller's.
    Tcp {
        pod: SmokePod,
        host: String,
        port: u16,
    },
    /// One job of the caller's CronJob, which must complete.
    Job {
        namespace: String,
        cronjob: String,
        job: String,
    },
    /// `curl` through the ingress gateway's Service, from a pod without a sidecar in the
    /// service's namespace; `connect_to` (`host:port:gateway:port`) when the route names a
    /// host.
    Gateway {
        namespace: String,
        url: String,
        connect_to: Option<String>,
    },
    /// `curl` from where the script runs, at the LoadBalancer Service's address.
    LoadBalancer {
        namespace: String,
        service: String,
        port: u16,
        tls: bool,
    },
}

/// The throwaway pod a request from inside the cluster runs in: the caller's namespace, the
/// account it runs as by then (`None`: the namespace's default) and whether it has a sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokePod {
    pub namespace: String,
    pub account: Option<String>,
    pub sidecar: bool,
}

/// A metric to watch during the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    pub what: String,
    pub query: String,
    pub healthy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub service: QualifiedName,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub service: QualifiedName,
    pub reason: String,
}

/// One rule of the rollout a plan breaks, found by `plan::verify`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlanViolation {
    /// `MS401`...
    pub code: &'static str,
    pub name: &'static str,
    pub message: String,
    pub phase: Option<u32>,
    pub step: Option<String>,
    pub service: Option<QualifiedName>,
    /// JSON pointer into plan.json.
    pub pointer: String,
}
