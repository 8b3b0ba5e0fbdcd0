use super::*;

fn limits() -> Limits {
    Limits::default()
}

fn errors(text: &str) -> Vec<LoadError> {
    load_text("bad.yaml", text, &limits())
        .expect_err("should fail")
        .errors
}

#[test]
fn multi_document_yaml_keeps_file_and_line_per_object() {
    let text = "# header\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\n\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n  namespace: shop\n";
    let loaded = load_text("sa.yaml", text, &limits()).unwrap();
    let found: Vec<_> = loaded
        .objects
        .iter()
        .map(|o| (o.name.as_str(), o.namespace.as_deref(), o.line))
        .collect();
    assert_eq!(found, vec![("a", None, 3), ("b", Some("shop"), 10)]);
    assert_eq!(&*loaded.objects[0].file, "sa.yaml");
    assert!(loaded
        .notes
        .iter()
        .any(|n| n.message.contains("empty document")));
}

#[test]
fn kind_list_is_unpacked_and_json_is_read() {
    let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}},
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "y"}}
]}"#;
    let loaded = load_text("list.json", text, &limits()).unwrap();
    let names: Vec<_> = loaded
        .objects
        .iter()
        .map(|o| (o.name.as_str(), o.line))
        .collect();
    assert_eq!(names, vec![("x", 2), ("y", 3)]);
}

#[test]
fn kustomization_and_chart_files_are_skipped_with_a_note() {
    let loaded = load_text("kustomization.yaml", "resources:\n- a.yaml\n", &limits()).unwrap();
    assert!(loaded.objects.is_empty());
    assert!(
        loaded.notes[0].message.contains("kustomization"),
        "{:?}",
        loaded.notes
    );
    let chart = load_text(
        "Chart.yaml",
        "apiVersion: v2\nname: x\nversion: 1.0.0\n",
        &limits(),
    )
    .unwrap();
    assert!(chart.objects.is_empty());
    assert!(chart.notes[0].message.contains("Helm"), "{:?}", chart.notes);
}

#[test]
fn syntax_error_names_the_line() {
    let errs = errors("apiVersion: v1\nkind: Service\nmetadata:\n  name: [a\n  x: 1\n");
    assert_eq!(errs.len(), 1);
    let msg = errs[0].to_string();
    assert!(msg.starts_with("bad.yaml:"), "{msg}");
    assert!(
        matches!(errs[0], LoadError::Syntax { line, .. } if (4..=6).contains(&line)),
        "{msg}"
    );
}

#[test]
fn duplicate_key_warns_with_both_lines_and_the_later_value_wins() {
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n";
    let loaded = load_text("dup.yaml", text, &limits()).unwrap();
    assert_eq!(loaded.objects[0].name, "b");
    let warning = &loaded.notes[0];
    assert_eq!(warning.level, NoteLevel::Warning);
    assert_eq!(warning.origin.to_string(), "dup.yaml:5");
    assert!(
        warning
            .message
            .contains("`name` is already defined on line 4"),
        "{}",
        warning.message
    );
}

#[test]
fn merge_keys_apply_and_may_be_overridden() {
    let text = "base: &b\n  a: 1\n  c: 2\nx:\n  <<: *b\n  a: 3\n";
    let loaded = load_text("m.yaml", text, &limits()).unwrap();
    assert!(loaded.objects.is_empty());
    let docs = parse_documents(text, &limits()).unwrap();
    let x = docs[0].root.at("x");
    assert_eq!(x.at("a").as_str(), Some("3"));
    assert_eq!(x.at("c").as_str(), Some("2"));
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            std::iter::repeat_n(prev.as_str(), 10)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let errs = errors(&text);
    assert!(
        matches!(errs[0], LoadError::AliasBudget { line, .. } if line > 1),
        "{errs:?}"
    );
    assert!(errs[0].to_string().contains("alias"));
}

#[test]
fn deep_nesting_is_refused() {
    for depth in [200, 500] {
        let text = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let errs = errors(&text);
        assert!(
            matches!(
                errs[0],
                LoadError::TooDeep {
                    line: 1,
                    limit: 128,
                    ..
                }
            ),
            "{errs:?}"
        );
    }
    let mut block = String::new();
    for i in 0..150 {
        block.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
    }
    let errs = errors(&block);
    assert!(
        matches!(errs[0], LoadError::TooDeep { limit: 128, .. }),
        "{errs:?}"
    );
}

#[test]
fn non_utf8_names_the_line() {
    let bytes = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \xff\xfe\n";
    let errs = load_bytes("latin1.yaml", bytes, &limits())
        .unwrap_err()
        .errors;
    assert_eq!(
        errs,
        vec![LoadError::NotUtf8 {
            file: "latin1.yaml".into(),
            line: 4
        }]
    );
}

#[test]
fn too_many_documents_is_refused() {
    let small = Limits {
        max_documents: 3,
        ..Limits::default()
    };
    let text = "---\na: 1\n---\na: 2\n---\na: 3\n---\na: 4\n";
    let errs = load_text("many.yaml", text, &small).unwrap_err().errors;
    assert!(
        matches!(
            errs[0],
            LoadError::TooManyDocuments {
                line: 7,
                limit: 3,
                ..
            }
        ),
        "{errs:?}"
    );
}

#[test]
fn twenty_thousand_documents_load_within_the_default_budgets() {
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  k: v\n"
        ));
    }
    let loaded = load_text("big.yaml", &text, &limits()).unwrap();
    assert_eq!(loaded.objects.len(), 20_000);
    assert_eq!(loaded.objects[19_999].line, 19_999 * 7 + 2);
}

#[test]
fn folders_are_read_recursively_and_every_problem_is_reported() {
    let dir = std::env::temp_dir().join(format!("meshsmith-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("a.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
    )
    .unwrap();
    std::fs::write(dir.join("sub/b.yml"), "x: [\n").unwrap();
    std::fs::write(dir.join("sub/c.json"), "{\"a\": 1,\n \"b\": [}").unwrap();
    std::fs::write(dir.join("sub/notes.txt"), "ignored").unwrap();
    let err = load(&[Input::Path(dir.clone())], &limits()).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(err.errors.len(), 2, "{err}");
    assert!(err.errors[0].to_string().contains("sub/b.yml:"), "{err}");
    assert!(err.errors[1].to_string().contains("sub/c.json:2"), "{err}");
}

#[test]
fn oversized_file_is_refused() {
    let dir = std::env::temp_dir().join(format!("meshsmith-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.yaml");
    std::fs::write(&path, "a: 1\n".repeat(100)).unwrap();
    let small = Limits {
        max_file_bytes: 100,
        ..Limits::default()
    };
    let err = load(&[Input::Path(path)], &small).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matches!(
        err.errors[0],
        LoadError::TooLarge {
            bytes: 500,
            limit: 100,
            ..
        }
    ));
}

#[test]
fn block_scalar_lines_are_those_of_their_first_text_line() {
    let text =
        "a: 1\nfile: |\n  one\n  two\nnext: x\nfolded: >-\n  three\nlast: y\nblank: |\n\n  four\n";
    let docs = parse_documents(text, &limits()).unwrap();
    let root = &docs[0].root;
    let lines: Vec<(&str, u32)> = root
        .as_map()
        .iter()
        .map(|(k, v)| (k.as_str(), v.line))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("a", 1),
            ("file", 3),
            ("next", 5),
            ("folded", 7),
            ("last", 8),
            ("blank", 10)
        ]
    );
    assert_eq!(root.at("file").as_str(), Some("one\ntwo\n"));
}

#[test]
fn all_inputs_together_over_the_total_limit_are_refused() {
    let dir = std::env::temp_dir().join(format!("meshsmith-total-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["a.yaml", "b.yaml"] {
        std::fs::write(
            dir.join(name),
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
        )
        .unwrap();
    }
    let small = Limits {
        max_total_bytes: 60,
        ..Limits::default()
    };
    let err = load(&[Input::Path(dir.clone())], &small).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        matches!(err.errors[0], LoadError::TooLarge { limit: 60, .. }),
        "{err}"
    );
    assert!(err.errors[0].to_string().contains("b.yaml"), "{err}");
}

#[test]
fn a_large_file_reaches_the_visitor_in_batches_of_objects() {
    let dir = std::env::temp_dir().join(format!("meshsmith-batches-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("all.yaml");
    let text: String = (0..600)
        .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\n---\n"))
        .collect();
    std::fs::write(&file, text).expect("write");
    let read = load_each(&[Input::Path(file)], &limits(), |objects| objects.len()).expect("loads");
    // The trees of at most one batch are alive at a time; together they are every object.
    assert!(read.parts.len() >= 3, "{:?}", read.parts);
    assert!(read.parts.iter().all(|n| *n <= super::BATCH));
    assert_eq!(read.parts.iter().sum::<usize>(), 600);
    assert_eq!(read.objects, 600);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_mapping_of_many_keys_loads_with_each_repeat_reported_once() {
    // 250,000 keys: read with a scan per key, this would run for many minutes.
    let n = 250_000;
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n");
    for i in 0..n {
        text.push_str(&format!("  k{i}: v{i}\n"));
    }
    text.push_str("  k7: again\n");
    let loaded = load_text("big.yaml", &text, &limits()).unwrap();
    let data = loaded.objects[0].doc.at("data");
    assert_eq!(data.as_map().len(), n);
    assert_eq!(data.at("k7").as_str(), Some("again"));
    assert_eq!(
        data.at(&format!("k{}", n - 1)).as_str(),
        Some(format!("v{}", n - 1).as_str())
    );
    let repeats: Vec<String> = loaded
        .notes
        .iter()
        .filter(|n| n.message.contains(DUPLICATE_KEY))
        .map(|n| format!("{}: {}", n.origin, n.message))
        .collect();
    let line = n + 5;
    assert_eq!(
        repeats,
        [format!(
            "big.yaml:{line}: key `k7` is already defined on line 12; the later value is used (as kubectl does)"
        )]
    );
}

#[test]
fn an_object_without_api_version_kind_or_name_is_refused_at_its_line() {
    let text = "apiVersion: v1\nkind: Service\nspec: {}\n---\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  namespace: shop\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: [x]}\n";
    let found: Vec<String> = errors(text).iter().map(ToString::to_string).collect();
    let refused = "`kubectl apply` would refuse it";
    assert_eq!(
        found,
        [
            format!("bad.yaml:1: Service has no metadata.name; {refused}"),
            format!("bad.yaml:5: Service has no apiVersion; {refused}"),
            format!("bad.yaml:8: an object has no kind; {refused}"),
            format!("bad.yaml:14: Service has no metadata.name; {refused}"),
            format!("bad.yaml:18: Widget has no metadata.name; {refused}"),
        ]
    );
}

#[test]
fn a_kustomization_is_left_out_with_a_warning_when_it_changes_its_files() {
    let text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [app.yaml]\nnamePrefix: prod-\n---\nresources: [app.yaml]\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n";
    let loaded = load_text("k.yaml", text, &limits()).unwrap();
    let kinds: Vec<&str> = loaded.objects.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["Widget"]);
    let notes: Vec<(String, NoteLevel, &str)> = loaded
        .notes
        .iter()
        .map(|n| (n.origin.to_string(), n.level, n.message.as_str()))
        .collect();
    // One that only lists files (as meshsmith's own output's do) changes nothing read.
    assert_eq!(
        notes,
        [
            (
                "k.yaml:1".to_string(),
                NoteLevel::Warning,
                "skipped: not a Kubernetes object (a kustomization that changes what its files \
                 say: give meshsmith what `kubectl kustomize` renders from it)"
            ),
            (
                "k.yaml:6".to_string(),
                NoteLevel::Info,
                "skipped: not a Kubernetes object (a kustomization)"
            ),
        ]
    );
}
