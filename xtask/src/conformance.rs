//! Conformance: `meshsmith check` against Istio's own analyzers, input by input.
//!
//! ```text
//!  input (one testdata file, or one corpus) ─┬─▶ istioctl analyze --use-kube=false ─┐
//!                                            ├─▶ istio-cluster-analyze ──────────────┼─▶ Istio's (code, resource) pairs
//!                                            └─▶ load -> inventory -> infer -> check ─▶ meshsmith's pairs
//!  pairs of every IST code a rule claims ──compare──▶ per code: istioctl, meshsmith, agreed, missed, extra
//! ```
//!
//! Istio's verdict on an input is the union of two runs of the same pinned analyzers: real
//! `istioctl analyze --use-kube=false`, and `istio-cluster-analyze`, which gives them the
//! Services, Namespaces and Pods of the files as a live cluster would (istioctl leaves those
//! kinds out of files-only analysis, and skips every analyzer that needs one). Only the IST
//! codes meshsmith's rules claim are compared; a pair is an input, a code and a resource
//! (`VirtualService shop/orders`), so two messages on one resource count once.

use crate::applied::yaml_files;
use crate::istio_tools;
use meshsmith_core::check::istioctl::parse;
use meshsmith_core::check::{check, CheckConfig, RULES};
use meshsmith_core::infer::infer;
use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load, Input, Limits};
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The two programs Istio's verdict comes from.
#[derive(Debug, Clone)]
pub struct Judges {
    pub istioctl: PathBuf,
    pub cluster_analyze: PathBuf,
}

/// Where an input comes from: Istio's analyzer tests, or a corpus of real manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suite {
    Testdata,
    Corpora,
}

impl Suite {
    pub fn title(self) -> &'static str {
        match self {
            Suite::Testdata => "Istio's analyzer test inputs",
            Suite::Corpora => "the corpora",
        }
    }
}

/// What both sides read at once: one testdata file, or every file of one corpus.
#[derive(Debug, Clone)]
pub struct Case {
    pub suite: Suite,
    /// `virtualservice_gateways.yaml`, or the corpus's folder name.
    pub name: String,
    pub path: PathBuf,
}

/// Istio's analyzer test inputs: every YAML file directly in the testdata folder (the
/// `common/` and `multicluster/` folders hold files only read together with others).
pub fn testdata_cases(dir: &Path) -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|path| Case {
            suite: Suite::Testdata,
            name: file_name(&path),
            path,
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// One case per corpus folder.
pub fn corpus_cases(corpora: &[PathBuf]) -> Vec<Case> {
    corpora
        .iter()
        .map(|path| Case {
            suite: Suite::Corpora,
            name: file_name(path),
            path: path.clone(),
        })
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An IST code on a resource: `("IST0101", "VirtualService default/reviews")`.
pub type Pair = (String, String);

/// What each side said about one case.
#[derive(Debug, Clone, Default)]
pub struct Verdicts {
    /// Pairs `istioctl analyze --use-kube=false` gave.
    pub offline: BTreeSet<Pair>,
    /// Pairs Istio gave: the offline run's and the cluster-like run's.
    pub istio: BTreeSet<Pair>,
    pub meshsmith: BTreeSet<Pair>,
    /// Why the case was left out of the comparison, when it was.
    pub skipped: Option<String>,
    /// Pods both sides read with a stand-in container (see [`completed`]), as `ns/name`.
    pub completed: Vec<String>,
}

/// One case's verdicts.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub case: Case,
    pub verdicts: Verdicts,
}

/// The IST codes meshsmith's rules claim, each with the rules that claim it.
pub fn claimed_codes() -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut codes: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
    for rule in RULES {
        if let Some(code) = rule.meta.istio_code {
            codes.entry(code).or_default().push(rule.meta.code);
        }
    }
    codes
}

/// Runs every case through both sides (in parallel) and returns the outcomes in case order.
pub fn run(judges: &Judges, cases: &[Case]) -> Vec<Outcome> {
    let claimed = claimed_codes();
    cases
        .par_iter()
        .map(|case| Outcome {
            case: case.clone(),
            verdicts: verdicts(judges, case, &claimed),
        })
        .collect()
}

fn verdicts(
    judges: &Judges,
    case: &Case,
    claimed: &BTreeMap<&'static str, Vec<&'static str>>,
) -> Verdicts {
    let keep = |pairs: Vec<Pair>| -> BTreeSet<Pair> {
        pairs
            .into_iter()
            .filter(|(code, _)| claimed.contains_key(code.as_str()))
            .collect()
    };
    // Both sides read the same text: the case, or its copy with stand-in containers.
    let copy = tempfile_dir();
    let (path, completed) = match (&copy, completed(&case.path)) {
        (Some(dir), Some((text, pods))) => {
            let file = dir.path().join(&case.name);
            match std::fs::write(&file, text) {
                Ok(()) => (file, pods),
                Err(_) => (case.path.clone(), Vec::new()),
            }
        }
        _ => (case.path.clone(), Vec::new()),
    };
    let files = yaml_files(&path);
    let offline = istio_pairs(&judges.istioctl, &crate::applied::ANALYZE_OFFLINE, &files);
    let cluster = istio_pairs(&judges.cluster_analyze, &[], &files);
    let (offline, cluster) = match (offline, cluster) {
        (Ok(a), Ok(b)) => (keep(a), keep(b)),
        (Err(e), _) | (_, Err(e)) => {
            return Verdicts {
                skipped: Some(format!("Istio cannot read it: {e}")),
                ..Verdicts::default()
            }
        }
    };
    let meshsmith = match meshsmith_pairs(&path) {
        Ok(pairs) => keep(pairs),
        Err(e) => {
            return Verdicts {
                skipped: Some(format!("meshsmith cannot read it: {e}")),
                ..Verdicts::default()
            }
        }
    };
    Verdicts {
        istio: offline.union(&cluster).cloned().collect(),
        offline,
        meshsmith,
        skipped: None,
        completed,
    }
}

fn tempfile_dir() -> Option<tempfile::TempDir> {
    tempfile::tempdir().ok()
}

/// A testdata file whose Pods are written without containers, with one stand-in container
/// given to each such Pod, and those Pods' `ns/name`; `None` when no Pod needs one (or the
/// file does not read as YAML). Istio's analyzer tests leave a Pod's spec out because the
/// analyzers read only its labels and namespace; the API server refuses a Pod without a
/// container, and so does meshsmith. With the container, both sides judge an input a cluster
/// could hold, and Istio's analyzers see what they saw before.
pub fn completed(path: &Path) -> Option<(String, Vec<String>)> {
    if !path.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let mut docs = Vec::new();
    let mut pods = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(&text) {
        let mut value = serde_json::Value::deserialize(doc).ok()?;
        let containers = &value["spec"]["containers"];
        let empty = containers.as_array().is_none_or(Vec::is_empty);
        if value["kind"] == "Pod" && empty {
            let meta = &value["metadata"];
            pods.push(format!(
                "{}/{}",
                meta["namespace"].as_str().unwrap_or("default"),
                meta["name"].as_str().unwrap_or("")
            ));
            let stand_in = serde_json::json!([{"name": "app", "image": "app"}]);
            match value.get_mut("spec").and_then(|s| s.as_object_mut()) {
                Some(spec) => {
                    spec.insert("containers".into(), stand_in);
                }
                None => value["spec"] = serde_json::json!({"containers": stand_in}),
            }
        }
        if !value.is_null() {
            docs.push(value);
        }
    }
    if pods.is_empty() {
        return None;
    }
    let mut out = String::new();
    for doc in &docs {
        out.push_str("---\n");
        out.push_str(&yaml_serde::to_string(doc).ok()?);
    }
    Some((out, pods))
}

/// Runs one of Istio's programs and reads its JSON messages as pairs.
fn istio_pairs(program: &Path, args: &[&str], files: &[PathBuf]) -> Result<Vec<Pair>, String> {
    let out = Command::new(program)
        .args(args)
        .args(files)
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let messages = parse(&text, "default").ok_or_else(|| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        format!(
            "{} gave no JSON ({}): {first}",
            file_name(program),
            out.status
        )
    })?;
    Ok(messages
        .into_iter()
        .filter_map(|m| Some((m.code, m.resource?)))
        .collect())
}

/// What `meshsmith check` reports on `path`, as pairs of the IST codes its findings map to.
fn meshsmith_pairs(path: &Path) -> Result<Vec<Pair>, String> {
    let loaded = load(&[Input::Path(path.to_path_buf())], &Limits::default())
        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())?;
    let inv = inventory(&loaded.objects, "default");
    let topology = infer(&inv);
    let findings = check(&inv, &topology, &CheckConfig::default());
    Ok(findings
        .into_iter()
        .filter_map(|f| Some((f.istio_code?.to_string(), f.resource)))
        .collect())
}

/// One code's agreement over one suite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub code: String,
    /// meshsmith's rules that claim it.
    pub rules: Vec<&'static str>,
    pub istio: usize,
    /// Of `istio`, how many `istioctl analyze --use-kube=false` gives.
    pub offline: usize,
    pub meshsmith: usize,
    pub agreed: usize,
    pub missed: usize,
    pub extra: usize,
}

impl Row {
    /// agreed / Istio's count; `None` when Istio gave none.
    pub fn recall(&self) -> Option<f64> {
        (self.istio > 0).then(|| self.agreed as f64 / self.istio as f64)
    }
}

/// A pair only one side gave, with its case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    pub suite: Suite,
    pub case: String,
    pub code: String,
    pub resource: String,
    /// True when meshsmith missed it; false when only meshsmith gave it.
    pub missed: bool,
}

/// Per suite, one row per claimed code; and every difference.
pub fn rows(outcomes: &[Outcome], suite: Suite) -> Vec<Row> {
    let mut rows: Vec<Row> = claimed_codes()
        .into_iter()
        .map(|(code, rules)| Row {
            code: code.to_string(),
            rules,
            ..Row::default()
        })
        .collect();
    for o in outcomes.iter().filter(|o| o.case.suite == suite) {
        let v = &o.verdicts;
        for row in &mut rows {
            let (istio, offline, ours) = (
                of_code(&v.istio, &row.code),
                of_code(&v.offline, &row.code),
                of_code(&v.meshsmith, &row.code),
            );
            row.istio += istio.len();
            row.offline += offline.len();
            row.meshsmith += ours.len();
            row.agreed += istio.intersection(&ours).count();
            row.missed += istio.difference(&ours).count();
            row.extra += ours.difference(&istio).count();
        }
    }
    rows
}

fn of_code<'a>(pairs: &'a BTreeSet<Pair>, code: &str) -> BTreeSet<&'a Pair> {
    pairs.iter().filter(|(c, _)| c == code).collect()
}

/// Every pair one side gave and the other did not, sorted.
pub fn differences(outcomes: &[Outcome]) -> Vec<Difference> {
    let mut found = Vec::new();
    for o in outcomes {
        let v = &o.verdicts;
        let mut add = |pairs: std::collections::btree_set::Difference<'_, Pair>, missed| {
            for (code, resource) in pairs {
                found.push(Difference {
                    suite: o.case.suite,
                    case: o.case.name.clone(),
                    code: code.clone(),
                    resource: resource.clone(),
                    missed,
                });
            }
        };
        add(v.istio.difference(&v.meshsmith), true);
        add(v.meshsmith.difference(&v.istio), false);
    }
    found.sort();
    found
}

/// The goal every claimed code must meet: recall of at least this on Istio's test inputs,
/// and no pair Istio does not give, anywhere.
pub const MIN_RECALL: f64 = 0.9;

/// The codes that miss the goal, each with why.
pub fn shortfalls(outcomes: &[Outcome]) -> Vec<String> {
    let mut found = Vec::new();
    for suite in [Suite::Testdata, Suite::Corpora] {
        for row in rows(outcomes, suite) {
            if row.extra > 0 {
                found.push(format!(
                    "{} on {}: {} pair(s) Istio does not give",
                    row.code,
                    suite.title(),
                    row.extra
                ));
            }
            if suite == Suite::Testdata && row.recall().is_some_and(|r| r < MIN_RECALL) {
                found.push(format!(
                    "{} on {}: recall {:.2} < {MIN_RECALL}",
                    row.code,
                    suite.title(),
                    row.recall().unwrap_or(0.0)
                ));
            }
        }
    }
    found
}

fn recall_text(row: &Row) -> String {
    row.recall().map_or("-".into(), |r| format!("{r:.2}"))
}

/// The tables as aligned text, then the differences and the cases left out.
pub fn render_text(outcomes: &[Outcome], version: &str) -> String {
    let mut out = format!("istio {version}: agreement per IST code meshsmith claims\n");
    for suite in [Suite::Testdata, Suite::Corpora] {
        let cases = outcomes.iter().filter(|o| o.case.suite == suite).count();
        let _ = writeln!(out, "\n{} ({cases} inputs)", suite.title());
        let _ = writeln!(
            out,
            "{:<8} {:<13} {:>7} {:>8} {:>9} {:>6} {:>6} {:>5} {:>6}",
            "code", "rules", "istio", "offline", "meshsmith", "agreed", "missed", "extra", "recall"
        );
        for row in rows(outcomes, suite) {
            let _ = writeln!(
                out,
                "{:<8} {:<13} {:>7} {:>8} {:>9} {:>6} {:>6} {:>5} {:>6}",
                row.code,
                row.rules.join(","),
                row.istio,
                row.offline,
                row.meshsmith,
                row.agreed,
                row.missed,
                row.extra,
                recall_text(&row)
            );
        }
    }
    let differences = differences(outcomes);
    if !differences.is_empty() {
        let _ = writeln!(out, "\nwhere they differ:");
        for d in &differences {
            let side = if d.missed {
                "missed by meshsmith"
            } else {
                "extra (Istio does not give it)"
            };
            let _ = writeln!(out, "  {:<28} {} {:<55} {side}", d.case, d.code, d.resource);
        }
    }
    let completed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !o.verdicts.completed.is_empty())
        .collect();
    if !completed.is_empty() {
        let _ = writeln!(
            out,
            "\nread by both sides with a stand-in container in each Pod written without one \
             (the API server requires one; Istio's analyzers read only labels and namespace):"
        );
        for o in completed {
            let _ = writeln!(
                out,
                "  {:<28} {}",
                o.case.name,
                o.verdicts.completed.join(", ")
            );
        }
    }
    let skipped: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.verdicts.skipped.is_some())
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\nleft out (not Kubernetes resources to one side):");
        for o in skipped {
            let why = o.verdicts.skipped.as_deref().unwrap_or("");
            let _ = writeln!(out, "  {:<28} {why}", o.case.name);
        }
    }
    out
}

/// The README's table: one row per claimed code, both suites side by side.
pub fn render_markdown(outcomes: &[Outcome], version: &str) -> String {
    let count = |s| outcomes.iter().filter(|o| o.case.suite == s).count();
    let mut out = format!(
        "Measured against Istio {version} on its {} analyzer test inputs and the {} corpora \
         (`cargo xtask conformance`; istio = messages istioctl's analyzers give, offline = of \
         those, how many `istioctl analyze --use-kube=false` gives):\n\n",
        count(Suite::Testdata),
        count(Suite::Corpora)
    );
    out.push_str(
        "| code | meshsmith rules | istio | offline | meshsmith | agreed | missed | extra | recall | corpora: istio / meshsmith / extra |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let corpora = rows(outcomes, Suite::Corpora);
    for row in rows(outcomes, Suite::Testdata) {
        let c = corpora
            .iter()
            .find(|c| c.code == row.code)
            .cloned()
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} |",
            row.code,
            row.rules.join(", "),
            row.istio,
            row.offline,
            row.meshsmith,
            row.agreed,
            row.missed,
            row.extra,
            recall_text(&row),
            c.istio,
            c.meshsmith,
            c.extra
        );
    }
    let names = |pick: &dyn Fn(&Outcome) -> bool| -> Vec<String> {
        outcomes
            .iter()
            .filter(|o| pick(o))
            .map(|o| format!("`{}`", o.case.name))
            .collect()
    };
    let completed = names(&|o| !o.verdicts.completed.is_empty());
    if !completed.is_empty() {
        let _ = write!(
            out,
            "\nBoth sides read {} with a stand-in container in each Pod Istio's test writes \
             without one (the API server requires a container; Istio's analyzers read only a \
             Pod's labels and namespace).",
            completed.join(", ")
        );
    }
    let left_out = names(&|o| o.verdicts.skipped.is_some());
    if !left_out.is_empty() {
        let _ = write!(
            out,
            " Left out, as inputs a cluster would refuse or templates to render first: {}.",
            left_out.join(", ")
        );
    }
    out.push('\n');
    out
}

/// The markers around the generated table in the README.
pub const BEGIN: &str =
    "<!-- istio-conformance:begin (cargo xtask conformance --readme README.md) -->";
pub const END: &str = "<!-- istio-conformance:end -->";

/// `text` with the block between [`BEGIN`] and [`END`] replaced by `table`; `None` when the
/// markers are not there.
pub fn replace_block(text: &str, table: &str) -> Option<String> {
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text[start..].find(END)?;
    Some(format!("{}\n{}{}", &text[..start], table, &text[end..]))
}

/// Both judges, from their variables or the pinned builds; `None`, said loudly, when either
/// is missing (a panic with `MESHSMITH_REQUIRE_ISTIOCTL=1`).
pub fn judges(test: &str) -> Option<Judges> {
    let find = |name| {
        istio_tools::tool(name)
            .ok()
            .and_then(|t| istio_tools::find(t, test))
    };
    Some(Judges {
        istioctl: find("istioctl")?,
        cluster_analyze: find("istio-cluster-analyze")?,
    })
}

/// `cargo xtask conformance`: builds the judges when they are not there, runs every case,
/// prints the tables (and writes the README's), and says whether every code meets the goal.
pub fn task(readme: Option<&Path>) -> anyhow::Result<bool> {
    let pin = istio_tools::pin()?;
    let judge = |name| -> anyhow::Result<PathBuf> {
        let tool = istio_tools::tool(name)?;
        match istio_tools::locate(tool) {
            Some(path) => Ok(path),
            None => istio_tools::build(tool, &pin),
        }
    };
    let judges = Judges {
        istioctl: judge("istioctl")?,
        cluster_analyze: judge("istio-cluster-analyze")?,
    };
    let Some(testdata) = istio_tools::analyzer_testdata(&pin) else {
        anyhow::bail!(
            "Istio's analyzer test inputs are not in the Go module cache; `cargo xtask \
             istio-tools istioctl` puts them there (or set MESHSMITH_ISTIO_TESTDATA)"
        );
    };
    let mut cases = testdata_cases(&testdata);
    cases.extend(corpus_cases(
        &crate::shared_corpora("conformance").unwrap_or_default(),
    ));
    let outcomes = run(&judges, &cases);
    let version = istio_tools::version(&judges.istioctl);
    print!("{}", render_text(&outcomes, &version));
    if let Some(file) = readme {
        let text = std::fs::read_to_string(file)?;
        let Some(new) = replace_block(&text, &render_markdown(&outcomes, &version)) else {
            anyhow::bail!("{}: no `{BEGIN}` ... `{END}` block", file.display());
        };
        std::fs::write(file, new)?;
        println!("\nwrote the table into {}", file.display());
    }
    let short = shortfalls(&outcomes);
    if short.is_empty() {
        println!("\nevery claimed code meets the goal (recall >= {MIN_RECALL}, no extra)");
    } else {
        println!("\ncodes short of the goal:");
        for s in &short {
            println!("  {s}");
        }
    }
    Ok(short.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(suite: Suite, istio: &[(&str, &str)], ours: &[(&str, &str)]) -> Outcome {
        let set = |pairs: &[(&str, &str)]| -> BTreeSet<Pair> {
            pairs
                .iter()
                .map(|(c, r)| (c.to_string(), r.to_string()))
                .collect()
        };
        Outcome {
            case: Case {
                suite,
                name: "x.yaml".into(),
                path: PathBuf::from("x.yaml"),
            },
            verdicts: Verdicts {
                offline: set(&istio[..1.min(istio.len())]),
                istio: set(istio),
                meshsmith: set(ours),
                skipped: None,
                completed: Vec::new(),
            },
        }
    }

    #[test]
    fn rows_count_agreed_missed_and_extra_per_claimed_code() {
        let outcomes = [outcome(
            Suite::Testdata,
            &[
                ("IST0118", "Service a/x"),
                ("IST0118", "Service a/y"),
                ("IST0999", "Service a/z"),
            ],
            &[("IST0118", "Service a/x"), ("IST0118", "Service b/w")],
        )];
        let rows = rows(&outcomes, Suite::Testdata);
        let row = rows.iter().find(|r| r.code == "IST0118").expect("claimed");
        assert_eq!(
            (
                row.istio,
                row.offline,
                row.meshsmith,
                row.agreed,
                row.missed,
                row.extra
            ),
            (2, 1, 2, 1, 1, 1)
        );
        assert_eq!(row.recall(), Some(0.5));
        assert!(
            rows.iter().all(|r| r.code != "IST0999"),
            "unclaimed codes are not rows"
        );
        let short = shortfalls(&outcomes);
        assert!(short.iter().any(|s| s.contains("recall 0.50")), "{short:?}");
        assert!(short.iter().any(|s| s.contains("1 pair(s)")), "{short:?}");
    }

    #[test]
    fn the_readme_block_is_replaced_between_its_markers() {
        let text = format!("# x\n{BEGIN}\nold\n{END}\nrest\n");
        let new = replace_block(&text, "new\n").expect("markers");
        assert_eq!(new, format!("# x\n{BEGIN}\nnew\n{END}\nrest\n"));
        assert_eq!(replace_block("no markers", "t"), None);
    }
}
