//! The shape of every Istio kind meshsmith validates without CRDs, written as Istio's API
//! defines it: each object's fields with their types, the fields it requires, integer
//! ranges (`int32`, `uint32`, ports) and enum values. [`walk`] goes through a resource's
//! `spec` and reports each value that does not fit, and each key no field is named.
//!
//! ```text
//!  spec (Node) ──walk(Shape of the kind)──▶ (path, node, problem) for every mismatch
//! ```
//!
//! Kinds not listed here (EnvoyFilter, Telemetry...) are not looked at.

mod destination_rule;
mod security;
mod services;
mod virtual_service;

use crate::check::duration::parse_duration;
use crate::model::{Node, Value};
use std::fmt::Write as _;

/// What a value must look like.
#[derive(Clone, Copy)]
pub enum Shape {
    Text,
    Bool,
    /// An integer within the bounds (both included).
    Int(i64, i64),
    /// A number (integer or decimal) within the bounds.
    Number(f64, f64),
    /// Text that parses as a duration (`3s`, `500ms`).
    Duration,
    OneOf(&'static [&'static str]),
    /// A port number written as text (`"8080"`), as AuthorizationPolicy ports are.
    PortText,
    List(&'static Shape),
    /// A mapping whose keys are free (labels, headers) or port numbers, and whose values all
    /// have one shape.
    Map(Keys, &'static Shape),
    Object(&'static Object),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    Any,
    Port,
}

/// A message type: its fields, and those it cannot do without.
pub struct Object {
    pub fields: &'static [(&'static str, Shape)],
    pub required: &'static [&'static str],
}

pub const INT32: Shape = Shape::Int(i32::MIN as i64, i32::MAX as i64);
/// An `int32` Istio rejects below zero (attempts, weights, connection limits).
pub const COUNT: Shape = Shape::Int(0, i32::MAX as i64);
pub const UINT32: Shape = Shape::Int(0, u32::MAX as i64);
pub const PORT: Shape = Shape::Int(1, 65535);
pub const PERCENT: Shape = Shape::Number(0.0, 100.0);
pub const TEXT_LIST: Shape = Shape::List(&Shape::Text);
pub const LABELS: Shape = Shape::Map(Keys::Any, &Shape::Text);

const fn obj(object: &'static Object) -> Shape {
    Shape::Object(object)
}

/// The shape of `spec` for an Istio kind, when it is one meshsmith knows.
pub fn spec_shape(kind: &str) -> Option<&'static Object> {
    match kind {
        "VirtualService" => Some(&virtual_service::VIRTUAL_SERVICE),
        "DestinationRule" => Some(&destination_rule::DESTINATION_RULE),
        "ServiceEntry" => Some(&services::SERVICE_ENTRY),
        "Sidecar" => Some(&services::SIDECAR),
        "Gateway" => Some(&services::GATEWAY),
        _ => security::spec_shape(kind),
    }
}

/// One step from `spec` down to a value: a key, or a position in a list.
pub enum Step<'s> {
    Key(&'s str),
    Index(usize),
}

/// `spec.http[0].timeout`, written only when a value is reported.
pub fn shown_path(trail: &[Step]) -> String {
    let mut at = String::from("spec");
    for step in trail {
        match step {
            Step::Key(k) => {
                at.push('.');
                at.push_str(k);
            }
            Step::Index(i) => {
                let _ = write!(at, "[{i}]");
            }
        }
    }
    at
}

/// Calls `report` with the path, the node and the problem for every value under `node`
/// that does not have `shape`. A null value counts as absent, as the API server reads it.
pub fn walk<'n>(
    node: &'n Node,
    shape: Shape,
    trail: &mut Vec<Step<'n>>,
    report: &mut impl FnMut(&[Step], &'n Node, String),
) {
    if node.is_null() {
        return;
    }
    if let Some(problem) = scalar_problem(node, shape) {
        report(trail, node, problem);
        return;
    }
    match shape {
        Shape::List(item) => {
            for (i, child) in node.as_seq().iter().enumerate() {
                trail.push(Step::Index(i));
                walk(child, *item, trail, report);
                trail.pop();
            }
        }
        Shape::Map(keys, value) => {
            for (key, child) in node.as_map() {
                trail.push(Step::Key(key));
                if keys == Keys::Port && !key.parse::<u16>().is_ok_and(|p| p > 0) {
                    report(
                        trail,
                        child,
                        format!("key `{key}` is not a port number (1-65535)"),
                    );
                } else {
                    walk(child, *value, trail, report);
                }
                trail.pop();
            }
        }
        Shape::Object(object) => walk_object(node, object, trail, report),
        _ => {}
    }
}

fn walk_object<'n>(
    node: &'n Node,
    object: &'static Object,
    trail: &mut Vec<Step<'n>>,
    report: &mut impl FnMut(&[Step], &'n Node, String),
) {
    for field in object.required {
        if node.at(field).is_null() {
            report(trail, node, format!("`{field}` is required"));
        }
    }
    for (key, child) in node.as_map() {
        trail.push(Step::Key(key));
        match object.fields.iter().find(|(name, _)| name == key) {
            Some((_, shape)) => walk(child, *shape, trail, report),
            None => report(trail, child, unknown_field(key, object)),
        }
        trail.pop();
    }
}

fn unknown_field(key: &str, object: &Object) -> String {
    let mut names: Vec<&str> = object.fields.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    format!(
        "unknown field `{key}` (expected one of {})",
        names.join(", ")
    )
}

/// What is wrong with `node` itself (not with what it contains), if anything.
fn scalar_problem(node: &Node, shape: Shape) -> Option<String> {
    let json = || node.to_json();
    match shape {
        Shape::Text => (!json().is_string())
            .then(|| format!("`{}` is not a text value (quote it)", shown(node))),
        Shape::Bool => {
            (!json().is_boolean()).then(|| format!("`{}` is not `true` or `false`", shown(node)))
        }
        Shape::Int(min, max) => int_problem(node, min, max),
        Shape::Number(min, max) => match json().as_f64() {
            Some(n) if n >= min && n <= max => None,
            Some(_) => Some(format!("`{}` is out of range ({min}-{max})", shown(node))),
            None => Some(format!("`{}` is not a number", shown(node))),
        },
        Shape::Duration => match node.as_str() {
            Some(t) if json().is_string() && parse_duration(t).is_some() => None,
            _ => Some(format!(
                "`{}` is not a duration (e.g. `3s`, `500ms`)",
                shown(node)
            )),
        },
        Shape::OneOf(allowed) => match node.as_str() {
            Some(t) if allowed.contains(&t) => None,
            _ => Some(format!(
                "`{}` is not one of {}",
                shown(node),
                allowed.join(", ")
            )),
        },
        Shape::PortText => match node.as_str() {
            Some(t) if json().is_string() && t.parse::<u16>().is_ok_and(|p| p > 0) => None,
            _ => Some(format!("`{}` is not a port number", shown(node))),
        },
        Shape::List(_) => {
            (!matches!(node.value, Value::Seq(_))).then(|| "expected a list".to_string())
        }
        Shape::Map(..) | Shape::Object(_) => {
            (!node.is_map()).then(|| "expected a mapping".to_string())
        }
    }
}

fn int_problem(node: &Node, min: i64, max: i64) -> Option<String> {
    let value = match node.to_json() {
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    };
    let shown = shown(node);
    match value {
        Some(n) if (min..=max).contains(&n) => None,
        _ if (min, max) == (1, 65535) => Some(format!("`{shown}` is not a port number (1-65535)")),
        None if node.as_i64().is_some() => Some(format!("`{shown}` is quoted: write the number")),
        Some(n) if min == 0 && n < 0 => Some(format!("`{shown}` is not a non-negative integer")),
        Some(_) => Some(format!("`{shown}` is out of range ({min}-{max})")),
        None if node.as_str().is_some_and(all_digits) => {
            Some(format!("`{shown}` is out of range ({min}-{max})"))
        }
        None => Some(format!("`{shown}` is not an integer")),
    }
}

/// `-12`, `99999999999999999999`: an integer, whether or not it fits.
fn all_digits(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

pub fn shown(node: &Node) -> String {
    node.as_str()
        .map_or_else(|| "(not a single value)".to_string(), str::to_string)
}
