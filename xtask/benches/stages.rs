//! Per-stage benchmarks on synthetic organisations: load, inventory, infer.

use criterion::{criterion_group, criterion_main, Criterion};
use meshsmith_core::infer::infer;
use meshsmith_core::inventory::inventory;
use meshsmith_core::load::{load, Input, Limits};
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
        group.finish();
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
