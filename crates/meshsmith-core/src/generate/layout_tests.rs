//! The objects [`layout_with_objects`] builds are the objects loading its files gives back:
//! same kind, name, namespace, file, lines and document, value for value.

use super::fixtures::shopfront;
use super::*;
use crate::load::{load_text, Limits};
use std::path::Path;

fn header() -> Header {
    Header {
        version: "0.1.0".into(),
        inputs: vec!["examples/shopfront".into()],
    }
}

fn round_trip(config: &MeshConfig) {
    let root = Path::new("out");
    let built = layout_with_objects(config, &header(), root);
    assert_eq!(built.files, layout(config, &header()));
    let mut loaded = Vec::new();
    for (id, (path, text)) in built.files.iter().enumerate() {
        let name = root.join(path).display().to_string();
        let file = load_text(&name, text, &Limits::default()).expect("generated YAML loads");
        loaded.extend(file.objects.into_iter().map(|mut o| {
            o.source = id as u32;
            o
        }));
    }
    assert!(!loaded.is_empty());
    assert_eq!(built.objects.len(), loaded.len());
    for (ours, theirs) in built.objects.iter().zip(&loaded) {
        let place = format!("{}:{}", theirs.file, theirs.line);
        assert_eq!(ours.kind, theirs.kind, "{place}");
        assert_eq!(ours.api_version, theirs.api_version, "{place}");
        assert_eq!(ours.name, theirs.name, "{place}");
        assert_eq!(ours.namespace, theirs.namespace, "{place}");
        assert_eq!(ours.file, theirs.file, "{place}");
        assert_eq!(ours.line, theirs.line, "{place}");
        assert_eq!(ours.source, theirs.source, "{place}");
        assert_eq!(ours.doc, theirs.doc, "{place}");
    }
    // Streaming the files to a sink gives the same files and the same objects.
    let streamed = std::sync::Mutex::new(Vec::new());
    let parts = layout_into(
        config.clone(),
        &header(),
        root,
        &|path, text| {
            streamed.lock().unwrap().push((path, text));
        },
        &|objects| objects,
    );
    let objects: Vec<Object> = parts.into_iter().flatten().collect();
    let mut streamed = streamed.into_inner().unwrap();
    streamed.sort();
    assert_eq!(streamed, built.files);
    assert_eq!(objects.len(), built.objects.len());
    for (a, b) in objects.iter().zip(&built.objects) {
        assert_eq!((a.source, a.line, &a.doc), (b.source, b.line, &b.doc));
    }
    // So does walking the objects alone.
    let objects: Vec<Object> = objects_into(config, &header(), root, &|objects| objects)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(objects.len(), built.objects.len());
    for (a, b) in objects.iter().zip(&built.objects) {
        assert_eq!(
            (&a.file, a.source, a.line, &a.doc),
            (&b.file, b.source, b.line, &b.doc)
        );
    }
}

#[test]
fn objects_match_loading_the_written_files() {
    round_trip(&generate(
        &shopfront(),
        &Policy::default(),
        &GenerateOptions::default(),
    ));
}

#[test]
fn objects_match_for_v1beta1_and_without_reasons() {
    round_trip(&generate(
        &shopfront(),
        &Policy::default(),
        &GenerateOptions {
            api_version: ApiVersion::V1beta1,
            without_reasons: true,
            ..GenerateOptions::default()
        },
    ));
}

#[test]
fn an_empty_configuration_has_no_objects() {
    let built = layout_with_objects(&MeshConfig::default(), &header(), Path::new("out"));
    assert!(built.files.is_empty() && built.objects.is_empty());
}
