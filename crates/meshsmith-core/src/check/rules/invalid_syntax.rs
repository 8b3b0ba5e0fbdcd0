//! Rule MS101 `invalid-syntax`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS101`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::Finding;

declare_rule! {
    /// ## What it does
    /// Reports input that cannot be read as YAML or JSON: syntax errors, keys defined twice,
    /// text that is not UTF-8, and files past the input limits (size, nesting, alias expansion).
    ///
    /// ## Why it matters
    /// `kubectl apply` rejects such a file, or worse, applies the part before the error. No
    /// other check can run on a file that does not parse, so the whole input is unusable.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hosts: [orders
    ///   http: []
    /// ```
    ///
    /// ## Fix
    /// Correct the file at the line shown (here, close the `[` of `hosts`).
    pub struct InvalidSyntax {
        code: "MS101",
        name: "invalid-syntax",
        severity: Error,
        istio: None,
    }
}

/// Nothing to do on a loaded inventory: these findings come from the loader's errors
/// through [`crate::check::load_error_findings`].
pub fn run(_ctx: &Context, _out: &mut Vec<Finding>) {}
