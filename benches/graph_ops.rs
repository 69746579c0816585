//! Benchmarks of the task-graph operations on 20,000-node graphs of four
//! shapes: a chain, a fan-out/fan-in, a binary tree and 200 fully connected
//! layers of 100 tasks (1.99 M edges).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use graphgen_suite::shapes::{self, Shape};
use taskgraph::graph::Graph;

const NODES: usize = 20_000;

/// Picks the roots of a closure from a shape.
type RootsOf = fn(&Shape) -> &[String];

fn build(shape: &Shape) -> Graph {
    match Graph::new(shape.nodes.iter().cloned(), shape.edges.iter().cloned()) {
        Ok(graph) => graph,
        Err(err) => panic!("cannot build the {} graph: {err}", shape.name),
    }
}

fn graph_ops(c: &mut Criterion) {
    let shapes = shapes::all(NODES);
    let graphs: Vec<Graph> = shapes.iter().map(build).collect();

    let mut group = c.benchmark_group("construct");
    for shape in &shapes {
        group.bench_with_input(
            BenchmarkId::from_parameter(shape.name),
            shape,
            |b, shape| {
                // From borrowed strings, as a caller holding its tasks would.
                b.iter(|| {
                    Graph::new(
                        shape.nodes.iter().map(String::as_str),
                        shape.edges.iter().map(|(left, right, name)| {
                            (left.as_str(), right.as_str(), name.as_str())
                        }),
                    )
                    .ok()
                });
            },
        );
    }
    group.finish();

    // From the tops (or bottoms) the closure is the whole graph; from the
    // halfway tasks it is about half of it, which exercises building the
    // subgraph.
    let closures: [(&str, RootsOf, bool); 3] = [
        ("closure", |shape| &shape.tops, false),
        ("closure-reverse", |shape| &shape.bottoms, true),
        ("closure-half", |shape| &shape.halfway, false),
    ];
    for (name, roots, reverse) in closures {
        let mut group = c.benchmark_group(name);
        for (shape, graph) in shapes.iter().zip(&graphs) {
            let roots = roots(shape);
            group.bench_with_input(
                BenchmarkId::from_parameter(shape.name),
                graph,
                |b, graph| {
                    b.iter(|| {
                        graph
                            .transitive_closure(
                                black_box(roots).iter().map(String::as_str),
                                reverse,
                            )
                            .ok()
                    });
                },
            );
        }
        group.finish();
    }

    let mut group = c.benchmark_group("postorder");
    for (shape, graph) in shapes.iter().zip(&graphs) {
        group.bench_with_input(
            BenchmarkId::from_parameter(shape.name),
            graph,
            |b, graph| {
                b.iter(|| {
                    black_box(graph)
                        .visit_postorder()
                        .ok()
                        .map(|order| order.len())
                });
            },
        );
    }
    group.finish();

    let mut group = c.benchmark_group("preorder");
    for (shape, graph) in shapes.iter().zip(&graphs) {
        group.bench_with_input(
            BenchmarkId::from_parameter(shape.name),
            graph,
            |b, graph| {
                b.iter(|| {
                    black_box(graph)
                        .visit_preorder()
                        .ok()
                        .map(|order| order.len())
                });
            },
        );
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = graph_ops
}
criterion_main!(benches);
