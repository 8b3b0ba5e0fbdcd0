//! Each error, named with its file and line; arbitrary bytes never panic.

use super::*;

#[test]
fn errors_name_file_and_line() {
    let truncated = fail("errors/truncated.json");
    assert!(
        truncated[0]
            .ends_with("truncated.json:3: the JSON ends before the document does (truncated?)"),
        "{truncated:?}"
    );
    let nginx = fail("errors/nginx.log");
    assert!(
        nginx[0].contains("nginx.log:1: not a traffic format meshsmith reads"),
        "{nginx:?}"
    );
    let labels = fail("errors/missing-labels.json");
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert!(labels[0].contains("missing-labels.json:2: a metric without the needed labels"));
    assert!(labels[0].contains("names no source"));
    assert!(
        labels[1].contains("missing-labels.json:3:") && labels[1].contains("names no destination")
    );
    let binary = fail("errors/access.log.gz");
    assert!(
        binary[0].contains("access.log.gz:1: binary data"),
        "{binary:?}"
    );
    let missing =
        read(&[Input::Path(fixture("errors/nope"))], &Limits::default()).expect_err("fails");
    assert!(missing.to_string().contains("nope: no such file or folder"));
}

#[test]
fn every_file_is_reported() {
    let all = fail("errors");
    assert_eq!(all.len(), 5, "{all:?}");
    let text = TrafficFailure {
        errors: vec![TrafficError::NotFound { path: "x".into() }],
    }
    .to_string();
    assert_eq!(text, "error: x: no such file or folder\n");
}

#[test]
fn long_lines_and_too_many_calls() {
    let limits = TrafficLimits {
        max_line_bytes: 64,
        max_observations: 2,
    };
    let mut text = String::from("# TYPE istio_requests_total counter\n");
    text.push_str(&format!("{}\n", "x".repeat(200)));
    let failure = read_bytes_with("long.txt", text.as_bytes(), &limits).expect_err("fails");
    assert!(
        failure
            .to_string()
            .contains("long.txt:2: a line longer than 64 bytes"),
        "{failure}"
    );
    let limits = TrafficLimits {
        max_line_bytes: 4096,
        max_observations: 2,
    };
    let mut text = String::new();
    for i in 0..5 {
        text.push_str(&format!("istio_requests_total{{source_workload=\"a{i}\",source_workload_namespace=\"x\",destination_service=\"b.x.svc.cluster.local\"}} 1\n"));
    }
    let failure = read_bytes_with("many.txt", text.as_bytes(), &limits).expect_err("fails");
    assert_eq!(
        failure.errors,
        vec![TrafficError::TooManyCalls {
            file: "many.txt".into(),
            limit: 2
        }]
    );
}

#[test]
fn outbound_lines_need_their_pod() {
    let line = std::fs::read(fixture("per-pod-text/productpage-v1-6b746f74dc-9stp2.log"))
        .expect("fixture");
    let errors = bytes_fail("<stdin>", &line);
    assert!(
        errors[0].starts_with("<stdin>:4: a proxy log line that needs the pod"),
        "{errors:?}"
    );
}

#[test]
fn other_json_documents_and_answers() {
    let foreign = bytes_fail(
        "x.json",
        b"{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\"\n}\n",
    );
    assert!(
        foreign[0].contains("neither a Prometheus answer nor a Kiali graph"),
        "{foreign:?}"
    );
    let error = bytes_fail(
        "e.json",
        br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#,
    );
    assert!(
        error[0].contains("the Prometheus answer is an error: parse error at char 5"),
        "{error:?}"
    );
    let scalar = bytes_fail(
        "s.json",
        br#"{"status":"success","data":{"resultType":"scalar","result":[1714557600,"3"]}}"#,
    );
    assert!(scalar[0].contains("of type `scalar`"), "{scalar:?}");
    let bare = br#"[{"metric":{"source_workload":"a","source_workload_namespace":"x","destination_service":"b.x.svc.cluster.local"},"value":[1,"2"]}]"#;
    let t = read_bytes("bare.json", bare, &Limits::default()).expect("a bare result list reads");
    assert_eq!(t.observations[0].counts.requests, 2);
}

#[test]
fn empty_and_noise_only_files_are_no_error() {
    let t = read_bytes("idle-6d9f8b7c5d-abcde.log", b"", &Limits::default()).expect("empty");
    assert!(t.is_empty());
    let idle = b"2024-05-01T09:59:58.201234Z\tinfo\tEnvoy proxy is ready\n";
    let t = read_bytes("idle-6d9f8b7c5d-abcde.log", idle, &Limits::default()).expect("idle proxy");
    assert_eq!((t.sources[0].lines, t.sources[0].calls), (1, 0));
}

mod arbitrary_bytes {
    use super::*;
    use proptest::prelude::*;

    const SEEDS: [&str; 4] = [
        "[2024-05-01T10:00:00.123Z] \"GET / HTTP/1.1\" 200 - via_upstream - \"-\" 0 1 2 1 \"-\" \"ua\" \"id\" \"a:1\" \"10.0.0.1:1\" outbound|1||a.b.svc.cluster.local 1 2 3 - x\n",
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,\"2\"]]}]}}",
        "{\"elements\":{\"nodes\":[{\"data\":{\"id\":\"a\",\"nodeType\":\"workload\"}}],\"edges\":[{\"data\":{\"source\":\"a\",\"target\":\"b\"}}]}}",
        "istio_requests_total{a=\"b\\\"\"} 1\n{\"upstream_cluster\":\"inbound|1||\"}\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_bytes("fuzz.log", &bytes, &Limits::default());
        }

        #[test]
        fn mutated_seeds_never_panic(seed in 0usize..4, at in 0usize..400, cut in 0usize..400, byte in any::<u8>()) {
            let mut bytes = SEEDS[seed].as_bytes().to_vec();
            let at = at % (bytes.len() + 1);
            bytes.insert(at, byte);
            bytes.truncate(cut.max(at));
            if let Err(e) = read_bytes("fuzz.log", &bytes, &Limits::default()) {
                for error in &e.errors {
                    prop_assert!(error.to_string().starts_with("fuzz.log"), "{}", error);
                }
            }
        }
    }
}
