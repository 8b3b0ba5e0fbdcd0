//! The report `onboard` writes, opened in headless Chromium (Debian's; `MESHSMITH_CHROMIUM`
//! or PATH): every service and call of `map --format json` is drawn, clicking a service shows
//! the values of its generated files, collapsing and expanding every namespace puts the
//! picture back exactly where meshsmith drew it, nothing but the file itself is requested,
//! and nothing is logged as an error. A screenshot of each is kept in
//! `target/test-artifacts/`. Without Chromium the tests say so and pass, unless
//! `MESHSMITH_REQUIRE_CHROMIUM=1`.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::chromium::Chromium;

const SHOPFRONT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shopfront");

fn meshsmith(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_meshsmith"))
        .current_dir(std::env::temp_dir())
        .args(args)
        .output()
        .expect("meshsmith runs");
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts")
}

/// `onboard`'s report of `corpus` and its graph as `map --format json` gives it.
fn onboard(corpus: &str, dir: &Path) -> (PathBuf, Value) {
    let out = dir.join("out");
    meshsmith(&["onboard", corpus, "-o", out.to_str().expect("utf-8 path")]);
    let map = meshsmith(&["map", corpus, "--format", "json"]);
    (
        out,
        serde_json::from_str(&map).expect("map --format json is JSON"),
    )
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Services, calls and external calls the page shows (boxes with a size, paths with a
/// length, none hidden), as `name.ns`, `from>to:port` and `from>host`.
const DRAWN: &str = r#"(() => {
  const shown = el => { for (let e = el; e && e !== document; e = e.parentNode) {
      if (getComputedStyle(e).display === 'none') return false; } return true; };
  const svg = document.querySelector('#canvas svg.graph');
  const services = [...svg.querySelectorAll('g.node[data-service]')]
    .filter(n => { const r = n.getBoundingClientRect(); return shown(n) && r.width > 0 && r.height > 0; })
    .map(n => n.dataset.service);
  const paths = [...svg.querySelectorAll('path.edge')].filter(p => shown(p) && p.getTotalLength() > 0);
  const calls = paths.filter(p => p.dataset.to).map(p => p.dataset.from + '>' + p.dataset.to + ':' + p.dataset.port);
  const external = paths.filter(p => p.dataset.host).map(p => p.dataset.from + '>' + p.dataset.host);
  return {services, calls, external};
})()"#;

/// Where every cluster, node and edge is: to compare before and after folding.
const GEOMETRY: &str = r#"[...document.querySelectorAll('#canvas svg.graph g.members, #canvas svg.graph g.box, #canvas svg.graph path.edge')]
  .map(e => [e.getAttribute('class'), e.getAttribute('transform'), e.getAttribute('d'),
              e.querySelector(':scope > rect') && e.querySelector(':scope > rect').getAttribute('width'),
              e.querySelector(':scope > rect') && e.querySelector(':scope > rect').getAttribute('height')].join('|'))
  .join('\n')"#;

fn drawn_matches_the_map(browser: &mut Chromium, map: &Value, name: &str) {
    let drawn = browser.eval(DRAWN).expect("the page answers");
    let services = strings(&drawn["services"]);
    let calls = strings(&drawn["calls"]);
    let external = strings(&drawn["external"]);
    let mut want_services = 0;
    for s in map["services"].as_array().into_iter().flatten() {
        let id = format!(
            "{}.{}",
            s["name"].as_str().unwrap_or(""),
            s["namespace"].as_str().unwrap_or("")
        );
        assert!(services.contains(&id), "{name}: service {id} is not drawn");
        want_services += 1;
    }
    assert_eq!(
        services.len(),
        want_services,
        "{name}: services drawn that the map does not have"
    );
    for e in map["edges"].as_array().into_iter().flatten() {
        let port = e["port"]
            .as_u64()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let id = format!(
            "{}>{}:{port}",
            e["from"].as_str().unwrap_or(""),
            e["to"].as_str().unwrap_or("")
        );
        assert!(calls.contains(&id), "{name}: call {id} is not drawn");
    }
    for x in map["external"].as_array().into_iter().flatten() {
        let id = format!(
            "{}>{}",
            x["from"].as_str().unwrap_or(""),
            x["host"].as_str().unwrap_or("")
        );
        assert!(
            external.contains(&id),
            "{name}: external call {id} is not drawn"
        );
    }
}

/// The first line of `file` under `key:` after its header, e.g. the route timeout.
fn yaml_value(file: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().trim_matches('"').to_string())
}

/// Clicks the service most called (with a route of its own) and reads the panel: its role
/// as map says, its route timeout and mTLS mode and circuit breaker as the generated files
/// say, and every caller the graph shows among the callers it admits.
fn clicking_a_service_shows_its_values(
    browser: &mut Chromium,
    map: &Value,
    out: &Path,
    name: &str,
) {
    let edges = map["edges"].as_array().cloned().unwrap_or_default();
    let mut best: Option<(usize, &Value)> = None;
    for s in map["services"].as_array().into_iter().flatten() {
        let id = format!(
            "{}.{}",
            s["name"].as_str().unwrap_or(""),
            s["namespace"].as_str().unwrap_or("")
        );
        let folder = out
            .join("config")
            .join(s["namespace"].as_str().unwrap_or(""))
            .join(s["name"].as_str().unwrap_or(""));
        if !folder.join("virtual-service.yaml").is_file() {
            continue;
        }
        let callers = edges
            .iter()
            .filter(|e| e["to"] == Value::String(id.clone()))
            .count();
        if best.is_none_or(|(n, _)| callers > n) {
            best = Some((callers, s));
        }
    }
    let Some((_, s)) = best else {
        eprintln!("{name}: no service with a route to click");
        return;
    };
    let (svc, ns) = (
        s["name"].as_str().unwrap_or(""),
        s["namespace"].as_str().unwrap_or(""),
    );
    let id = format!("{svc}.{ns}");
    browser
        .click_on(&format!("#canvas g.node[data-service=\"{id}\"] rect"))
        .expect("the service can be clicked");
    let panel = browser
        .eval("(() => { const rows = {}; document.querySelectorAll('#details dd').forEach(d => rows[d.dataset.row] = d.textContent); return {title: (document.querySelector('#details h3') || {}).textContent, rows}; })()")
        .expect("the panel reads");
    assert_eq!(panel["title"], Value::String(id.clone()), "{name}: {panel}");
    let row = |k: &str| panel["rows"][k].as_str().unwrap_or("").to_string();
    let role = s["role"].as_str().unwrap_or("");
    assert!(
        row("role").starts_with(role),
        "{name} {id}: role {role}: {panel}"
    );
    let folder = out.join("config").join(ns).join(svc);
    let timeout = yaml_value(&folder.join("virtual-service.yaml"), "timeout").unwrap_or_default();
    assert!(
        !timeout.is_empty() && row("timeout").contains(&timeout),
        "{name} {id}: timeout {timeout}: {panel}"
    );
    if let Some(mode) = yaml_value(&folder.join("peer-authentication.yaml"), "mode") {
        assert!(
            row("mTLS").starts_with(&mode),
            "{name} {id}: mode {mode}: {panel}"
        );
    }
    if let Some(n) = yaml_value(
        &folder.join("destination-rule.yaml"),
        "consecutive5xxErrors",
    ) {
        assert!(
            row("circuit breaker").contains(&format!("after {n} consecutive 5xx")),
            "{name} {id}: {panel}"
        );
    }
    assert!(!row("retries").is_empty(), "{name} {id}: {panel}");
    let allowed = row("allowed callers");
    for e in edges
        .iter()
        .filter(|e| e["to"] == Value::String(id.clone()))
    {
        let from = e["from"].as_str().unwrap_or("");
        let bare = from.split('.').next().unwrap_or(from);
        assert!(
            allowed.contains(from)
                || allowed.contains(bare)
                || row("authorization").starts_with("dry-run"),
            "{name} {id}: caller {from} is not among the admitted: {panel}"
        );
    }
    let selected = browser
        .eval("document.querySelectorAll('#canvas g.node.selected').length")
        .expect("reads");
    assert_eq!(
        selected,
        Value::from(1),
        "{name}: the clicked service is marked"
    );
}

fn check_report(browser: &mut Chromium, out: &Path, map: &Value, name: &str) {
    let file = out
        .join("report.html")
        .canonicalize()
        .expect("report.html written");
    let url = format!("file://{}", file.display());
    browser.open(&url).expect("the report opens");
    assert_eq!(
        browser
            .eval("document.documentElement.dataset.ready")
            .expect("reads"),
        Value::from("1"),
        "{name}: the script ran"
    );
    // Folding everything and back leaves the picture as meshsmith drew it: the page stacks
    // the clusters by the same rule.
    let folded = browser
        .eval("document.querySelectorAll('#canvas g.box.folded').length")
        .expect("reads");
    let (first, then) = if folded.as_u64().unwrap_or(0) > 0 {
        ("expand", "collapse")
    } else {
        ("collapse", "expand")
    };
    let before = browser.eval(GEOMETRY).expect("reads");
    browser
        .click_on(&format!("[data-act={first}]"))
        .expect("fold");
    assert_ne!(
        browser.eval(GEOMETRY).expect("reads"),
        before,
        "{name}: {first} all changed nothing"
    );
    browser
        .click_on(&format!("[data-act={then}]"))
        .expect("unfold");
    assert_eq!(
        browser.eval(GEOMETRY).expect("reads"),
        before,
        "{name}: the page's stacking differs from meshsmith's"
    );
    browser.click_on("[data-act=expand]").expect("expand all");
    drawn_matches_the_map(browser, map, name);
    clicking_a_service_shows_its_values(browser, map, out, name);
    let requests = browser.requests();
    assert!(
        !requests.is_empty() && requests.iter().all(|r| *r == url),
        "{name}: the page requested more than itself: {requests:?}"
    );
    let errors = browser.errors();
    assert!(
        errors.is_empty(),
        "{name}: the page logged errors: {errors:?}"
    );
    browser.eval("window.scrollTo(0, 0)").expect("scrolls");
    let shot = artifacts().join(format!("report-{name}.png"));
    browser.screenshot(&shot, false).expect("screenshot");
    assert!(
        std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0) > 1000,
        "{name}: empty screenshot"
    );
}

#[test]
fn the_shopfront_report_draws_every_service_and_call_and_loads_nothing_else() {
    let Some(mut browser) = Chromium::for_test("the shopfront report in headless Chromium") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (out, map) = onboard(SHOPFRONT, tmp.path());
    check_report(&mut browser, &out, &map, "shopfront");
    // A call found in the table is shown with its timeout today and as generated.
    browser
        .click_on(
            "#timeouts tr[data-from=\"order-service.shop\"][data-to=\"payment-service.shop\"] td",
        )
        .expect("a row");
    let title = browser
        .eval("document.querySelector('#details h3').textContent")
        .expect("reads");
    assert_eq!(title, Value::from("order-service → payment-service"));
    let text = browser
        .eval("document.querySelector('#details').textContent")
        .expect("reads");
    let text = text.as_str().unwrap_or("");
    assert!(
        text.contains("timeout today") && text.contains("generated"),
        "{text}"
    );
}

#[test]
fn every_shared_corpus_report_draws_every_service_and_call() {
    let Some(corpora) = xtask::shared_corpora("the corpora's reports in headless Chromium") else {
        return;
    };
    let Some(mut browser) = Chromium::for_test("the corpora's reports in headless Chromium") else {
        return;
    };
    for corpus in corpora {
        let name = corpus
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::tempdir().expect("temp dir");
        let (out, map) = onboard(corpus.to_str().expect("utf-8 path"), tmp.path());
        check_report(&mut browser, &out, &map, &name);
    }
}

#[test]
fn past_three_hundred_services_a_namespace_s_picture_opens_from_the_overview() {
    let Some(mut browser) = Chromium::for_test("a 320-service map in headless Chromium") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let org = tmp.path().join("org");
    xtask::synth::write(&xtask::synth::Org::new(320, 7), &org).expect("synthetic organisation");
    let org = org.to_str().expect("utf-8 path");
    let map: Value =
        serde_json::from_str(&meshsmith(&["map", org, "--format", "json"])).expect("json");
    let page = tmp.path().join("map.html");
    std::fs::write(&page, meshsmith(&["map", org, "--format", "html"])).expect("write");
    let url = format!("file://{}", page.display());
    browser.open(&url).expect("opens");
    let ns = map["services"][0]["namespace"]
        .as_str()
        .unwrap_or("")
        .to_string();
    browser
        .click_on(&format!("[data-open-ns=\"{ns}\"] rect"))
        .expect("the namespace can be clicked");
    let drawn = browser
        .eval("[...document.querySelectorAll('#ns-view g.node[data-service]')].filter(n => n.getBoundingClientRect().width > 0).map(n => n.dataset.service)")
        .expect("reads");
    let drawn = strings(&drawn);
    for s in map["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["namespace"] == ns.as_str())
    {
        let id = format!("{}.{ns}", s["name"].as_str().unwrap_or(""));
        assert!(
            drawn.contains(&id),
            "{id} is not drawn in the picture of {ns}"
        );
    }
    let first = format!("{}.{ns}", map["services"][0]["name"].as_str().unwrap_or(""));
    browser
        .click_on(&format!("#ns-view g.node[data-service=\"{first}\"] rect"))
        .expect("click");
    let title = browser
        .eval("document.querySelector('#details h3').textContent")
        .expect("reads");
    assert_eq!(title, Value::from(first));
    assert!(
        browser.requests().iter().all(|r| *r == url),
        "{:?}",
        browser.requests()
    );
    assert!(browser.errors().is_empty(), "{:?}", browser.errors());
}
