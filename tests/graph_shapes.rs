//! The benchmark shapes build valid graphs of the advertised size, and the
//! graph operations behave on them as the shapes promise.

use graphgen_suite::shapes::{self, Shape};
use taskgraph::graph::Graph;

fn build(shape: &Shape) -> Graph {
    match Graph::new(shape.nodes.iter().cloned(), shape.edges.iter().cloned()) {
        Ok(graph) => graph,
        Err(err) => panic!("cannot build the {} graph: {err}", shape.name),
    }
}

fn check(shape: &Shape, nodes: usize, edges: usize) {
    let graph = build(shape);
    assert_eq!(graph.len(), nodes, "{}", shape.name);
    assert_eq!(graph.edge_count(), edges, "{}", shape.name);
    for (roots, reverse) in [(&shape.tops, false), (&shape.bottoms, true)] {
        let closure = graph
            .transitive_closure(roots.iter().map(String::as_str), reverse)
            .ok();
        assert_eq!(
            closure.as_ref(),
            Some(&graph),
            "{}: closure reaches everything",
            shape.name
        );
    }
    let half = graph
        .transitive_closure(shape.halfway.iter().map(String::as_str), false)
        .map(|g| g.len())
        .unwrap_or(0);
    assert!(
        half * 3 > nodes && half * 3 < nodes * 2,
        "{}: halfway closure has {half} nodes",
        shape.name
    );

    let post = graph.visit_postorder().unwrap_or_default();
    let pre = graph.visit_preorder().unwrap_or_default();
    assert_eq!(post.len(), nodes);
    assert_eq!(pre.len(), nodes);
    assert_eq!(
        post.first().map(|l| l.to_string()),
        shape.bottoms.first().cloned(),
        "{}",
        shape.name
    );
    assert_eq!(
        pre.first().map(|l| l.to_string()),
        shape.tops.first().cloned(),
        "{}",
        shape.name
    );
    let position = |order: &[&str]| -> std::collections::HashMap<String, usize> {
        order
            .iter()
            .enumerate()
            .map(|(i, l)| ((*l).to_owned(), i))
            .collect()
    };
    let (post_at, pre_at) = (position(&post), position(&pre));
    for (left, right, _) in &shape.edges {
        assert!(
            post_at[right] < post_at[left],
            "{}: postorder puts {left} before {right}",
            shape.name
        );
        assert!(
            pre_at[left] < pre_at[right],
            "{}: preorder puts {right} before {left}",
            shape.name
        );
    }
}

#[test]
fn shapes_have_the_advertised_sizes() {
    let n = 2_000;
    check(&shapes::chain(n), n, n - 1);
    check(&shapes::fan(n), n, 2 * (n - 2));
    check(&shapes::binary_tree(n), n, n - 1);
    check(&shapes::layered(20, 10), 200, 19 * 10 * 10);
}
