//! ServiceEntry, Sidecar and Gateway (`networking.istio.io`).

use super::destination_rule::CONNECTION_POOL;
use super::virtual_service::DESTINATION;
use super::{obj, Keys, Object, Shape, LABELS, PORT, TEXT_LIST, UINT32};
use Shape::{Bool, List, Map, OneOf, Text};

pub const SERVICE_ENTRY: Object = Object {
    fields: &[
        ("addresses", TEXT_LIST),
        (
            "endpoints",
            List(&obj(&Object {
                fields: &[
                    ("address", Text),
                    ("labels", LABELS),
                    ("locality", Text),
                    ("network", Text),
                    ("ports", Map(Keys::Any, &PORT)),
                    ("serviceAccount", Text),
                    ("weight", UINT32),
                ],
                required: &[],
            })),
        ),
        ("exportTo", TEXT_LIST),
        ("hosts", TEXT_LIST),
        ("location", OneOf(&["MESH_EXTERNAL", "MESH_INTERNAL"])),
        (
            "ports",
            List(&obj(&Object {
                fields: &[
                    ("name", Text),
                    ("number", PORT),
                    ("protocol", Text),
                    ("targetPort", PORT),
                ],
                required: &["number", "name"],
            })),
        ),
        (
            "resolution",
            OneOf(&["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"]),
        ),
        ("subjectAltNames", TEXT_LIST),
        ("workloadSelector", WORKLOAD_LABELS),
    ],
    required: &["hosts"],
};

const WORKLOAD_LABELS: Shape = obj(&Object {
    fields: &[("labels", LABELS)],
    required: &[],
});

const CAPTURE_MODES: Shape = OneOf(&["DEFAULT", "IPTABLES", "NONE"]);

/// Port 0 is how a listener on a unix domain socket is written.
const SIDECAR_PORT: Shape = obj(&Object {
    fields: &[
        ("name", Text),
        ("number", UINT32),
        ("protocol", Text),
        ("targetPort", UINT32),
    ],
    required: &[],
});

pub const SIDECAR: Object = Object {
    fields: &[
        (
            "egress",
            List(&obj(&Object {
                fields: &[
                    ("bind", Text),
                    ("captureMode", CAPTURE_MODES),
                    ("hosts", TEXT_LIST),
                    ("port", SIDECAR_PORT),
                ],
                required: &["hosts"],
            })),
        ),
        ("inboundConnectionPool", CONNECTION_POOL),
        (
            "ingress",
            List(&obj(&Object {
                fields: &[
                    ("bind", Text),
                    ("captureMode", CAPTURE_MODES),
                    ("connectionPool", CONNECTION_POOL),
                    ("defaultEndpoint", Text),
                    ("port", SIDECAR_PORT),
                    ("tls", obj(&SERVER_TLS)),
                ],
                required: &["port"],
            })),
        ),
        (
            "outboundTrafficPolicy",
            obj(&Object {
                fields: &[
                    ("egressProxy", obj(&DESTINATION)),
                    ("mode", OneOf(&["REGISTRY_ONLY", "ALLOW_ANY"])),
                ],
                required: &[],
            }),
        ),
        ("workloadSelector", WORKLOAD_LABELS),
    ],
    required: &[],
};

pub const GATEWAY: Object = Object {
    fields: &[
        ("selector", LABELS),
        (
            "servers",
            List(&obj(&Object {
                fields: &[
                    ("bind", Text),
                    ("defaultEndpoint", Text),
                    ("hosts", TEXT_LIST),
                    ("name", Text),
                    (
                        "port",
                        obj(&Object {
                            fields: &[
                                ("name", Text),
                                ("number", UINT32),
                                ("protocol", Text),
                                ("targetPort", UINT32),
                            ],
                            required: &["number", "protocol", "name"],
                        }),
                    ),
                    ("tls", obj(&SERVER_TLS)),
                ],
                required: &["port", "hosts"],
            })),
        ),
    ],
    required: &[],
};

const TLS_VERSIONS: Shape = OneOf(&["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"]);

const SERVER_TLS: Object = Object {
    fields: &[
        ("caCertCredentialName", Text),
        ("caCertificates", Text),
        ("caCrl", Text),
        ("cipherSuites", TEXT_LIST),
        ("credentialName", Text),
        ("credentialNames", TEXT_LIST),
        ("ecdhCurves", TEXT_LIST),
        ("httpsRedirect", Bool),
        ("insecureSkipVerify", Bool),
        ("maxProtocolVersion", TLS_VERSIONS),
        ("minProtocolVersion", TLS_VERSIONS),
        (
            "mode",
            OneOf(&[
                "PASSTHROUGH",
                "SIMPLE",
                "MUTUAL",
                "AUTO_PASSTHROUGH",
                "ISTIO_MUTUAL",
                "OPTIONAL_MUTUAL",
            ]),
        ),
        ("privateKey", Text),
        ("serverCertificate", Text),
        ("subjectAltNames", TEXT_LIST),
        (
            "tlsCertificates",
            List(&obj(&Object {
                fields: &[
                    ("caCertificates", Text),
                    ("privateKey", Text),
                    ("serverCertificate", Text),
                ],
                required: &[],
            })),
        ),
        ("verifyCertificateHash", TEXT_LIST),
        ("verifyCertificateSpki", TEXT_LIST),
    ],
    required: &[],
};
