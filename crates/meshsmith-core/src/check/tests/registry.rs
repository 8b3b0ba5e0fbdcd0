//! The rule table itself: codes unique, sorted and in range, every rule documented with the
//! fixed headings, names kebab-case, istioctl codes well formed.

use crate::check::{rule, RULES};

#[test]
fn codes_are_unique_sorted_and_in_their_ranges() {
    let codes: Vec<&str> = RULES.iter().map(|r| r.meta.code).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted, "codes must be unique and listed in order");
    for code in codes {
        let digits = code.strip_prefix("MS").expect("codes start with MS");
        assert_eq!(digits.len(), 3, "{code}");
        let n: u32 = digits.parse().expect("three digits");
        assert!((101..500).contains(&n), "{code}: codes run MS101..MS499");
    }
}

#[test]
fn names_are_unique_kebab_case() {
    let mut names: Vec<&str> = RULES.iter().map(|r| r.meta.name).collect();
    for name in &names {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !name.starts_with('-')
                && !name.ends_with('-'),
            "{name} is not kebab-case"
        );
    }
    names.sort();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "rule names must be unique");
}

#[test]
fn every_rule_is_documented_with_the_fixed_headings() {
    for r in RULES {
        let doc = r.meta.doc_markdown();
        let mut at = 0;
        for heading in [
            "## What it does",
            "## Why it matters",
            "## Example",
            "## Fix",
        ] {
            let found = doc[at..].find(heading);
            assert!(
                found.is_some(),
                "{} lacks `{heading}` (in this order)",
                r.meta.code
            );
            at += found.unwrap_or(0) + heading.len();
            let body = doc[at..].split("\n## ").next().unwrap_or("");
            assert!(
                body.trim().len() > 10,
                "{}: `{heading}` is empty",
                r.meta.code
            );
        }
        assert!(
            !r.meta.summary().is_empty(),
            "{} has no summary",
            r.meta.code
        );
    }
}

#[test]
fn istio_codes_are_well_formed() {
    for r in RULES {
        if let Some(code) = r.meta.istio_code {
            let digits = code.strip_prefix("IST").unwrap_or("");
            assert!(
                digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()),
                "{code}"
            );
        }
    }
}

#[test]
fn every_istio_code_names_the_analyzer_it_matches() {
    for r in RULES {
        let section = r.meta.section("istioctl");
        if let Some(code) = r.meta.istio_code {
            assert!(
                section.contains(code) && section.contains("Analyzer"),
                "{} maps to {code} but its `## istioctl` section does not name the analyzer and code",
                r.meta.code
            );
        } else if !section.is_empty() {
            assert!(
                section.starts_with("Not mapped."),
                "{}: an unmapped rule's `## istioctl` section says why: {section}",
                r.meta.code
            );
        }
    }
}

#[test]
fn rules_are_found_by_code_or_name() {
    assert_eq!(
        rule("ms303").map(|r| r.meta.name),
        Some("unknown-destination-host")
    );
    assert_eq!(rule("dependency-cycle").map(|r| r.meta.code), Some("MS201"));
    assert!(rule("MS999").is_none());
}

#[test]
fn the_code_table_is_as_documented() {
    let table: String = RULES
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}\n",
                r.meta.code,
                r.meta.name,
                r.meta.severity,
                r.meta.istio_code.unwrap_or("-")
            )
        })
        .collect();
    insta::assert_snapshot!("rule-table", table);
}

#[test]
fn the_plan_rules_are_the_codes_plan_verify_reports() {
    for (code, name) in crate::plan::verify::CODES {
        assert_eq!(rule(code).map(|r| r.meta.name), Some(name), "{code}");
    }
}
