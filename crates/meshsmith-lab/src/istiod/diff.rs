//! The translation diff: what istiod made of the generated configuration, next to what
//! meshsmith's own translation makes of it, on the fields the scenarios depend on.
//!
//! In: each istiod-configured sidecar's `/config_dump` (dynamic listeners, clusters and route
//! configurations) and meshsmith's bootstrap for the same pod (static listeners and clusters,
//! inline routes). Out: one `Field` per (pod, subject, field) with both values, and the rows
//! where they differ. Both sides are read by the same extractors, so a row differs only when
//! the two translations do:
//! - route (caller, per callee): `timeout`, and the retry policy's `retry_on` (as a sorted
//!   set), `num_retries`, `per_try_timeout`, `retriable_status_codes`;
//! - cluster (caller, per callee): load-balancing policy, the circuit-breaker thresholds,
//!   `max_requests_per_connection`, outlier detection (`consecutive_5xx`, `interval`,
//!   `base_ejection_time`, `max_ejection_percent`) and the panic threshold, and the SANs the
//!   upstream certificate must carry;
//! - inbound (callee): the mTLS mode (STRICT when no plaintext chain exists, PERMISSIVE when
//!   one does), whether a client certificate is required, and the RBAC filter: enforced or
//!   shadow, the principals it names, the destination ports it checks.
//!
//! Durations are compared in milliseconds, so `10s` and `10.000s` agree.

use serde_json::Value;
use std::collections::BTreeSet;

/// One compared field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Field {
    /// The pod whose configuration it is.
    pub pod: String,
    /// `route <host>`, `cluster <name>` or `inbound <port>`.
    pub subject: String,
    pub field: String,
    pub meshsmith: String,
    pub istiod: String,
    /// Why the difference is expected, when it is a known one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explained: Option<String>,
}

impl Field {
    pub fn differs(&self) -> bool {
        self.meshsmith != self.istiod
    }

    /// Why a known difference is not a fault of either translation (README, "The lab on
    /// istiod"), if it is one.
    pub fn explanation(&self) -> Option<&'static str> {
        if self.field == "lb_policy"
            && self.meshsmith == "ROUND_ROBIN"
            && self.istiod == "LEAST_REQUEST"
        {
            return Some(LOAD_BALANCER);
        }
        let port = self.subject.strip_prefix("inbound ")?;
        (self.field == "rbac.destination_ports" && self.meshsmith == "-" && self.istiod == port)
            .then_some(PORT_CONDITION)
    }
}

/// Why meshsmith balances round robin where Istio's default is least request.
pub const LOAD_BALANCER: &str = "Istio's default balancer picks between idle hosts at random; \
     meshsmith's lab keeps round robin so its pool, ejection and connect-failure counts are \
     exact (under least request an HTTP/1.1 burst was seen admitted below maxConnections + \
     http1MaxPendingRequests)";

/// Why meshsmith's RBAC has no port condition where istiod's checks the inbound port.
pub const PORT_CONDITION: &str = "meshsmith's own inbound listener is not on the target port \
     (every pod shares 127.0.0.1), so it cannot match on it; it keeps only the rules that name \
     the port its callers use, which makes the condition hold for every request it serves";

/// The parts of one proxy's configuration the diff reads.
#[derive(Debug, Default)]
pub struct Config {
    pub listeners: Vec<Value>,
    pub clusters: Vec<Value>,
    pub routes: Vec<Value>,
}

impl Config {
    /// meshsmith's own bootstrap: static resources, routes inline in the HTTP managers.
    pub fn from_bootstrap(bootstrap: &Value) -> Config {
        let listeners = list(&bootstrap["static_resources"]["listeners"]);
        let clusters = list(&bootstrap["static_resources"]["clusters"]);
        let mut routes = Vec::new();
        for l in &listeners {
            for hcm in managers(l) {
                if hcm["route_config"].is_object() {
                    routes.push(hcm["route_config"].clone());
                }
            }
        }
        Config {
            listeners,
            clusters,
            routes,
        }
    }

    /// Envoy's `/config_dump`: the dynamic (xDS) resources.
    pub fn from_config_dump(dump: &Value) -> Config {
        let mut config = Config::default();
        for c in dump["configs"].as_array().into_iter().flatten() {
            let kind = c["@type"].as_str().unwrap_or_default();
            if kind.ends_with("ListenersConfigDump") {
                for l in list(&c["dynamic_listeners"]) {
                    config.listeners.push(l["active_state"]["listener"].clone());
                }
            } else if kind.ends_with("ClustersConfigDump") {
                for cl in list(&c["dynamic_active_clusters"]) {
                    config.clusters.push(cl["cluster"].clone());
                }
            } else if kind.ends_with("RoutesConfigDump") {
                for r in list(&c["dynamic_route_configs"]) {
                    config.routes.push(r["route_config"].clone());
                }
            }
        }
        config
    }
}

fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// The HTTP connection managers of a listener's filter chains, in chain order.
fn managers(listener: &Value) -> Vec<&Value> {
    listener["filter_chains"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(chain_managers)
        .collect()
}

/// The HTTP connection managers of one filter chain.
fn chain_managers(chain: &Value) -> Vec<&Value> {
    chain["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["name"] == "envoy.filters.network.http_connection_manager")
        .map(|f| &f["typed_config"])
        .collect()
}

/// A duration (`"1.500s"`, `"10s"`) in milliseconds, else the value as written.
fn millis(v: &Value) -> String {
    let Some(s) = v.as_str() else {
        return text(v);
    };
    let Some(seconds) = s.strip_suffix('s') else {
        return s.to_string();
    };
    match seconds.parse::<f64>() {
        Ok(f) => format!("{} ms", (f * 1000.0).round() as u64),
        Err(_) => s.to_string(),
    }
}

/// A `Percent`: JSON leaves out a zero `value`, so a present message without one is 0.
fn percent(v: &Value) -> String {
    match &v["value"] {
        Value::Null if v.is_object() => "0".into(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| format!("{f}")),
        value => text(value),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every string found under a key named `key`, anywhere below `v`, sorted and distinct.
fn strings_under(v: &Value, key: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == key {
                    collect_strings(child, out);
                } else {
                    strings_under(child, key, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| strings_under(i, key, out)),
        _ => {}
    }
}

fn collect_strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Number(n) => {
            out.insert(n.to_string());
        }
        Value::Object(map) => map.values().for_each(|c| collect_strings(c, out)),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

fn joined(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "-".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(",")
    }
}

/// What one side says about one subject: (field, value) pairs.
type Values = Vec<(&'static str, String)>;

/// The route for `host` (with its port) in the route configuration named `port`.
pub fn route_values(config: &Config, port: u16, host: &str) -> Values {
    let with_port = format!("{host}:{port}");
    let route = config
        .routes
        .iter()
        .filter(|r| r["name"] == port.to_string().as_str())
        .flat_map(|r| list(&r["virtual_hosts"]))
        .find(|vh| {
            list(&vh["domains"])
                .iter()
                .any(|d| d == host || d == with_port.as_str())
        })
        .and_then(|vh| list(&vh["routes"]).into_iter().next())
        .unwrap_or(Value::Null);
    let r = &route["route"];
    let retry = &r["retry_policy"];
    let mut retry_on: BTreeSet<String> = retry["retry_on"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if retry.is_null() {
        retry_on.clear();
    }
    let mut codes = BTreeSet::new();
    collect_strings(&retry["retriable_status_codes"], &mut codes);
    vec![
        ("found", (!route.is_null()).to_string()),
        ("timeout", millis(&r["timeout"])),
        ("max_grpc_timeout", millis(&r["max_grpc_timeout"])),
        ("retry_on", joined(&retry_on)),
        ("num_retries", text(&retry["num_retries"])),
        ("per_try_timeout", millis(&retry["per_try_timeout"])),
        ("retriable_status_codes", joined(&codes)),
    ]
}

/// The cluster called `name`.
pub fn cluster_values(config: &Config, name: &str) -> Values {
    let cluster = config
        .clusters
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or(Value::Null);
    let thresholds = &cluster["circuit_breakers"]["thresholds"][0];
    let outlier = &cluster["outlier_detection"];
    let mut per_connection = BTreeSet::new();
    strings_under(
        &cluster["typed_extension_protocol_options"],
        "max_requests_per_connection",
        &mut per_connection,
    );
    let mut sans = BTreeSet::new();
    strings_under(&cluster["transport_socket"], "exact", &mut sans);
    let lb = cluster["lb_policy"]
        .as_str()
        .unwrap_or("ROUND_ROBIN")
        .to_string();
    vec![
        ("found", (!cluster.is_null()).to_string()),
        ("lb_policy", lb),
        ("max_connections", text(&thresholds["max_connections"])),
        (
            "max_pending_requests",
            text(&thresholds["max_pending_requests"]),
        ),
        ("max_requests", text(&thresholds["max_requests"])),
        ("max_retries", text(&thresholds["max_retries"])),
        (
            "retry_budget.budget_percent",
            percent(&thresholds["retry_budget"]["budget_percent"]),
        ),
        (
            "retry_budget.min_retry_concurrency",
            text(&thresholds["retry_budget"]["min_retry_concurrency"]),
        ),
        ("max_requests_per_connection", joined(&per_connection)),
        ("outlier.consecutive_5xx", text(&outlier["consecutive_5xx"])),
        ("outlier.interval", millis(&outlier["interval"])),
        (
            "outlier.base_ejection_time",
            millis(&outlier["base_ejection_time"]),
        ),
        (
            "outlier.max_ejection_percent",
            text(&outlier["max_ejection_percent"]),
        ),
        (
            "healthy_panic_threshold",
            percent(&cluster["common_lb_config"]["healthy_panic_threshold"]),
        ),
        ("upstream_sans", joined(&sans)),
    ]
}

/// The inbound listener (istiod marks it `traffic_direction: INBOUND`; meshsmith names it
/// `virtualInbound`).
pub fn inbound_values(config: &Config) -> Values {
    let listener = config
        .listeners
        .iter()
        .find(|l| l["traffic_direction"] == "INBOUND" || l["name"] == "virtualInbound")
        .cloned()
        .unwrap_or(Value::Null);
    let chains = list(&listener["filter_chains"]);
    let plaintext = chains
        .iter()
        .any(|c| c["filter_chain_match"]["transport_protocol"] == "raw_buffer");
    let tls_chain = chains
        .iter()
        .find(|c| c["transport_socket"]["name"] == "envoy.transport_sockets.tls")
        .cloned()
        .unwrap_or(Value::Null);
    let require_cert =
        text(&tls_chain["transport_socket"]["typed_config"]["require_client_certificate"]);
    let rbac = chain_managers(&tls_chain)
        .into_iter()
        .flat_map(|hcm| list(&hcm["http_filters"]))
        .find(|f| f["name"] == "envoy.filters.http.rbac")
        .map(|f| f["typed_config"].clone())
        .unwrap_or(Value::Null);
    let enforced = &rbac["rules"];
    let (mode, rules) = if enforced.is_object() {
        ("enforced", enforced.clone())
    } else if rbac["shadow_rules"].is_object() {
        ("shadow only", rbac["shadow_rules"].clone())
    } else {
        ("none", Value::Null)
    };
    let mut principals = BTreeSet::new();
    strings_under(&rules["policies"], "principal_name", &mut principals);
    let mut ports = BTreeSet::new();
    strings_under(&rules["policies"], "destination_port", &mut ports);
    // JSON leaves out the enum's zero value, ALLOW.
    let action = rules["action"]
        .as_str()
        .unwrap_or(if rules.is_object() { "ALLOW" } else { "-" });
    vec![
        ("found", (!listener.is_null()).to_string()),
        (
            "mtls",
            if plaintext { "PERMISSIVE" } else { "STRICT" }.into(),
        ),
        ("require_client_certificate", require_cert),
        ("rbac", format!("{mode} {action}")),
        ("rbac.principals", joined(&principals)),
        ("rbac.destination_ports", joined(&ports)),
    ]
}

/// Pair up both sides' values for one subject.
pub fn compare(pod: &str, subject: &str, ours: Values, theirs: Values) -> Vec<Field> {
    ours.into_iter()
        .zip(theirs)
        .map(|((field, meshsmith), (_, istiod))| {
            let mut f = Field {
                pod: pod.to_string(),
                subject: subject.to_string(),
                field: field.to_string(),
                meshsmith,
                istiod,
                explained: None,
            };
            f.explained = f.explanation().map(str::to_string);
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn routes(timeout: &str, retry: Value) -> Config {
        Config {
            routes: vec![json!({ "name": "8080", "virtual_hosts": [{
                "domains": ["a.ns.svc.cluster.local", "a.ns.svc.cluster.local:8080"],
                "routes": [{ "route": { "timeout": timeout, "retry_policy": retry } }]
            }]})],
            ..Config::default()
        }
    }

    #[test]
    fn equal_routes_written_differently_agree() {
        let ours = routes(
            "3.000s",
            json!({ "retry_on": "5xx,reset", "num_retries": 2, "per_try_timeout": "1.000s" }),
        );
        let theirs = routes(
            "3s",
            json!({ "retry_on": "reset,5xx", "num_retries": 2, "per_try_timeout": "1s" }),
        );
        let rows = compare(
            "p",
            "route a",
            route_values(&ours, 8080, "a.ns.svc.cluster.local"),
            route_values(&theirs, 8080, "a.ns.svc.cluster.local"),
        );
        assert!(rows.iter().all(|r| !r.differs()), "{rows:?}");
        assert!(rows
            .iter()
            .any(|r| r.field == "timeout" && r.istiod == "3000 ms"));
    }

    #[test]
    fn a_different_retry_count_is_a_row() {
        let ours = routes("3s", json!({ "retry_on": "5xx", "num_retries": 2 }));
        let theirs = routes("3s", json!({ "retry_on": "5xx", "num_retries": 3 }));
        let rows = compare(
            "p",
            "route a",
            route_values(&ours, 8080, "a.ns.svc.cluster.local"),
            route_values(&theirs, 8080, "a.ns.svc.cluster.local"),
        );
        let differing: Vec<_> = rows.iter().filter(|r| r.differs()).collect();
        assert_eq!(differing.len(), 1);
        assert_eq!(
            (
                differing[0].meshsmith.as_str(),
                differing[0].istiod.as_str()
            ),
            ("2", "3")
        );
    }

    #[test]
    fn rbac_principals_and_ports_are_read_from_either_shape() {
        let listener = |rules: Value| Config {
            listeners: vec![json!({
                "name": "x", "traffic_direction": "INBOUND",
                "filter_chains": [{
                    "filter_chain_match": { "transport_protocol": "tls" },
                    "transport_socket": { "name": "envoy.transport_sockets.tls",
                        "typed_config": { "require_client_certificate": true } },
                    "filters": [{ "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": { "http_filters": [
                            { "name": "envoy.filters.http.rbac", "typed_config": { "rules": rules } }
                        ]}}]
                }]
            })],
            ..Config::default()
        };
        let ours = listener(json!({ "action": "ALLOW", "policies": { "p": {
            "permissions": [{ "any": true }],
            "principals": [{ "authenticated": { "principal_name": { "exact": "spiffe://td/ns/a/sa/b" } } }]
        }}}));
        let theirs = listener(json!({ "action": "ALLOW", "policies": { "p": {
            "permissions": [{ "and_rules": { "rules": [{ "or_rules": { "rules": [{ "destination_port": 8080 }] } }] } }],
            "principals": [{ "and_ids": { "ids": [{ "or_ids": { "ids": [
                { "authenticated": { "principal_name": { "exact": "spiffe://td/ns/a/sa/b" } } }
            ]}}]}}]
        }}}));
        let rows = compare(
            "p",
            "inbound 8080",
            inbound_values(&ours),
            inbound_values(&theirs),
        );
        let get = |f: &str| rows.iter().find(|r| r.field == f).expect("field").clone();
        assert!(!get("rbac.principals").differs());
        assert_eq!(get("rbac.principals").istiod, "spiffe://td/ns/a/sa/b");
        assert_eq!(get("mtls").istiod, "STRICT");
        let ports = get("rbac.destination_ports");
        assert_eq!(
            (ports.meshsmith.as_str(), ports.istiod.as_str()),
            ("-", "8080")
        );
    }
}
