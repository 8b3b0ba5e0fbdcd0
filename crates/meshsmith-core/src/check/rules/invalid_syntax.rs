//! Rule MS101 `invalid-syntax`. The doc comment on its struct is the rule's documentation:
//! `meshsmith explain MS101`, the SARIF rule metadata and the generated docs read it.

use crate::check::macros::declare_rule;
use crate::check::Context;
use crate::model::{Finding, Severity};

declare_rule! {
    /// ## What it does
    /// Reports input that cannot be read as YAML or JSON: syntax errors, text that is not
    /// UTF-8, files past the input limits (size, nesting, alias expansion), templates that were
    /// not rendered, and objects the API server would refuse (names that are not DNS names,
    /// workloads without containers, ports out of range or quoted). A key written twice in one
    /// mapping is reported as a warning: kubectl takes the later value, which may not be the
    /// one meant.
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

/// Errors come from the loader through [`crate::check::load_error_findings`]; what is left
/// on a loaded inventory are the keys written twice, which the loader notes.
pub fn run(ctx: &Context, out: &mut Vec<Finding>) {
    for note in ctx
        .inventory
        .notes
        .iter()
        .filter(|n| n.message.contains(crate::load::DUPLICATE_KEY))
    {
        let mut finding = InvalidSyntax::META.finding(
            note.origin.file.to_string(),
            Some(note.origin.clone()),
            note.message.clone(),
            "keep one of the two keys: kubectl uses the later value",
        );
        finding.severity = Severity::Warning;
        out.push(finding);
    }
}
