//! `meshsmith explain NAME`: what a check code means (its documentation, the same text the
//! SARIF output and the generated docs use).

use anyhow::bail;
use meshsmith_core::check::{rule, RULES};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// A check code (`MS301`) or rule name (`unknown-destination-host`); without one, the
    /// list of all check codes.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    match &args.name {
        Some(name) => println!("{}", explain_code(name)?),
        None => print!("{}", code_table()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Every check code with its name, severity and one-line summary, aligned.
pub fn code_table() -> String {
    let width = RULES.iter().map(|r| r.meta.name.len()).max().unwrap_or(0);
    RULES
        .iter()
        .map(|r| {
            let m = &r.meta;
            format!(
                "{}  {:<width$}  {:<7}  {}\n",
                m.code,
                m.name,
                m.severity.as_str(),
                m.summary()
            )
        })
        .collect()
}

/// The full documentation of one rule, headed by its code, name, severity and istioctl code.
pub fn explain_code(name: &str) -> anyhow::Result<String> {
    let Some(r) = rule(name) else {
        bail!("`{name}` is not a check code or rule name (codes look like MS301)");
    };
    let m = &r.meta;
    let istio = m
        .istio_code
        .map_or(String::new(), |c| format!(", istioctl analyze {c}"));
    Ok(format!(
        "{} {} ({}{istio})\n\n{}",
        m.code,
        m.name,
        m.severity,
        m.doc_markdown()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_a_code_from_its_doc_comment() {
        let text = explain_code("MS303").expect("MS303 exists");
        assert!(
            text.starts_with("MS303 unknown-destination-host (error, istioctl analyze IST0101)")
        );
        assert!(text.contains("## Why it matters"));
        assert!(text.contains("## Fix"));
        assert!(explain_code("MS999").is_err());
    }

    #[test]
    fn lists_every_code_once() {
        let table = code_table();
        assert_eq!(table.lines().count(), RULES.len());
        assert!(table
            .lines()
            .any(|l| l.starts_with("MS201  dependency-cycle ")));
    }
}
