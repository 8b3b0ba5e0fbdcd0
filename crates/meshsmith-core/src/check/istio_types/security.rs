//! PeerAuthentication, AuthorizationPolicy and RequestAuthentication (`security.istio.io`).

use super::{obj, Keys, Object, Shape, LABELS, TEXT_LIST};
use Shape::{Bool, Duration, List, Map, OneOf, Text};

pub fn spec_shape(kind: &str) -> Option<&'static Object> {
    match kind {
        "PeerAuthentication" => Some(&PEER_AUTHENTICATION),
        "AuthorizationPolicy" => Some(&AUTHORIZATION_POLICY),
        "RequestAuthentication" => Some(&REQUEST_AUTHENTICATION),
        _ => None,
    }
}

pub const MTLS_MODES: &[&str] = &["UNSET", "DISABLE", "PERMISSIVE", "STRICT"];

const MTLS: Shape = obj(&Object {
    fields: &[("mode", OneOf(MTLS_MODES))],
    required: &[],
});

const SELECTOR: Shape = obj(&Object {
    fields: &[("matchLabels", LABELS)],
    required: &[],
});

const POLICY_TARGET: Shape = obj(&Object {
    fields: &[
        ("group", Text),
        ("kind", Text),
        ("name", Text),
        ("namespace", Text),
    ],
    required: &["kind", "name"],
});

/// Keys are the workload's (target) ports.
const PEER_AUTHENTICATION: Object = Object {
    fields: &[
        ("mtls", MTLS),
        ("portLevelMtls", Map(Keys::Port, &MTLS)),
        ("selector", SELECTOR),
    ],
    required: &[],
};

const AUTHORIZATION_POLICY: Object = Object {
    fields: &[
        ("action", OneOf(&["ALLOW", "DENY", "AUDIT", "CUSTOM"])),
        (
            "provider",
            obj(&Object {
                fields: &[("name", Text)],
                required: &[],
            }),
        ),
        ("rules", List(&obj(&RULE))),
        ("selector", SELECTOR),
        ("targetRef", POLICY_TARGET),
        ("targetRefs", List(&POLICY_TARGET)),
    ],
    required: &[],
};

const RULE: Object = Object {
    fields: &[
        (
            "from",
            List(&obj(&Object {
                fields: &[("source", obj(&SOURCE))],
                required: &[],
            })),
        ),
        (
            "to",
            List(&obj(&Object {
                fields: &[("operation", obj(&OPERATION))],
                required: &[],
            })),
        ),
        (
            "when",
            List(&obj(&Object {
                fields: &[
                    ("key", Text),
                    ("notValues", TEXT_LIST),
                    ("values", TEXT_LIST),
                ],
                required: &["key"],
            })),
        ),
    ],
    required: &[],
};

const SOURCE: Object = Object {
    fields: &[
        ("ipBlocks", TEXT_LIST),
        ("namespaces", TEXT_LIST),
        ("notIpBlocks", TEXT_LIST),
        ("notNamespaces", TEXT_LIST),
        ("notPrincipals", TEXT_LIST),
        ("notRemoteIpBlocks", TEXT_LIST),
        ("notRequestPrincipals", TEXT_LIST),
        ("notServiceAccounts", TEXT_LIST),
        ("notTrustDomains", TEXT_LIST),
        ("principals", TEXT_LIST),
        ("remoteIpBlocks", TEXT_LIST),
        ("requestPrincipals", TEXT_LIST),
        ("serviceAccounts", TEXT_LIST),
        ("trustDomains", TEXT_LIST),
    ],
    required: &[],
};

const PORT_LIST: Shape = List(&Shape::PortText);

const OPERATION: Object = Object {
    fields: &[
        ("hosts", TEXT_LIST),
        ("methods", TEXT_LIST),
        ("notHosts", TEXT_LIST),
        ("notMethods", TEXT_LIST),
        ("notPaths", TEXT_LIST),
        ("notPorts", PORT_LIST),
        ("paths", TEXT_LIST),
        ("ports", PORT_LIST),
    ],
    required: &[],
};

const REQUEST_AUTHENTICATION: Object = Object {
    fields: &[
        ("jwtRules", List(&obj(&JWT_RULE))),
        ("selector", SELECTOR),
        ("targetRef", POLICY_TARGET),
        ("targetRefs", List(&POLICY_TARGET)),
    ],
    required: &[],
};

const JWT_RULE: Object = Object {
    fields: &[
        ("audiences", TEXT_LIST),
        ("forwardOriginalToken", Bool),
        ("fromCookies", TEXT_LIST),
        (
            "fromHeaders",
            List(&obj(&Object {
                fields: &[("name", Text), ("prefix", Text)],
                required: &["name"],
            })),
        ),
        ("fromParams", TEXT_LIST),
        ("issuer", Text),
        ("jwks", Text),
        ("jwks_uri", Text),
        ("jwksUri", Text),
        (
            "outputClaimToHeaders",
            List(&obj(&Object {
                fields: &[("claim", Text), ("header", Text)],
                required: &["header", "claim"],
            })),
        ),
        ("outputPayloadToHeader", Text),
        ("presence", OneOf(&["OPTIONAL", "REQUIRED"])),
        ("spaceDelimitedClaims", TEXT_LIST),
        ("timeout", Duration),
    ],
    required: &[],
};
