//! The rule table: every rule once, sorted by code. Codes are never reused; a retired code
//! stays here as a comment.
//!
//! Ranges: `MS1xx` manifests and inventory, `MS2xx` the service graph and its timing,
//! `MS3xx` Istio configuration, `MS4xx` the rollout plan given to `check --plan`.

use super::rules::*;
use super::Context;
use crate::model::{Finding, Origin, Severity};

/// What a rule is, read from its doc comment and declaration.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// The `istioctl analyze` code for the same problem, when there is one.
    pub istio_code: Option<&'static str>,
    /// The rule's doc comment as written (each line keeps the space after `///`).
    pub doc: &'static str,
}

impl RuleMeta {
    /// A finding of this rule at its default severity.
    pub fn finding(
        &self,
        resource: impl Into<String>,
        origin: Option<Origin>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Finding {
        Finding {
            code: self.code,
            name: self.name,
            severity: self.severity,
            istio_code: self.istio_code,
            resource: resource.into(),
            origin,
            message: message.into(),
            help: help.into(),
        }
    }

    /// The doc comment as Markdown.
    pub fn doc_markdown(&self) -> String {
        let mut text: String = self
            .doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        text.truncate(text.trim_end().len());
        text
    }

    /// The text under one `## ` heading of the doc, joined into one line.
    pub fn section(&self, heading: &str) -> String {
        let doc = self.doc_markdown();
        let marker = format!("## {heading}");
        let Some((_, rest)) = doc.split_once(&marker) else {
            return String::new();
        };
        let body = rest.split("\n## ").next().unwrap_or("");
        body.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The first paragraph under "What it does": a one-line description.
    pub fn summary(&self) -> String {
        let doc = self.doc_markdown();
        let body = doc
            .split_once("## What it does")
            .map(|(_, rest)| rest)
            .unwrap_or(&doc);
        body.trim_start()
            .split("\n\n")
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A rule: its metadata and the function that runs it.
pub struct Rule {
    pub meta: RuleMeta,
    pub run: fn(&Context, &mut Vec<Finding>),
}

macro_rules! entry {
    ($module:ident :: $name:ident) => {
        Rule {
            meta: $module::$name::META,
            run: $module::run,
        }
    };
}

/// Every rule, sorted by code.
pub static RULES: &[Rule] = &[
    entry!(invalid_syntax::InvalidSyntax),
    entry!(undeclared_port_protocol::UndeclaredPortProtocol),
    entry!(port_protocol_mismatch::PortProtocolMismatch),
    entry!(namespace_not_injected::NamespaceNotInjected),
    entry!(conflicting_injection_labels::ConflictingInjectionLabels),
    entry!(implicit_sidecar_injection::ImplicitSidecarInjection),
    entry!(deployment_port_protocol_conflict::DeploymentPortProtocolConflict),
    entry!(deployment_target_port_conflict::DeploymentTargetPortConflict),
    entry!(http_port_declared_tcp::HttpPortDeclaredTcp),
    entry!(tcp_port_declared_http::TcpPortDeclaredHttp),
    entry!(server_first_port_sniffed::ServerFirstPortSniffed),
    entry!(undeclared_port_with_known_protocol::UndeclaredPortWithKnownProtocol),
    entry!(dependency_cycle::DependencyCycle),
    entry!(retries_exceed_timeout::RetriesExceedTimeout),
    entry!(deadline_inversion::DeadlineInversion),
    entry!(retry_amplification::RetryAmplification),
    entry!(missing_timeout::MissingTimeout),
    entry!(unresolved_dependency::UnresolvedDependency),
    entry!(timeout_too_long::TimeoutTooLong),
    entry!(callers_unknown::CallersUnknown),
    entry!(hidden_outbound_calls::HiddenOutboundCalls),
    entry!(low_confidence_caller::LowConfidenceCaller),
    entry!(dry_run_would_deny::DryRunWouldDeny),
    entry!(unmatched_traffic_name::UnmatchedTrafficName),
    entry!(callers_outside_mesh::CallersOutsideMesh),
    entry!(suggested_call_not_observed::SuggestedCallNotObserved),
    entry!(enforced_on_unknown_callers::EnforcedOnUnknownCallers),
    entry!(cloud_metadata_egress::CloudMetadataEgress),
    entry!(invalid_istio_field::InvalidIstioField),
    entry!(crd_schema_violation::CrdSchemaViolation),
    entry!(unknown_destination_host::UnknownDestinationHost),
    entry!(unknown_destination_port::UnknownDestinationPort),
    entry!(destination_port_required::DestinationPortRequired),
    entry!(unknown_destination_subset::UnknownDestinationSubset),
    entry!(unknown_destination_rule_host::UnknownDestinationRuleHost),
    entry!(tls_breaks_mesh_mtls::TlsBreaksMeshMtls),
    entry!(mtls_not_strict::MtlsNotStrict),
    entry!(permissive_mtls_exception::PermissiveMtlsException),
    entry!(permissive_mtls_without_reason::PermissiveMtlsWithoutReason),
    entry!(strict_mtls_on_external_receiver::StrictMtlsOnExternalReceiver),
    entry!(selector_matches_nothing::SelectorMatchesNothing),
    entry!(unknown_principal_account::UnknownPrincipalAccount),
    entry!(authorization_blocks_edge::AuthorizationBlocksEdge),
    entry!(authorization_admits_non_caller::AuthorizationAdmitsNonCaller),
    entry!(shared_identity_weakens_policy::SharedIdentityWeakensPolicy),
    entry!(sidecarless_caller_locked_out::SidecarlessCallerLockedOut),
    entry!(unknown_source_namespace::UnknownSourceNamespace),
    entry!(unknown_gateway::UnknownGateway),
    entry!(host_not_in_gateway::HostNotInGateway),
    entry!(sidecar_selectors_overlap::SidecarSelectorsOverlap),
    entry!(several_default_sidecars::SeveralDefaultSidecars),
    entry!(tls_origination_without_ca::TlsOriginationWithoutCa),
    entry!(port_tls_origination_without_ca::PortTlsOriginationWithoutCa),
    entry!(unreachable_route_rule::UnreachableRouteRule),
    entry!(ineffective_route_match::IneffectiveRouteMatch),
    entry!(service_entry_without_addresses::ServiceEntryWithoutAddresses),
    entry!(conflicting_mesh_virtual_services::ConflictingMeshVirtualServices),
    entry!(object_defined_twice::ObjectDefinedTwice),
    entry!(own_object_kept::OwnObjectKept),
    entry!(plan_locked_before_callers_meshed::PlanLockedBeforeCallersMeshed),
    entry!(plan_enforced_without_dry_run::PlanEnforcedWithoutDryRun),
    entry!(plan_rollback_breaks_later_phase::PlanRollbackBreaksLaterPhase),
    entry!(plan_service_in_no_phase::PlanServiceInNoPhase),
    entry!(plan_virtual_service_before_destination_rule::PlanVirtualServiceBeforeDestinationRule),
    entry!(plan_phase_lists_disagree_with_steps::PlanPhaseListsDisagreeWithSteps),
    entry!(plan_enforced_policy_denies_a_call::PlanEnforcedPolicyDeniesACall),
];

/// Finds a rule by code (`MS301`, any case) or by name (`unknown-destination-host`).
pub fn rule(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.meta.code.eq_ignore_ascii_case(code_or_name) || r.meta.name == code_or_name)
}
