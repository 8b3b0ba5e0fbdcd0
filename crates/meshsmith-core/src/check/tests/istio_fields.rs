//! MS301 on each kind of mistake Istio rejects: the message names the field and the problem.

use super::{render, run_fixture, FIXTURES};
use std::path::Path;

/// MS301's messages on the clean configuration with the overlay `folder/name.yaml`.
fn ms301(folder: &str, name: &str) -> Vec<String> {
    let path = Path::new(FIXTURES)
        .join(folder)
        .join(format!("{name}.yaml"));
    let findings = run_fixture(Some(&path), false);
    println!("{}", render(&findings));
    findings
        .into_iter()
        .filter(|f| f.code == "MS301")
        .map(|f| f.message)
        .collect()
}

fn assert_reports(found: &[String], expected: &str) {
    assert!(
        found.iter().any(|m| m.contains(expected)),
        "no MS301 message with {expected:?} in {found:#?}"
    );
}

#[test]
fn a_field_of_the_wrong_shape_is_reported() {
    let found = ms301("more", "MS301-tcp-routes-not-a-list");
    assert_eq!(found, ["spec.tcp: expected a list"]);
}

#[test]
fn an_unknown_field_is_reported_with_the_fields_there_are() {
    let found = ms301("more", "MS301-misspelt-field");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_reports(&found, "spec.htttp: unknown field `htttp`");
    assert_reports(&found, "exportTo, gateways, hosts, http, tcp, tls");
}

#[test]
fn weights_are_relative_but_not_all_zero() {
    assert!(ms301("passes", "MS301-relative-route-weights").is_empty());
    let found = ms301("more", "MS301-route-weights-all-zero");
    assert_eq!(
        found,
        ["the destination weights add up to 0: give at least one a weight"]
    );
}

#[test]
fn a_retry_condition_envoy_does_not_know_is_reported() {
    let found = ms301("more", "MS301-unknown-retry-condition");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_reports(&found, "`bogus-cond` is not a retryOn condition");
}

#[test]
fn a_subset_name_used_twice_is_reported() {
    let found = ms301("more", "MS301-subset-defined-twice");
    assert_eq!(found, ["subset name `v1` is used twice"]);
}

#[test]
fn a_uint32_beyond_its_range_is_reported() {
    let found = ms301("more", "MS301-uint32-out-of-range");
    assert_eq!(
        found,
        ["spec.trafficPolicy.outlierDetection.consecutive5xxErrors: `4294967296` is out of range (0-4294967295)"]
    );
}

#[test]
fn a_service_entry_without_hosts_is_reported() {
    let found = ms301("more", "MS301-service-entry-without-hosts");
    assert_eq!(found, ["a ServiceEntry needs at least one host"]);
}

#[test]
fn a_service_entry_port_needs_a_number_a_name_and_a_known_protocol() {
    let found = ms301("more", "MS301-service-entry-port");
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_reports(
        &found,
        "spec.ports[0].number: `0` is not a port number (1-65535)",
    );
    assert_reports(&found, "port name `` is not a DNS label");
    assert_reports(&found, "`WEIRD` is not a protocol Istio knows");
}

#[test]
fn an_unknown_resolution_is_reported() {
    let found = ms301("more", "MS301-unknown-resolution");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_reports(
        &found,
        "spec.resolution: `BOGUS` is not one of NONE, STATIC, DNS",
    );
}

#[test]
fn an_egress_host_without_a_namespace_is_reported() {
    let found = ms301("more", "MS301-egress-host-without-namespace");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_reports(
        &found,
        "`bad host with spaces` is not of the form namespace/dnsName",
    );
}

#[test]
fn a_port_level_mtls_key_that_is_no_port_is_reported() {
    let found = ms301("more", "MS301-port-level-mtls-key");
    assert_eq!(
        found,
        ["spec.portLevelMtls.notaport: key `notaport` is not a port number (1-65535)"]
    );
}

#[test]
fn a_gateway_server_without_hosts_is_reported() {
    let found = ms301("more", "MS301-gateway-server-without-hosts");
    assert_eq!(found, ["spec.servers[1]: `hosts` is required"]);
}

#[test]
fn a_simple_tls_server_without_a_certificate_is_reported() {
    let found = ms301("more", "MS301-simple-tls-without-certificate");
    assert_eq!(
        found,
        ["a SIMPLE server needs `credentialName`, or `serverCertificate` and `privateKey`"]
    );
}
