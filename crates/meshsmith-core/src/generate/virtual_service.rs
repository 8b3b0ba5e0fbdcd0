//! VirtualService per HTTP/gRPC service: the route timeout (its role's, raised where a
//! callee may take longer: see [`super::deadlines`]) and the retries of its role.
//!
//! In: each routable service with at least one HTTP-family port. Out: one VirtualService
//! with a route per such port (matched by port when there are several), and one for each
//! alias (another Service on the same pods, its own ports) with the same settings: callers
//! that use the alias's name are routed by its host only. Retries fit in the timeout: the
//! per-try timeout is lowered so that every try (1 + attempts) fits. A host the manifests'
//! own VirtualService already routes for sidecars gets none (a note says so), since two for
//! one host conflict; unless theirs only passes traffic through, which meshsmith's then
//! replaces under its name.

use super::{alias_reason, fqdn, hosts, routable, speaks, Context, Host, Target};
use crate::model::*;
use crate::policy::Millis;

/// Retry conditions when the policy names none: failures that never reached the application.
const HTTP_RETRY_ON: &str = "connect-failure,refused-stream,reset-before-request";
/// gRPC adds the statuses a server sends before doing any work.
const GRPC_RETRY_ON: &str = "connect-failure,refused-stream,unavailable,cancelled";

pub(crate) fn build(cx: &Context, targets: &[Target], out: &mut MeshConfig) {
    for target in targets {
        let s = target.service;
        if routable(s).is_none() {
            if s.external_name.is_some() {
                out.notes
                    .push(format!("{}: ExternalName Service, no VirtualService", s.id));
            }
            continue;
        }
        for host in hosts(s) {
            build_host(cx, target, &host, out);
        }
    }
}

/// The VirtualService of one of the Services a node is reached by.
fn build_host(cx: &Context, target: &Target, host: &Host, out: &mut MeshConfig) {
    let s = target.service;
    let ports: Vec<&PortInfo> = host
        .ports
        .iter()
        .filter(|p| speaks(p).is_http_family())
        .collect();
    if ports.is_empty() {
        let what = host
            .alias
            .map_or(String::new(), |a| format!(" on {}", a.name));
        out.notes.push(format!(
            "{}: no HTTP or gRPC port{what}, no VirtualService",
            s.id
        ));
        return;
    }
    let own = QualifiedName::new(&s.id.namespace, host.name);
    let theirs = cx.topology.mesh_routes.iter().find(|r| r.service == own);
    let mut name = host.name;
    if let Some(theirs) = theirs {
        // A second VirtualService for the host would conflict with theirs (IST0109). One
        // that only passes traffic through is replaced (same name and namespace); any other
        // is left to govern the host.
        let here = theirs.virtual_service.namespace == s.id.namespace;
        if !(theirs.pass_through && here) {
            let timeout = cx
                .deadline(&s.id)
                .map_or(target.resolved.settings.timeout, |d| d.timeout);
            let attempts = cx
                .retry_allowance(&s.id)
                .map_or(target.resolved.settings.retries.attempts, |a| a.attempts);
            out.kept.push(KeptObject {
                service: s.id.clone(),
                kind: Kind::VirtualService,
                object: theirs.virtual_service.clone(),
                origin: theirs.origin.clone(),
                instead_of: QualifiedName::new(&s.id.namespace, host.name),
                would_set: format!(
                    "route timeout {timeout} and {attempts} retry attempt(s) for {}",
                    host.name
                ),
                why: "it routes the same host for the sidecars, and Istio applies one \
                      VirtualService per host there (IST0109): two are not merged"
                    .to_string(),
            });
            out.notes.push(format!(
                "{}: VirtualService {} ({}) already routes {}, no VirtualService; set the \
                 timeout and retries there",
                s.id, theirs.virtual_service, theirs.origin, host.name
            ));
            return;
        }
        name = &theirs.virtual_service.name;
        out.notes.push(format!(
            "{}: VirtualService {} ({}) only passes {} through; meshsmith's, of the same name, \
             replaces it",
            s.id, theirs.virtual_service, theirs.origin, host.name
        ));
    }
    let fqdn = fqdn(host.name, &s.id.namespace);
    let mut reasons = vec![Reason::new(
        "role",
        target.resolved.role.as_str(),
        &target.resolved.role_why,
    )];
    if let Some(alias) = host.alias {
        reasons.insert(0, alias_reason(s, alias));
        if alias.headless {
            reasons.push(Reason::new(
                "spec.http",
                "(route of a headless Service)",
                "Istio routes HTTP to a headless Service by its name and by its pods' names \
                 (`*.<name>`), each request to the pod the caller resolved: the timeout applies \
                 as on any route, and a retry goes back to that same pod",
            ));
        }
    }
    let mut http = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        // A Service with more than one port (of any protocol) needs the port named in
        // every destination, and each route matched to its port.
        let several = host.ports.len() > 1;
        let route = route(cx, target, port, &fqdn, several, i, &mut reasons);
        http.push(route);
    }
    let spec = VirtualServiceSpec {
        hosts: vec![fqdn],
        export_to: Vec::new(),
        http,
    };
    let mut r = cx.resource(
        Kind::VirtualService,
        name,
        &s.id,
        Spec::VirtualService(spec),
    );
    r.reasons = cx.kept(|| reasons);
    out.resources.push(Box::new(r));
}

fn route(
    cx: &Context,
    target: &Target,
    port: &PortInfo,
    host: &str,
    several: bool,
    i: usize,
    reasons: &mut Vec<Reason>,
) -> HttpRoute {
    let r = &target.resolved;
    let set = &r.settings;
    let at = format!("spec.http[{i}]");
    let protocol = speaks(port);
    let (timeout, why) = match cx.deadline(&target.service.id) {
        Some(d) => match &d.raised {
            Some(raise) => (d.timeout, raise.reason(d.timeout, &r.why("timeout"))),
            None => (d.timeout, r.why("timeout")),
        },
        None => (set.timeout, r.why("timeout")),
    };
    reasons.push(Reason::new(format!("{at}.timeout"), timeout, why));

    let allowance = cx.retry_allowance(&target.service.id);
    let mut attempts = allowance.map_or(set.retries.attempts, |a| a.attempts);
    let tries = u64::from(attempts) + 1;
    let fit = fitting_per_try(timeout, tries);
    let why = match allowance.and_then(|a| a.lowered.as_ref()) {
        Some(lowered) => format!("{lowered} (before the cap: {})", r.why("retries.attempts")),
        None => format!(
            "{} (retries after the first try)",
            r.why("retries.attempts")
        ),
    };
    reasons.push(Reason::new(format!("{at}.retries.attempts"), attempts, why));
    // A raised timeout covers a slow callee; a per-try timeout shorter than that callee's
    // budget would give up on the try first (and with the default retryOn, which retries no
    // per-try timeout, end the request): then each try may use the whole route timeout.
    let cut = raised_over(cx, target).filter(|(_, wait)| {
        fit.is_some_and(|f| set.retries.per_try_timeout.map_or(f, |g| g.min(f)) < *wait)
    });
    let per_try = match (set.retries.per_try_timeout, fit) {
        _ if attempts == 0 => None,
        (_, None) => {
            attempts = 0;
            reasons.push(Reason::new(
                format!("{at}.retries.attempts"),
                0,
                format!("the timeout {timeout} is too short to split over {tries} tries"),
            ));
            None
        }
        _ if cut.is_some() => {
            if let Some((callee, wait)) = &cut {
                reasons.push(Reason::new(
                    format!("{at}.retries.perTryTimeout"),
                    "(not set)",
                    format!(
                        "not set: a try cut before the {wait} {callee} may take would give up while {callee} \
                         still works for it; each try may use the whole {timeout} route timeout"
                    ),
                ));
            }
            None
        }
        (Some(given), Some(fit)) if given <= fit => {
            reasons.push(Reason::new(
                format!("{at}.retries.perTryTimeout"),
                given,
                r.why("retries.perTryTimeout"),
            ));
            Some(given)
        }
        (given, Some(fit)) => {
            let why = match given {
                Some(g) => format!(
                    "{g} ({}) lowered so that {tries} tries fit in the {timeout} timeout",
                    r.why("retries.perTryTimeout")
                ),
                None => format!("the {timeout} timeout split over {tries} tries (1 + attempts)"),
            };
            reasons.push(Reason::new(format!("{at}.retries.perTryTimeout"), fit, why));
            Some(fit)
        }
    };
    let retries = if attempts == 0 {
        HttpRetry::default()
    } else {
        let (retry_on, why) = match &set.retries.retry_on {
            Some(list) => (list.join(","), r.why("retries.retryOn")),
            None if protocol == Protocol::Grpc => (
                GRPC_RETRY_ON.to_string(),
                "gRPC port: retry only what never reached the server, plus gRPC unavailable/cancelled".to_string(),
            ),
            None => (
                HTTP_RETRY_ON.to_string(),
                "HTTP port: retry only requests that never reached the application".to_string(),
            ),
        };
        reasons.push(Reason::new(format!("{at}.retries.retryOn"), &retry_on, why));
        let backoff = match set.retries.backoff {
            Some(b) if cx.istio.has_retry_backoff() => {
                reasons.push(Reason::new(
                    format!("{at}.retries.backoff"),
                    b,
                    r.why("retries.backoff"),
                ));
                Some(b.to_string())
            }
            Some(_) => {
                reasons.push(Reason::new(
                    format!("{at}.retries.backoff"),
                    "(not written)",
                    format!("Istio {} has no retries.backoff (added in 1.26)", cx.istio),
                ));
                None
            }
            None => None,
        };
        HttpRetry {
            attempts,
            per_try_timeout: per_try.map(|p| p.to_string()),
            retry_on: Some(retry_on),
            backoff,
        }
    };
    HttpRoute {
        name: Some(if several {
            format!("port-{}", port.port)
        } else {
            "default".to_string()
        }),
        matches: if several {
            vec![HttpMatch { port: port.port }]
        } else {
            Vec::new()
        },
        route: vec![RouteDestination {
            destination: Destination {
                host: host.to_string(),
                port: several.then_some(PortSelector { number: port.port }),
            },
        }],
        timeout: Some(timeout.to_string()),
        retries: Some(retries),
    }
}

/// The callee whose budget a raised timeout covers, and that budget.
fn raised_over(cx: &Context, target: &Target) -> Option<(String, Millis)> {
    let raise = cx.deadline(&target.service.id)?.raised.as_ref()?;
    Some((raise.covers.callee.to_string(), raise.covers.wait))
}

/// The longest per-try timeout that lets `tries` tries fit in `timeout`, rounded down to
/// 10 ms when that leaves something; `None` when not even 1 ms per try is left.
pub(crate) fn fitting_per_try(timeout: Millis, tries: u64) -> Option<Millis> {
    let each = timeout.0 / tries.max(1);
    let rounded = if each >= 10 { each - each % 10 } else { each };
    (rounded > 0).then_some(Millis(rounded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_try_timeouts_fit_in_the_timeout() {
        assert_eq!(fitting_per_try(Millis::secs(3), 3), Some(Millis::secs(1)));
        assert_eq!(fitting_per_try(Millis::secs(5), 3), Some(Millis(1660)));
        assert_eq!(fitting_per_try(Millis(5), 3), Some(Millis(1)));
        assert_eq!(fitting_per_try(Millis(2), 3), None);
        for t in [1u64, 7, 999, 3000, 10_001] {
            for tries in 1..12 {
                if let Some(p) = fitting_per_try(Millis(t), tries) {
                    assert!(p.0 * tries <= t);
                }
            }
        }
    }
}
