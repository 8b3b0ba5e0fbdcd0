//! A YAML/JSON document as a tree whose every value remembers the line it came from.
//!
//! Scalars keep their source text and whether they were written plain (unquoted), so that
//! `"8080"` and `8080` can be told apart where that matters, and so that values never go
//! through a lossy float conversion.

/// One value of a parsed document and the (1-based) line it starts on.
///
/// 32 bytes, and a mapping entry (key and node) 56: a large organisation's generated
/// configuration is read back as hundreds of thousands of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: u32,
    /// A scalar written plain (unquoted, not a block scalar); false for any other value.
    pub plain: bool,
}

/// Text of a key or scalar: short texts (most keys and values) are kept inline.
pub type Text = compact_str::CompactString;

/// Keys too long to be kept inline that nearly every object of a large organisation
/// writes: the recommended `app.kubernetes.io/*` labels, the keys Kubernetes and Istio add,
/// and a few long field names of pod specs.
const WELL_KNOWN: &[&str] = &[
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/created-by",
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubectl.kubernetes.io/default-container",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "security.istio.io/tlsMode",
    "service.istio.io/canonical-name",
    "service.istio.io/canonical-revision",
    "traffic.sidecar.istio.io/excludeOutboundPorts",
    "traffic.sidecar.istio.io/excludeInboundPorts",
    "traffic.sidecar.istio.io/includeOutboundIPRanges",
    "traffic.sidecar.istio.io/excludeOutboundIPRanges",
    "automountServiceAccountToken",
    "terminationGracePeriodSeconds",
    "topologySpreadConstraints",
    "preferredDuringSchedulingIgnoredDuringExecution",
    "requiredDuringSchedulingIgnoredDuringExecution",
];

/// The shared static of `s` when it is a well-known key too long to be kept inline.
fn well_known(s: &str) -> Option<Text> {
    if s.len() <= std::mem::size_of::<Text>() {
        return None;
    }
    WELL_KNOWN
        .iter()
        .find(|k| **k == s)
        .map(|k| Text::const_new(k))
}

/// `s` as a [`Text`]: inline when short, one shared static for a well-known long key, else
/// on the heap (reusing `s`'s buffer when it owns one).
pub fn text<'a>(s: impl Into<std::borrow::Cow<'a, str>>) -> Text {
    let s = s.into();
    well_known(&s).unwrap_or_else(|| Text::from(s))
}

/// `t`, or the shared static of it when it is a well-known long key (see [`text`]).
pub fn shared(t: Text) -> Text {
    match t.is_heap_allocated() {
        true => well_known(&t).unwrap_or(t),
        false => t,
    }
}

/// The shape of a value. Mapping keys are kept as text, in source order. Lists and mappings
/// hold exactly their items (a parsed tree is read, never grown), which with the scalar's
/// text keeps a value to 24 bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Scalar text; whether it was written plain is [`Node::plain`].
    Scalar {
        text: Text,
    },
    Seq(Box<[Node]>),
    Map(Box<[(Text, Node)]>),
}

// The sizes the tree's memory figures rest on (README, Scale), on 64-bit targets.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Node>() == 32);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<(Text, Node)>() == 56);

static NULL: Node = Node {
    value: Value::Null,
    line: 0,
    plain: false,
};

impl Node {
    /// A node that is not a plain scalar (see [`Node::scalar`]).
    pub fn new(value: Value, line: u32) -> Self {
        Node {
            value,
            line,
            plain: false,
        }
    }

    /// A scalar, `plain` when written without quotes and not as a block scalar.
    pub fn scalar(text: Text, plain: bool, line: u32) -> Self {
        Node {
            value: Value::Scalar { text },
            line,
            plain,
        }
    }

    /// A null node that lives as long as the program, for a value that is not there.
    pub fn null() -> &'static Node {
        &NULL
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Like [`Node::get`] but yields a null node instead of `None`, for chained look-ups.
    pub fn at(&self, key: &str) -> &Node {
        self.get(key).unwrap_or(&NULL)
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> &Node {
        keys.iter().fold(self, |node, key| node.at(key))
    }

    /// Scalar text, whatever its type (`8080`, `true`, `"x"` all give their text).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Scalar as an integer (plain or quoted digits).
    pub fn as_i64(&self) -> Option<i64> {
        self.as_str().and_then(|s| s.trim().parse().ok())
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.as_str()? {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_map(&self) -> &[(Text, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// A mapping of scalar values as `(key, text)` pairs, e.g. labels or ConfigMap data.
    pub fn string_map(&self) -> Vec<(String, String)> {
        self.as_map()
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.to_string(), s.to_string())))
            .collect()
    }

    /// Converts to JSON, resolving plain scalars to numbers, booleans and null as YAML 1.2's
    /// core schema does. Used for schema validation and for re-emitting existing config.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Scalar { text } if self.plain => plain_scalar_json(text),
            Value::Scalar { text } => serde_json::Value::String(text.to_string()),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}

fn plain_scalar_json(text: &str) -> serde_json::Value {
    match text {
        "null" | "Null" | "NULL" | "~" | "" => return serde_json::Value::Null,
        "true" | "True" | "TRUE" => return serde_json::Value::Bool(true),
        "false" | "False" | "FALSE" => return serde_json::Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return i.into();
    }
    let numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if numeric && text.chars().any(|c| c.is_ascii_digit()) {
        if let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return serde_json::Value::Number(n);
        }
    }
    serde_json::Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_long_keys_are_shared_not_allocated() {
        let known = text("app.kubernetes.io/managed-by".to_string());
        assert_eq!(known, "app.kubernetes.io/managed-by");
        assert!(!known.is_heap_allocated());
        assert!(!shared(Text::from("app.kubernetes.io/instance")).is_heap_allocated());
        let other = text("x".repeat(30));
        assert_eq!(other, "x".repeat(30));
        assert!(other.is_heap_allocated());
        assert_eq!(text("short"), "short");
    }

    fn scalar(text: &str, plain: bool) -> Node {
        Node::scalar(text.into(), plain, 1)
    }

    #[test]
    fn plain_scalars_resolve_to_json_types_and_quoted_ones_stay_strings() {
        assert_eq!(scalar("8080", true).to_json(), serde_json::json!(8080));
        assert_eq!(scalar("8080", false).to_json(), serde_json::json!("8080"));
        assert_eq!(scalar("true", true).to_json(), serde_json::json!(true));
        assert_eq!(scalar("1.5", true).to_json(), serde_json::json!(1.5));
        assert_eq!(scalar("1.2.3", true).to_json(), serde_json::json!("1.2.3"));
        assert_eq!(scalar("~", true).to_json(), serde_json::Value::Null);
    }

    #[test]
    fn path_walks_missing_keys_to_null() {
        let doc = Node::new(
            Value::Map(Box::new([(
                "metadata".into(),
                Node::new(
                    Value::Map(Box::new([("name".into(), scalar("a", true))])),
                    2,
                ),
            )])),
            1,
        );
        assert_eq!(doc.path(&["metadata", "name"]).as_str(), Some("a"));
        assert!(doc.path(&["spec", "template", "x"]).is_null());
    }
}
