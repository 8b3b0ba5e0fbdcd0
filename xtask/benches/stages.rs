//! Per-stage benchmarks on synthetic organisations: load, inventory, infer, generate, layout
//! (files and objects) and check of the manifests with the generated configuration.

use criterion::{criterion_group, criterion_main, Criterion};
use meshsmith_core::check::{check, CheckConfig};
use meshsmith_core::generate::{generate, layout_with_objects, GenerateOptions, Header};
use meshsmith_core::infer::infer;
use meshsmith_core::inventory::{collect_owned, inventory, merge};
use meshsmith_core::load::{load, Input, Limits};
use meshsmith_core::policy::Policy;
use std::path::Path;
use std::path::PathBuf;
use xtask::synth;

fn corpus(n: usize) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/synth/synth-{n}-1"));
    if !dir.join("namespaces.yaml").exists() {
        synth::write(&synth::Org::new(n, 1), &dir).expect("synth corpus");
    }
    dir
}

fn stages(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("MESHSMITH_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1000, 10000]);
    for n in sizes {
        let dir = corpus(n);
        let mut group = c.benchmark_group(format!("{n}-services"));
        group.sample_size(10);
        let input = [Input::Path(dir.clone())];
        group.bench_function("load", |b| {
            b.iter(|| load(&input, &Limits::default()).map(|l| l.objects.len()))
        });
        let loaded = load(&input, &Limits::default()).expect("synth loads");
        group.bench_function("inventory", |b| {
            b.iter(|| inventory(&loaded.objects, "default").workloads.len())
        });
        let inv = inventory(&loaded.objects, "default");
        group.bench_function("infer", |b| b.iter(|| infer(&inv).edges.len()));
        let topology = infer(&inv);
        let options = GenerateOptions {
            without_reasons: true,
            ..GenerateOptions::default()
        };
        let policy = Policy::default();
        group.bench_function("generate", |b| {
            b.iter(|| generate(&topology, &policy, &options).resources.len())
        });
        let mesh = generate(&topology, &policy, &options);
        let header = Header {
            version: "bench".into(),
            inputs: vec![],
        };
        let out = Path::new("out");
        group.bench_function("layout", |b| {
            b.iter(|| layout_with_objects(&mesh, &header, out).objects.len())
        });
        let generated = collect_owned(layout_with_objects(&mesh, &header, out).objects, "default");
        let all = merge(vec![inv.clone(), generated]);
        let config = CheckConfig::default();
        group.bench_function("check", |b| {
            b.iter(|| check(&all, &topology, &config).len())
        });
        group.finish();
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
