//! The mutual-TLS mode each workload ends up with, composed from PeerAuthentications the way
//! istiod does: workload policy over namespace policy over the mesh policy in the root
//! namespace, `UNSET` inheriting from the wider level, and PERMISSIVE when nothing applies.

use super::hosts::{has_selector, selector_admits};
use super::Index;
use crate::model::{IstioResource, StringMap};

/// A PeerAuthentication mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Permissive,
    Strict,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "DISABLE" => Some(Mode::Disable),
            "PERMISSIVE" => Some(Mode::Permissive),
            "STRICT" => Some(Mode::Strict),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disable => "DISABLE",
            Mode::Permissive => "PERMISSIVE",
            Mode::Strict => "STRICT",
        }
    }
}

/// The mode a workload gets and the policy that decided it (`None`: no policy applies).
#[derive(Debug, Clone, Copy)]
pub struct Effective<'a> {
    pub mode: Mode,
    pub policy: Option<&'a IstioResource>,
}

/// The annotation meshsmith reads for why a PeerAuthentication is not STRICT.
pub use crate::model::MTLS_REASON_ANNOTATION as REASON_ANNOTATION;

/// The mode of a PeerAuthentication itself (`None` for UNSET or absent).
pub fn policy_mode(pa: &IstioResource) -> Option<Mode> {
    pa.spec()
        .path(&["mtls", "mode"])
        .as_str()
        .and_then(Mode::parse)
}

/// Composes the policies that apply to a workload with these pod labels in `namespace`.
pub fn effective_mode<'a>(
    index: &Index<'a>,
    root_namespace: &str,
    namespace: &str,
    pod_labels: &StringMap,
) -> Effective<'a> {
    let local = index.istio("PeerAuthentication", namespace);
    let root = index.istio("PeerAuthentication", root_namespace);
    let wide = |p: &&IstioResource| !has_selector(p.spec());
    // Several policies at one level: istiod takes the oldest; files carry no creation time,
    // so the first by name stands in for it. Selector policies in the root namespace are
    // ignored, as istiod ignores them.
    let workload = local.iter().copied().find(|p| {
        p.namespace != root_namespace
            && has_selector(p.spec())
            && selector_admits(p.spec(), pod_labels)
    });
    let namespace_wide = local.iter().copied().find(wide);
    let mesh = root.iter().copied().find(wide);
    [workload, namespace_wide, mesh]
        .into_iter()
        .flatten()
        .find_map(|p| {
            policy_mode(p).map(|mode| Effective {
                mode,
                policy: Some(p),
            })
        })
        .unwrap_or(Effective {
            mode: Mode::Permissive,
            policy: None,
        })
}

/// True when the workload would take plaintext on some port: its mode, or any of its
/// port-level modes, is PERMISSIVE or DISABLE.
pub fn accepts_plaintext(effective: &Effective) -> bool {
    if effective.mode != Mode::Strict {
        return true;
    }
    effective.policy.is_some_and(|p| {
        p.spec().at("portLevelMtls").as_map().iter().any(|(_, v)| {
            matches!(
                v.at("mode").as_str().and_then(Mode::parse),
                Some(Mode::Permissive | Mode::Disable)
            )
        })
    })
}

/// True when the workload takes plaintext on `port` (a workload port; `None`: some port):
/// the port's own port-level mode when it has one, else the workload's mode.
pub fn accepts_plaintext_on(effective: &Effective, port: Option<u16>) -> bool {
    let Some(port) = port else {
        return accepts_plaintext(effective);
    };
    let level = effective.policy.and_then(|p| {
        p.spec()
            .at("portLevelMtls")
            .as_map()
            .iter()
            .find(|(k, _)| k.parse::<u16>().ok() == Some(port))
            .and_then(|(_, v)| v.at("mode").as_str().and_then(Mode::parse))
    });
    level.unwrap_or(effective.mode) != Mode::Strict
}

/// Every place a PeerAuthentication lets plaintext in, with a description:
/// the policy's own mode and each port-level mode that is PERMISSIVE or DISABLE.
pub fn plaintext_modes(pa: &IstioResource) -> Vec<(&crate::model::Node, String)> {
    let mut found = Vec::new();
    let mode = pa.spec().path(&["mtls", "mode"]);
    if let Some(m @ (Mode::Permissive | Mode::Disable)) = mode.as_str().and_then(Mode::parse) {
        found.push((mode, format!("mode {}", m.as_str())));
    }
    for (port, setting) in pa.spec().at("portLevelMtls").as_map() {
        let mode = setting.at("mode");
        if let Some(m @ (Mode::Permissive | Mode::Disable)) = mode.as_str().and_then(Mode::parse) {
            found.push((mode, format!("port {port} mode {}", m.as_str())));
        }
    }
    found
}
