//! A phase's smoke tests -> `phase-N/smoke.sh`: one POSIX `sh` script that holds what every
//! test does once (`smoke_script.sh`: the throwaway pod with the caller's account and
//! sidecar, curl or `nc -z`, a CronJob's job, the gateway and the load balancer) and then one
//! short line per test, its name and parameters:
//!
//! ```text
//!  t smoke-orders-payments http shop orders true http://payments.shop.svc.cluster.local:8080/
//!  t smoke-orders-db tcp shop orders false db.shop.svc.cluster.local 5432
//!  t smoke-billing-ledger job jobs billing billing-smoke
//!  t smoke-gateway-front gateway edge https://shop.example.com:443/ shop.example.com:443:...
//!  t smoke-lb-hook-443 lb edge hook https 443
//! ```
//!
//! `sh phase-N/smoke.sh` runs them all, `sh phase-N/smoke.sh NAME...` the named ones; each
//! prints `ok NAME` or `FAIL NAME: ...`, judged as its `expect` says. Every value is written
//! as one shell word (quoted when it needs it), and quoted again inside the pod's `sh -c`
//! when it needs it there, so nothing a manifest holds runs as a command. Pure: text only.

use crate::model::{Phase, SmokeCheck, SmokePod, SmokeTest};
use std::borrow::Cow;
use std::fmt::Write as _;

/// What every script runs its tests with.
const FUNCTIONS: &str = include_str!("smoke_script.sh");

/// The script of phase `number`, relative to the output folder.
pub fn path(number: u32) -> String {
    format!("phase-{number}/smoke.sh")
}

/// The body of the phase's script (the header line goes above it), or `None` when the phase
/// has no smoke test to run.
pub fn script(phase: &Phase) -> Option<String> {
    let runnable = phase
        .smoke_tests
        .iter()
        .filter(|t| t.check.is_some())
        .count();
    if runnable == 0 {
        return None;
    }
    let path = path(phase.number);
    let mut out = String::with_capacity(FUNCTIONS.len() + 120 * runnable);
    let _ = write!(
        out,
        "# The smoke tests of phase {} ({}): {}.\n\
         #\n\
         #   sh {path}            runs every test\n\
         #   sh {path} NAME...    runs the named tests\n\
         #   sh {path} --list     lists their names\n\
         #\n\
         # Run from anywhere, with kubectl pointed at the cluster (and curl here for a load\n\
         # balancer's tests). Each test prints one line, \"ok NAME\" or \"FAIL NAME: what was seen,\n\
         # what was expected\"; the exit status is 0 when every test passed, 1 when one failed,\n\
         # 2 for a name the phase does not have. A request from inside the cluster runs in a\n\
         # throwaway pod named after its test (kubectl run --rm), in the caller's namespace, under\n\
         # the account the caller runs as by then, with a sidecar once the caller has one; a\n\
         # CronJob caller runs one job of its own (SMOKE_JOB_TIMEOUT, default 5m, bounds the wait\n\
         # for it to complete). plan.json lists each test with its caller, callee and expectation.\n\n",
        phase.number,
        phase.title,
        super::rollout_md::counted(runnable, "test"),
    );
    out.push_str(FUNCTIONS);
    out.push_str("\ntests() {\n");
    for t in &phase.smoke_tests {
        line(&mut out, t);
    }
    out.push_str("}\n\nmain \"$@\"\n");
    Some(out)
}

/// `t NAME KIND ARGUMENTS...` for one test (nothing for one read back from plan.json, which
/// does not say what it does).
fn line(out: &mut String, t: &SmokeTest) {
    let Some(check) = &t.check else {
        return;
    };
    let mut words: Vec<Cow<str>> = vec![Cow::Borrowed("t"), word(&t.name)];
    match check {
        SmokeCheck::Http { pod: p, url, http2 } => {
            pod_words(&mut words, if *http2 { "http2" } else { "http" }, p);
            words.push(word(url));
        }
        SmokeCheck::Tcp { pod: p, host, port } => {
            pod_words(&mut words, "tcp", p);
            words.push(word(host));
            words.push(Cow::Owned(port.to_string()));
        }
        SmokeCheck::Job {
            namespace,
            cronjob,
            job,
        } => {
            words.push(Cow::Borrowed("job"));
            words.extend([word(namespace), word(cronjob), word(job)]);
        }
        SmokeCheck::Gateway {
            namespace,
            url,
            connect_to,
        } => {
            words.push(Cow::Borrowed("gateway"));
            words.extend([word(namespace), word(url)]);
            words.extend(connect_to.as_deref().map(word));
        }
        SmokeCheck::LoadBalancer {
            namespace,
            service,
            port,
            tls,
        } => {
            words.push(Cow::Borrowed("lb"));
            words.extend([word(namespace), word(service)]);
            words.push(Cow::Borrowed(if *tls { "https" } else { "http" }));
            words.push(Cow::Owned(port.to_string()));
        }
    }
    out.push_str(&words.join(" "));
    out.push('\n');
}

/// `KIND NAMESPACE ACCOUNT SIDECAR` of a test run in a throwaway pod.
fn pod_words<'a>(words: &mut Vec<Cow<'a, str>>, kind: &'static str, pod: &'a SmokePod) {
    words.push(Cow::Borrowed(kind));
    words.push(word(&pod.namespace));
    // Written into the pod's JSON overrides as it is: JSON-escaped here.
    words.push(match &pod.account {
        Some(a) => Cow::Owned(word(&json_text(a)).into_owned()),
        None => Cow::Borrowed("-"),
    });
    words.push(Cow::Borrowed(if pod.sidecar { "true" } else { "false" }));
}

/// `s` as one shell word: as it is when every character is plain (the same set the script's
/// `quote` leaves alone), else in single quotes.
fn word(s: &str) -> Cow<'_, str> {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/%@+=,-".contains(&b));
    if plain {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', "'\\''")))
    }
}

/// `s` as it goes between the quotes of a JSON string.
fn json_text(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}
