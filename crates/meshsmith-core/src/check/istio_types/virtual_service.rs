//! VirtualService (`networking.istio.io`): HTTP, TCP and TLS routes.

use super::{obj, Keys, Object, Shape, COUNT, INT32, LABELS, PERCENT, PORT, TEXT_LIST, UINT32};
use Shape::{Bool, Duration, List, Map, OneOf, Text};

pub const VIRTUAL_SERVICE: Object = Object {
    fields: &[
        ("exportTo", TEXT_LIST),
        ("gateways", TEXT_LIST),
        ("hosts", TEXT_LIST),
        ("http", List(&obj(&HTTP_ROUTE))),
        ("tcp", List(&obj(&TCP_ROUTE))),
        ("tls", List(&obj(&TLS_ROUTE))),
    ],
    required: &[],
};

const STRING_MATCH: Shape = obj(&Object {
    fields: &[("exact", Text), ("prefix", Text), ("regex", Text)],
    required: &[],
});

const HEADER_OPERATIONS: Shape = obj(&Object {
    fields: &[("add", LABELS), ("remove", TEXT_LIST), ("set", LABELS)],
    required: &[],
});

const HEADERS: Shape = obj(&Object {
    fields: &[
        ("request", HEADER_OPERATIONS),
        ("response", HEADER_OPERATIONS),
    ],
    required: &[],
});

pub const PORT_SELECTOR: Shape = obj(&Object {
    fields: &[("number", PORT)],
    required: &[],
});

pub const DESTINATION: Object = Object {
    fields: &[("host", Text), ("port", PORT_SELECTOR), ("subset", Text)],
    required: &["host"],
};

const PERCENTAGE: Shape = obj(&Object {
    fields: &[("value", PERCENT)],
    required: &[],
});

const HTTP_ROUTE: Object = Object {
    fields: &[
        ("corsPolicy", obj(&CORS_POLICY)),
        (
            "delegate",
            obj(&Object {
                fields: &[("name", Text), ("namespace", Text)],
                required: &[],
            }),
        ),
        (
            "directResponse",
            obj(&Object {
                fields: &[
                    (
                        "body",
                        obj(&Object {
                            fields: &[("bytes", Text), ("string", Text)],
                            required: &[],
                        }),
                    ),
                    ("status", UINT32),
                ],
                required: &["status"],
            }),
        ),
        ("fault", obj(&FAULT)),
        ("headers", HEADERS),
        ("match", List(&obj(&HTTP_MATCH))),
        ("mirror", obj(&DESTINATION)),
        ("mirror_percent", UINT32),
        ("mirrorPercent", UINT32),
        ("mirrorPercentage", PERCENTAGE),
        (
            "mirrors",
            List(&obj(&Object {
                fields: &[
                    ("destination", obj(&DESTINATION)),
                    ("percentage", PERCENTAGE),
                ],
                required: &["destination"],
            })),
        ),
        ("name", Text),
        ("redirect", obj(&REDIRECT)),
        ("retries", obj(&RETRIES)),
        (
            "rewrite",
            obj(&Object {
                fields: &[
                    ("authority", Text),
                    ("uri", Text),
                    (
                        "uriRegexRewrite",
                        obj(&Object {
                            fields: &[("match", Text), ("rewrite", Text)],
                            required: &[],
                        }),
                    ),
                ],
                required: &[],
            }),
        ),
        (
            "route",
            List(&obj(&Object {
                fields: &[
                    ("destination", obj(&DESTINATION)),
                    ("headers", HEADERS),
                    ("weight", COUNT),
                ],
                required: &["destination"],
            })),
        ),
        ("timeout", Duration),
    ],
    required: &[],
};

const CORS_POLICY: Object = Object {
    fields: &[
        ("allowCredentials", Bool),
        ("allowHeaders", TEXT_LIST),
        ("allowMethods", TEXT_LIST),
        ("allowOrigin", TEXT_LIST),
        ("allowOrigins", List(&STRING_MATCH)),
        ("exposeHeaders", TEXT_LIST),
        ("maxAge", Duration),
        (
            "unmatchedPreflights",
            OneOf(&["UNSPECIFIED", "FORWARD", "IGNORE"]),
        ),
    ],
    required: &[],
};

const FAULT: Object = Object {
    fields: &[
        (
            "abort",
            obj(&Object {
                fields: &[
                    ("grpcStatus", Text),
                    ("http2Error", Text),
                    ("httpStatus", INT32),
                    ("percentage", PERCENTAGE),
                ],
                required: &[],
            }),
        ),
        (
            "delay",
            obj(&Object {
                fields: &[
                    ("exponentialDelay", Duration),
                    ("fixedDelay", Duration),
                    ("percent", INT32),
                    ("percentage", PERCENTAGE),
                ],
                required: &[],
            }),
        ),
    ],
    required: &[],
};

const HTTP_MATCH: Object = Object {
    fields: &[
        ("authority", STRING_MATCH),
        ("gateways", TEXT_LIST),
        ("headers", Map(Keys::Any, &STRING_MATCH)),
        ("ignoreUriCase", Bool),
        ("method", STRING_MATCH),
        ("name", Text),
        ("port", UINT32),
        ("queryParams", Map(Keys::Any, &STRING_MATCH)),
        ("scheme", STRING_MATCH),
        ("sourceLabels", LABELS),
        ("sourceNamespace", Text),
        ("statPrefix", Text),
        ("uri", STRING_MATCH),
        ("withoutHeaders", Map(Keys::Any, &STRING_MATCH)),
    ],
    required: &[],
};

const REDIRECT: Object = Object {
    fields: &[
        ("authority", Text),
        (
            "derivePort",
            OneOf(&["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"]),
        ),
        ("port", UINT32),
        ("prefixRewrite", Text),
        ("redirectCode", UINT32),
        ("scheme", Text),
        ("uri", Text),
    ],
    required: &[],
};

const RETRIES: Object = Object {
    fields: &[
        ("attempts", COUNT),
        ("backoff", Duration),
        ("perTryTimeout", Duration),
        ("retryIgnorePreviousHosts", Bool),
        ("retryOn", Text),
        ("retryRemoteLocalities", Bool),
    ],
    required: &[],
};

const ROUTE_DESTINATION: Shape = obj(&Object {
    fields: &[("destination", obj(&DESTINATION)), ("weight", COUNT)],
    required: &["destination"],
});

const TCP_ROUTE: Object = Object {
    fields: &[
        (
            "match",
            List(&obj(&Object {
                fields: &[
                    ("destinationSubnets", TEXT_LIST),
                    ("gateways", TEXT_LIST),
                    ("port", UINT32),
                    ("sourceLabels", LABELS),
                    ("sourceNamespace", Text),
                    ("sourceSubnet", Text),
                ],
                required: &[],
            })),
        ),
        ("route", List(&ROUTE_DESTINATION)),
    ],
    required: &[],
};

const TLS_ROUTE: Object = Object {
    fields: &[
        (
            "match",
            List(&obj(&Object {
                fields: &[
                    ("destinationSubnets", TEXT_LIST),
                    ("gateways", TEXT_LIST),
                    ("port", UINT32),
                    ("sniHosts", TEXT_LIST),
                    ("sourceLabels", LABELS),
                    ("sourceNamespace", Text),
                ],
                required: &["sniHosts"],
            })),
        ),
        ("route", List(&ROUTE_DESTINATION)),
    ],
    required: &["match"],
};
