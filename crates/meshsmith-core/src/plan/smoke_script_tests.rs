//! `smoke.sh` run as a person runs it, under `sh`, against a fake `kubectl` (and `curl`) on
//! PATH that records every invocation and answers as a pod would: the script judges what it
//! sees, runs one named test alone, refuses a name it does not have, and names every test
//! uniquely even where cutting names to a pod's length would make two alike.

use super::smoke_script::{path, script};
use super::tests::planned;
use super::*;
use crate::generate::fixtures::{edge, node, topology};
use std::process::Command;

pub(super) use super::fake_kubectl::{Fake, Run};

/// Runs `text` (a phase's script) with `sh` and `args`, against the fake.
pub(super) fn run_script(text: &str, args: &[&str], fake: &Fake) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("smoke.sh");
    std::fs::write(&file, text).expect("script");
    super::fake_kubectl::run(&file, args, fake)
}

/// The script of a phase that has smoke tests.
pub(super) fn script_of(phase: &Phase) -> String {
    script(phase).unwrap_or_else(|| panic!("phase {} has no script", phase.number))
}

/// An HTTP caller, a gRPC callee and a database, all in `shop`; the caller meshed in phase 2.
fn small() -> Plan {
    let web = node("shop", "web", Role::Aggregator, Protocol::Http);
    let api = node("shop", "api", Role::SyncApi, Protocol::Grpc);
    let db = node("shop", "db", Role::Datastore, Protocol::Tcp);
    let edges = vec![
        edge(&web.id, &api.id, Protocol::Grpc),
        edge(&web.id, &db.id, Protocol::Tcp),
    ];
    planned(&topology(vec![web, api, db], edges, Vec::new()), 4).0
}

/// The phase with the most smoke tests.
fn busiest(plan: &Plan) -> &Phase {
    plan.phases
        .iter()
        .max_by_key(|p| p.smoke_tests.len())
        .expect("phases")
}

#[test]
fn the_script_parses_under_sh_and_dash_and_plan_json_runs_each_test_by_name() {
    let plan = small();
    let mut checked = 0;
    for phase in plan.phases.iter().filter(|p| !p.smoke_tests.is_empty()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("smoke.sh");
        std::fs::write(&file, script_of(phase)).expect("script");
        for shell in ["sh", "dash"] {
            match Command::new(shell).arg("-n").arg(&file).output() {
                Ok(out) => assert!(
                    out.status.success(),
                    "{shell} -n: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
                // dash where it is installed; sh always.
                Err(_) => assert_ne!(shell, "sh", "no sh"),
            }
        }
        for t in &phase.smoke_tests {
            assert_eq!(t.command, format!("sh {} {}", path(phase.number), t.name));
            assert!(!t.command.contains("kubectl"), "{}", t.command);
        }
        checked += 1;
    }
    assert!(checked >= 2, "{checked}");
    // plan.json carries the name and the short command, not what the script does.
    let text = super::layout::plan_json(&plan, &super::tests::header());
    assert!(!text.contains("kubectl run"), "{text}");
    assert!(text.contains("\"command\": \"sh phase-"), "{text}");
    // Each test on a line of its own.
    for t in plan.phases.iter().flat_map(|p| &p.smoke_tests) {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("\"command\": \"{}\"", t.command)))
            .expect("listed");
        let entry: serde_json::Value =
            serde_json::from_str(line.trim().trim_end_matches(',')).expect("one JSON object");
        assert_eq!(entry["name"], t.name.as_str());
        assert_eq!(entry["from"]["name"], t.from.name.as_str());
        assert_eq!(entry["to"]["name"], t.to.name.as_str());
    }
    let back = super::layout::read_plan(&text).expect("reads back");
    let names = |p: &Plan| -> Vec<(String, String)> {
        p.phases
            .iter()
            .flat_map(|ph| &ph.smoke_tests)
            .map(|t| (t.name.clone(), t.command.clone()))
            .collect()
    };
    assert_eq!(names(&back), names(&plan));
}

#[test]
fn every_test_passes_when_the_pods_answer_and_the_run_says_ok_for_each() {
    let plan = small();
    let phase = busiest(&plan);
    let run = run_script(&script_of(phase), &[], &Fake::default());
    assert_eq!(run.code, Some(0), "{run:?}");
    let want: Vec<String> = phase
        .smoke_tests
        .iter()
        .map(|t| format!("ok {}", t.name))
        .collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), want);
    assert_eq!(run.calls.len(), phase.smoke_tests.len(), "{run:?}");
    assert!(run.stderr.contains("passed, 0 failed"), "{}", run.stderr);
}

#[test]
fn a_pod_left_by_an_interrupted_run_is_deleted_and_its_test_run_again() {
    let plan = small();
    let phase = busiest(&plan);
    let leftover = Fake {
        leftover: true,
        ..Fake::default()
    };
    let run = run_script(&script_of(phase), &[], &leftover);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("passed, 0 failed"), "{}", run.stderr);
    // Each in-pod test: the refused run, the delete of the leftover pod, the run again.
    for t in phase.smoke_tests.iter() {
        let tried: Vec<&Vec<String>> = run.calls.iter().filter(|c| c.contains(&t.name)).collect();
        let verbs: Vec<&str> = tried.iter().map(|c| c[1].as_str()).collect();
        assert_eq!(verbs, ["run", "delete", "run"], "{}: {tried:?}", t.name);
        assert_eq!(tried[0], tried[2], "the same pod again");
        let delete = tried[1];
        let ns = delete
            .iter()
            .position(|a| a == "-n")
            .map(|i| &delete[i + 1]);
        assert_eq!(
            (delete[2].as_str(), ns),
            (
                "pod",
                tried[0]
                    .iter()
                    .position(|a| a == "-n")
                    .map(|i| &tried[0][i + 1])
            ),
            "{delete:?}"
        );
    }
}

#[test]
fn a_denied_or_failed_request_is_a_failure_that_says_what_was_seen_and_expected() {
    let plan = small();
    let phase = busiest(&plan);
    let script = script_of(phase);
    let grpc = phase
        .smoke_tests
        .iter()
        .find(|t| t.to.name == "api")
        .expect("web -> api");
    let tcp = phase
        .smoke_tests
        .iter()
        .find(|t| t.to.name == "db")
        .expect("web -> db");
    // 403: the callee's policy refused the caller. nc's connection did open (exit 0).
    let denied = Fake {
        answer: "403",
        ..Fake::default()
    };
    let run = run_script(&script, &[], &denied);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.contains(&format!(
        "FAIL {}: HTTP 403, expected an HTTP status other than 000, 403 and 503\n",
        grpc.name
    )));
    assert!(
        run.stdout.contains(&format!("ok {}\n", tcp.name)),
        "{run:?}"
    );
    // 415 is what gRPC answers a bare request: a pass.
    let grpc_answer = Fake {
        answer: "415",
        ..Fake::default()
    };
    let run = run_script(&script, &[&grpc.name], &grpc_answer);
    assert_eq!(run.code, Some(0), "{run:?}");
    // Nothing printed and the pod failed: no status, and nc's exit status.
    let broken = Fake {
        answer: "",
        exit: 1,
        ..Fake::default()
    };
    let run = run_script(&script, &[], &broken);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stdout.contains(&format!(
            "FAIL {}: no HTTP status (exit status 1), expected an HTTP status",
            grpc.name
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "FAIL {}: exit status 1, expected 0 (the connection opens)",
            tcp.name
        )),
        "{}",
        run.stdout
    );
    // 000: curl reached nothing.
    let nothing = Fake {
        answer: "000",
        ..Fake::default()
    };
    let run = run_script(&script, &[&grpc.name], &nothing);
    assert_eq!(run.code, Some(1));
    assert!(run
        .stdout
        .starts_with(&format!("FAIL {}: HTTP 000", grpc.name)));
}

#[test]
fn named_tests_run_alone_and_an_unknown_name_runs_nothing() {
    let plan = small();
    let phase = busiest(&plan);
    assert!(phase.smoke_tests.len() >= 2);
    let script = script_of(phase);
    let one = &phase.smoke_tests[1].name;
    let run = run_script(&script, &[one], &Fake::default());
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, format!("ok {one}\n"));
    assert_eq!(run.calls.len(), 1, "{:?}", run.calls);
    assert!(run.pod(one).is_some(), "{:?}", run.calls);

    let run = run_script(&script, &[one, "smoke-nobody-nothing"], &Fake::default());
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.calls.is_empty(), "{:?}", run.calls);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("no smoke test named smoke-nobody-nothing"),
        "{}",
        run.stderr
    );
    // A pattern is a name like any other, not a pattern.
    let run = run_script(&script, &["smoke-*"], &Fake::default());
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = run_script(&script, &["--list"], &Fake::default());
    assert_eq!(run.code, Some(0));
    let names: Vec<&str> = phase.smoke_tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), names);
    assert!(run.calls.is_empty());
}

#[test]
fn names_stay_unique_and_valid_when_cutting_them_would_make_two_alike() {
    // Two callers whose names agree on their first 60 characters, each calling the same
    // service, and one of them calling it on two ports.
    let long = "a".repeat(60);
    let one = node(
        "shop",
        &format!("{long}-one"),
        Role::Aggregator,
        Protocol::Http,
    );
    let two = node(
        "shop",
        &format!("{long}-two"),
        Role::Aggregator,
        Protocol::Http,
    );
    let mut api = node("shop", "api", Role::SyncApi, Protocol::Http);
    let mut admin = api.ports[0].clone();
    admin.port = 8081;
    admin.name = Some("http-admin".into());
    api.ports.push(admin);
    let mut second_port = edge(&one.id, &api.id, Protocol::Http);
    second_port.port = Some(8081);
    let mut edges = vec![
        edge(&one.id, &api.id, Protocol::Http),
        second_port,
        edge(&two.id, &api.id, Protocol::Http),
    ];
    // And a CronJob whose name no pod or job could carry as it is.
    let odd_name = format!("Zähler_{}", "b".repeat(70));
    let mut odd = node("shop", &odd_name, Role::Worker, Protocol::Http);
    odd.workloads[0].kind = WorkloadKind::CronJob;
    odd.service = None;
    odd.ports.clear();
    edges.push(edge(&odd.id, &api.id, Protocol::Http));
    let t = topology(vec![one, two, api, odd], edges, Vec::new());
    let (plan, _) = planned(&t, 4);
    let (again, _) = planned(&t, 4);
    let (mut seen, mut jobs_seen) = (0, 0);
    for phase in &plan.phases {
        let names: Vec<&str> = phase.smoke_tests.iter().map(|t| t.name.as_str()).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "phase {}: {names:?}",
            phase.number
        );
        for n in &names {
            assert!(n.len() <= 63, "{n}");
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{n}"
            );
            assert!(!n.ends_with('-'), "{n}");
        }
        let jobs = phase.smoke_tests.iter().filter_map(|t| match &t.check {
            Some(SmokeCheck::Job { job, .. }) => Some(job.as_str()),
            _ => None,
        });
        for job in jobs {
            jobs_seen += 1;
            assert_eq!(job, format!("z-hler-{}-smoke", "b".repeat(50)));
        }
        let calls: Vec<&str> = phase
            .smoke_tests
            .iter()
            .filter(|t| t.from.name != odd_name)
            .map(|t| t.name.as_str())
            .collect();
        if calls.len() == 3 {
            let names = calls;
            seen += 1;
            // `smoke-` and the first 57 characters; then, with room for the suffix, 55.
            let base = format!("smoke-{}", "a".repeat(57));
            let cut = format!("smoke-{}", "a".repeat(55));
            assert_eq!(names, [base, format!("{cut}-2"), format!("{cut}-3")]);
            // Each runs, by its own name, in a pod of that name.
            let run = run_script(&script_of(phase), &[names[2]], &Fake::default());
            assert_eq!(run.code, Some(0), "{run:?}");
            assert!(run.pod(names[2]).is_some(), "{:?}", run.calls);
        }
    }
    assert!(seen > 0, "no phase tests all three calls");
    assert!(jobs_seen > 0, "no phase tests the CronJob");
    assert_eq!(plan, again, "the same names on every run");
}

#[test]
fn a_cronjob_caller_runs_one_job_for_all_its_calls_and_waits_for_it() {
    let mut billing = node("jobs", "billing", Role::Worker, Protocol::Http);
    billing.workloads[0].kind = WorkloadKind::CronJob;
    billing.service = None;
    billing.ports.clear();
    let ledger = node("shop", "ledger", Role::SyncApi, Protocol::Http);
    let mail = node("shop", "mail", Role::SyncApi, Protocol::Http);
    let edges = vec![
        edge(&billing.id, &ledger.id, Protocol::Http),
        edge(&billing.id, &mail.id, Protocol::Http),
    ];
    let (plan, _) = planned(&topology(vec![billing, ledger, mail], edges, Vec::new()), 4);
    let phase = plan
        .phases
        .iter()
        .find(|p| {
            p.smoke_tests
                .iter()
                .filter(|t| t.from.name == "billing")
                .count()
                == 2
        })
        .expect("a phase tests both calls of billing");
    let run = run_script(&script_of(phase), &[], &Fake::default());
    assert_eq!(run.code, Some(0), "{run:?}");
    let jobs: Vec<&Vec<String>> = run
        .calls
        .iter()
        .filter(|c| c.get(1).is_some_and(|a| a != "run"))
        .collect();
    let words = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        jobs,
        [
            &words(&[
                "kubectl",
                "delete",
                "job",
                "billing-smoke",
                "-n",
                "jobs",
                "--ignore-not-found"
            ]),
            &words(&[
                "kubectl",
                "create",
                "job",
                "-n",
                "jobs",
                "--from=cronjob/billing",
                "billing-smoke"
            ]),
            &words(&[
                "kubectl",
                "wait",
                "--for=condition=complete",
                "job/billing-smoke",
                "-n",
                "jobs",
                "--timeout=5m"
            ]),
        ]
    );
    let billing: Vec<&SmokeTest> = phase
        .smoke_tests
        .iter()
        .filter(|t| t.from.name == "billing")
        .collect();
    for t in &billing {
        assert!(
            run.stdout.contains(&format!("ok {}\n", t.name)),
            "{}",
            run.stdout
        );
        assert_eq!(
            t.expect,
            "the job completes; its logs show no connection errors"
        );
    }
    let stuck = Fake {
        wait: 1,
        ..Fake::default()
    };
    let run = run_script(&script_of(phase), &[], &stuck);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stdout.contains(&format!(
            "FAIL {}: job billing-smoke in jobs did not complete within 5m (exit status 1: error: timed out",
            billing[0].name
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "FAIL {}: job billing-smoke in jobs did not complete (see its first test)",
            billing[1].name
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn a_value_the_shell_would_read_reaches_curl_as_it_is() {
    let mut front = node("edge", "front", Role::Gateway, Protocol::Http);
    front
        .exposure
        .ingress_gateway
        .push(crate::generate::fixtures::origin(5));
    let t = topology(vec![front], Vec::new(), Vec::new());
    let config = crate::generate::generate(
        &t,
        &crate::policy::Policy::default(),
        &crate::generate::GenerateOptions::default(),
    );
    let path = "/it's $(touch pwned) a b&c";
    let mut settings = PlanSettings::default();
    settings.cluster.gateway_routes.insert(
        QualifiedName::new("edge", "front"),
        cluster_facts::GatewayRoute {
            host: Some("shop.example.com".into()),
            port: 443,
            tls: true,
            path: path.into(),
        },
    );
    let plan = plan(&t, &config, &settings);
    let phase = busiest(&plan);
    let test = &phase.smoke_tests[0];
    let run = run_script(&script_of(phase), &[], &Fake::default());
    assert_eq!(run.code, Some(0), "{run:?}");
    let pod = run.pod(&test.name).expect("kubectl run");
    let check = pod.last().expect("sh -c CHECK");
    // The pod's shell gets the URL as one quoted word: run the check with a curl that
    // records its arguments.
    let inner = run_script(check, &[], &Fake::default());
    assert_eq!(
        inner.calls,
        [[
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}\\n",
            "--max-time",
            "5",
            "--insecure",
            "--connect-to",
            "shop.example.com:443:istio-ingressgateway.istio-system.svc.cluster.local:443",
            &format!("https://shop.example.com:443{path}"),
        ]
        .map(str::to_string)]
    );
}
