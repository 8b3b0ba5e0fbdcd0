//! `declare_rule!`: one rule's metadata from its doc comment, so `explain`, SARIF and the
//! generated docs all read the very text written atop the rule.

/// Declares a rule's unit struct and its [`RuleMeta`](super::RuleMeta) as `META`, with the
/// doc comment kept verbatim in `META.doc`.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            code: $code:literal,
            name: $rule_name:literal,
            severity: $severity:ident,
            istio: $istio:expr $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl $name {
            pub const META: $crate::check::RuleMeta = $crate::check::RuleMeta {
                code: $code,
                name: $rule_name,
                severity: $crate::model::Severity::$severity,
                istio_code: $istio,
                doc: concat!($($doc, "\n"),*),
            };
        }
    };
}

pub(crate) use declare_rule;
