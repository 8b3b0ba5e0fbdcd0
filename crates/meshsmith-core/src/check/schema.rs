//! CustomResourceDefinitions -> compiled JSON Schemas, one per (group, kind, version).
//!
//! A CRD's `openAPIV3Schema` is OpenAPI, not plain JSON Schema, so it is converted first:
//! `nullable: true` becomes a `null` alternative in `type`, `x-kubernetes-*` extensions are
//! dropped, and objects that list their properties (without
//! `x-kubernetes-preserve-unknown-fields`) reject other keys, as the API server does under
//! strict field validation. The CEL rules (`x-kubernetes-validations`) cannot be run here.

use crate::model::{Node, Object};
use serde_json::Value;
use std::collections::BTreeMap;

/// (API group, kind, version), e.g. (`networking.istio.io`, `VirtualService`, `v1`).
pub type SchemaKey = (String, String, String);

/// The schemas read from CRD objects; a schema that does not compile keeps its error.
pub struct CrdSchemas {
    pub schemas: BTreeMap<SchemaKey, Result<jsonschema::Validator, String>>,
}

impl CrdSchemas {
    pub fn new(crds: &[Object]) -> Self {
        let mut schemas = BTreeMap::new();
        for crd in crds.iter().filter(|o| o.kind == "CustomResourceDefinition") {
            let spec = crd.doc.at("spec");
            let (Some(group), Some(kind)) = (
                spec.at("group").as_str(),
                spec.path(&["names", "kind"]).as_str(),
            ) else {
                continue;
            };
            for version in spec.at("versions").as_seq() {
                let Some(name) = version.at("name").as_str() else {
                    continue;
                };
                let schema = version.path(&["schema", "openAPIV3Schema"]);
                if schema.is_null() {
                    continue;
                }
                let mut json = schema.to_json();
                prepare(&mut json, true);
                let compiled = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft4)
                    .build(&json)
                    .map_err(|e| e.to_string());
                schemas
                    .entry((group.to_string(), kind.to_string(), name.to_string()))
                    .or_insert(compiled);
            }
        }
        CrdSchemas { schemas }
    }

    /// True when some CRD defines this kind, at any version.
    pub fn knows_kind(&self, group: &str, kind: &str) -> bool {
        self.schemas.keys().any(|(g, k, _)| g == group && k == kind)
    }
}

/// Turns an OpenAPI v3 (Kubernetes flavour) schema into JSON Schema, in place.
pub fn prepare(schema: &mut Value, root: bool) {
    let Value::Object(map) = schema else {
        return;
    };
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    map.retain(|k, _| !k.starts_with("x-kubernetes-"));
    if map.remove("nullable") == Some(Value::Bool(true)) {
        if let Some(Value::String(t)) = map.get("type").cloned() {
            map.insert("type".into(), Value::Array(vec![t.into(), "null".into()]));
        }
    }
    // The root lists only `spec`/`status`; apiVersion, kind and metadata are always allowed.
    if !root
        && !preserve
        && map.contains_key("properties")
        && !map.contains_key("additionalProperties")
    {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(|v| prepare(v, false));
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(v @ Value::Object(_)) = map.get_mut(key) {
            prepare(v, false);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            list.iter_mut().for_each(|v| prepare(v, false));
        }
    }
}

/// The line of the value a JSON pointer (`/spec/http/0/timeout`) leads to, or of the
/// deepest value on the way that exists.
pub fn line_at(root: &Node, pointer: &str) -> u32 {
    let mut node = root;
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        let next = match raw.parse::<usize>() {
            Ok(i) if !node.as_seq().is_empty() => node.as_seq().get(i),
            _ => node.get(&segment),
        };
        match next {
            Some(n) if n.line > 0 => node = n,
            _ => break,
        }
    }
    node.line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openapi_extensions_become_plain_json_schema() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-validations": [{"rule": "self.x > 0"}],
                    "properties": {
                        "name": {"type": "string", "nullable": true},
                        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                                  "properties": {"a": {"type": "string"}}},
                        "list": {"type": "array", "items": {"type": "object",
                                 "properties": {"b": {"type": "integer"}}}}
                    }
                }
            }
        });
        prepare(&mut schema, true);
        let spec = &schema["properties"]["spec"];
        assert!(spec.get("x-kubernetes-validations").is_none());
        assert_eq!(spec["additionalProperties"], json!(false));
        assert_eq!(
            spec["properties"]["name"]["type"],
            json!(["string", "null"])
        );
        assert!(spec["properties"]["name"].get("nullable").is_none());
        assert!(spec["properties"]["extra"]
            .get("additionalProperties")
            .is_none());
        assert_eq!(
            spec["properties"]["list"]["items"]["additionalProperties"],
            json!(false)
        );
        // The root keeps apiVersion, kind and metadata allowed.
        assert!(schema.get("additionalProperties").is_none());
    }

    #[test]
    fn json_pointers_lead_to_the_line_of_the_value() {
        let text = "spec:\n  http:\n    - timeout: 3\n      route: []\n";
        let docs =
            crate::load::parse_documents(text, &crate::load::Limits::default()).expect("parses");
        let root = &docs[0].root;
        assert_eq!(line_at(root, "/spec/http/0/timeout"), 3);
        assert_eq!(line_at(root, "/spec/http/0/route"), 4);
        // A missing key stops at the deepest value that exists.
        assert_eq!(line_at(root, "/spec/http/0/missing"), 3);
    }
}
