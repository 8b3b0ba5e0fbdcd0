//! DestinationRule (`networking.istio.io`) and the traffic policy a Sidecar shares with it.

use super::virtual_service::PORT_SELECTOR;
use super::{obj, Keys, Object, Shape, COUNT, LABELS, PERCENT, TEXT_LIST, UINT32};
use Shape::{Bool, Duration, List, OneOf, Text};

pub const DESTINATION_RULE: Object = Object {
    fields: &[
        ("exportTo", TEXT_LIST),
        ("host", Text),
        (
            "subsets",
            List(&obj(&Object {
                fields: &[
                    ("labels", LABELS),
                    ("name", Text),
                    ("trafficPolicy", obj(&TRAFFIC_POLICY)),
                ],
                required: &["name"],
            })),
        ),
        ("trafficPolicy", obj(&TRAFFIC_POLICY)),
        (
            "workloadSelector",
            obj(&Object {
                fields: &[("matchLabels", LABELS)],
                required: &[],
            }),
        ),
    ],
    // `host` is required: the rule reports it in its own words.
    required: &[],
};

const TRAFFIC_POLICY: Object = Object {
    fields: &[
        ("connectionPool", CONNECTION_POOL),
        ("loadBalancer", obj(&LOAD_BALANCER)),
        ("outlierDetection", obj(&OUTLIER_DETECTION)),
        (
            "portLevelSettings",
            List(&obj(&Object {
                fields: &[
                    ("connectionPool", CONNECTION_POOL),
                    ("loadBalancer", obj(&LOAD_BALANCER)),
                    ("outlierDetection", obj(&OUTLIER_DETECTION)),
                    ("port", PORT_SELECTOR),
                    ("tls", obj(&CLIENT_TLS)),
                ],
                required: &[],
            })),
        ),
        (
            "proxyProtocol",
            obj(&Object {
                fields: &[("version", OneOf(&["V1", "V2"]))],
                required: &[],
            }),
        ),
        (
            "retryBudget",
            obj(&Object {
                fields: &[
                    ("budgetInterval", Duration),
                    ("minRetryConcurrency", UINT32),
                    ("percent", PERCENT),
                ],
                required: &[],
            }),
        ),
        ("tls", obj(&CLIENT_TLS)),
        (
            "tunnel",
            obj(&Object {
                fields: &[
                    ("protocol", Text),
                    ("targetHost", Text),
                    ("targetPort", UINT32),
                ],
                required: &["targetHost", "targetPort"],
            }),
        ),
    ],
    required: &[],
};

pub const CONNECTION_POOL: Shape = obj(&Object {
    fields: &[
        (
            "http",
            obj(&Object {
                fields: &[
                    (
                        "h2UpgradePolicy",
                        OneOf(&["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"]),
                    ),
                    ("http1MaxPendingRequests", COUNT),
                    (
                        "http2KeepAlive",
                        obj(&Object {
                            fields: &[("interval", Duration), ("timeout", Duration)],
                            required: &[],
                        }),
                    ),
                    ("http2MaxRequests", COUNT),
                    ("idleTimeout", Duration),
                    ("maxConcurrentStreams", COUNT),
                    ("maxRequestsPerConnection", COUNT),
                    ("maxRetries", COUNT),
                    ("useClientProtocol", Bool),
                ],
                required: &[],
            }),
        ),
        (
            "tcp",
            obj(&Object {
                fields: &[
                    ("connectTimeout", Duration),
                    ("idleTimeout", Duration),
                    ("maxConnectionDuration", Duration),
                    ("maxConnections", COUNT),
                    (
                        "tcpKeepalive",
                        obj(&Object {
                            fields: &[
                                ("interval", Duration),
                                ("probes", UINT32),
                                ("time", Duration),
                            ],
                            required: &[],
                        }),
                    ),
                ],
                required: &[],
            }),
        ),
    ],
    required: &[],
});

/// Istio reads both percentages as 0-100 (`ValidatePercent`).
const OUTLIER_DETECTION: Object = Object {
    fields: &[
        ("baseEjectionTime", Duration),
        ("consecutive5xxErrors", UINT32),
        ("consecutiveErrors", COUNT),
        ("consecutiveGatewayErrors", UINT32),
        ("consecutiveLocalOriginFailures", UINT32),
        ("interval", Duration),
        ("maxEjectionPercent", Shape::Int(0, 100)),
        ("minHealthPercent", Shape::Int(0, 100)),
        (
            "outlierDetectionHttpErrorCodes",
            List(&Shape::Int(100, 599)),
        ),
        ("splitExternalLocalOriginErrors", Bool),
    ],
    required: &[],
};

pub const TLS_MODES: &[&str] = &["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"];

const CLIENT_TLS: Object = Object {
    fields: &[
        ("caCertificates", Text),
        ("caCrl", Text),
        ("clientCertificate", Text),
        ("credentialName", Text),
        ("insecureSkipVerify", Bool),
        ("mode", OneOf(TLS_MODES)),
        ("privateKey", Text),
        ("sni", Text),
        ("subjectAltNames", TEXT_LIST),
    ],
    required: &[],
};

const FAILOVER: Shape = List(&obj(&Object {
    fields: &[("from", Text), ("to", Text)],
    required: &[],
}));

const LOAD_BALANCER: Object = Object {
    fields: &[
        (
            "backendUtilization",
            obj(&Object {
                fields: &[
                    ("errorUtilizationPenaltyPercent", UINT32),
                    ("metricNamesForComputingUtilization", TEXT_LIST),
                    ("weightExpirationPeriod", Duration),
                    ("weightStabilizationPeriod", Duration),
                    ("weightUpdatePeriod", Duration),
                ],
                required: &[],
            }),
        ),
        ("consistentHash", obj(&CONSISTENT_HASH)),
        (
            "localityLbSetting",
            obj(&Object {
                fields: &[
                    (
                        "distribute",
                        List(&obj(&Object {
                            fields: &[("from", Text), ("to", Shape::Map(Keys::Any, &UINT32))],
                            required: &[],
                        })),
                    ),
                    ("enabled", Bool),
                    ("failover", FAILOVER),
                    ("failoverPriority", TEXT_LIST),
                ],
                required: &[],
            }),
        ),
        (
            "simple",
            OneOf(&[
                "UNSPECIFIED",
                "LEAST_CONN",
                "RANDOM",
                "PASSTHROUGH",
                "ROUND_ROBIN",
                "LEAST_REQUEST",
            ]),
        ),
        (
            "warmup",
            obj(&Object {
                fields: &[
                    ("aggression", Shape::Number(0.0, f64::MAX)),
                    ("duration", Duration),
                    ("minimumPercent", PERCENT),
                ],
                required: &["duration"],
            }),
        ),
        ("warmupDurationSecs", Duration),
        (
            "zoneAwareLbSetting",
            obj(&Object {
                fields: &[
                    ("enabled", Bool),
                    ("failover", FAILOVER),
                    ("failoverPriority", TEXT_LIST),
                    ("minClusterSize", Shape::Int(1, u32::MAX as i64)),
                ],
                required: &[],
            }),
        ),
    ],
    required: &[],
};

const RING_SIZE: Shape = Shape::Int(0, i64::MAX);

const CONSISTENT_HASH: Object = Object {
    fields: &[
        (
            "httpCookie",
            obj(&Object {
                fields: &[
                    (
                        "attributes",
                        List(&obj(&Object {
                            fields: &[("name", Text), ("value", Text)],
                            required: &["name"],
                        })),
                    ),
                    ("name", Text),
                    ("path", Text),
                    ("ttl", Duration),
                ],
                required: &["name"],
            }),
        ),
        ("httpHeaderName", Text),
        ("httpQueryParameterName", Text),
        (
            "maglev",
            obj(&Object {
                fields: &[("tableSize", RING_SIZE)],
                required: &[],
            }),
        ),
        ("minimumRingSize", RING_SIZE),
        (
            "ringHash",
            obj(&Object {
                fields: &[("minimumRingSize", RING_SIZE)],
                required: &[],
            }),
        ),
        ("useSourceIp", Bool),
    ],
    required: &[],
};
