use std::collections::BTreeSet;

use super::*;

type Edge<'a> = (&'a str, &'a str, &'a str);

fn graph(nodes: &[&str], edges: &[Edge<'_>]) -> Graph {
    match Graph::new(nodes.iter().copied(), edges.iter().copied()) {
        Ok(graph) => graph,
        Err(err) => panic!("cannot build graph: {err}"),
    }
}

/// The example of Python taskgraph's `Graph.transitive_closure` docstring:
/// `a -> b -> c` and `b -> d`, where `x -> y` means x depends on y.
fn docstring_graph() -> Graph {
    graph(
        &["a", "b", "c", "d"],
        &[("a", "b", "b"), ("b", "c", "c"), ("b", "d", "d")],
    )
}

fn closure(graph: &Graph, roots: &[&str], reverse: bool) -> Graph {
    match graph.transitive_closure(roots.iter().copied(), reverse) {
        Ok(graph) => graph,
        Err(err) => panic!("closure failed: {err}"),
    }
}

fn labels(graph: &Graph) -> Vec<&str> {
    graph.labels().collect()
}

fn edges(graph: &Graph) -> Vec<(&str, &str, &str)> {
    graph.edges().collect()
}

#[test]
fn labels_are_sorted_by_code_point() {
    let g = graph(&["é", "b", "a", "B", "a-1", "Z"], &[]);
    assert_eq!(labels(&g), ["B", "Z", "a", "a-1", "b", "é"]);
    assert_eq!(g.len(), 6);
    assert!(!g.is_empty());
    assert!(g.contains("é"));
    assert!(!g.contains("c"));
    assert!(Graph::default().is_empty());
}

#[test]
fn edges_are_a_set() {
    let g = graph(
        &["a", "b"],
        &[
            ("a", "b", "x"),
            ("a", "b", "x"),
            ("a", "b", "y"),
            ("a", "b", "x"),
        ],
    );
    assert_eq!(g.edge_count(), 2);
    assert_eq!(edges(&g), [("a", "b", "x"), ("a", "b", "y")]);
}

#[test]
fn dependencies_by_name_and_dependents_by_label() {
    let g = graph(
        &["c", "b", "a", "d"],
        &[
            ("d", "a", "zeta"),
            ("d", "c", "alpha"),
            ("d", "b", "mid"),
            ("c", "a", "x"),
            ("b", "a", "y"),
            ("b", "a", "w"),
        ],
    );
    assert_eq!(
        g.dependencies("d").collect::<Vec<_>>(),
        [("alpha", "c"), ("mid", "b"), ("zeta", "a")]
    );
    assert_eq!(
        g.dependents("a").collect::<Vec<_>>(),
        [("w", "b"), ("y", "b"), ("x", "c"), ("zeta", "d")]
    );
    assert_eq!(g.dependencies("a").count(), 0);
    assert_eq!(g.dependencies("nope").count(), 0);
    assert_eq!(g.dependents("nope").count(), 0);
    assert_eq!(
        edges(&g),
        [
            ("b", "a", "w"),
            ("b", "a", "y"),
            ("c", "a", "x"),
            ("d", "c", "alpha"),
            ("d", "b", "mid"),
            ("d", "a", "zeta")
        ]
    );
}

#[test]
fn named_links_in_name_order() {
    let g = graph(
        &["a", "b", "c"],
        &[("a", "c", "z"), ("a", "b", "y"), ("b", "c", "parent")],
    );
    let links = g.to_named_links();
    assert_eq!(links.keys().copied().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(
        links["a"].iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
        [("y", "b"), ("z", "c")]
    );
    assert_eq!(
        links["b"].iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
        [("parent", "c")]
    );
    assert!(links["c"].is_empty());
    // Two edges of one name: the greater label wins.
    let g = graph(&["a", "b", "c"], &[("a", "c", "dep"), ("a", "b", "dep")]);
    assert_eq!(
        g.named_links("a").into_iter().collect::<Vec<_>>(),
        [("dep", "c")]
    );
}

#[test]
fn duplicate_label() {
    let err = Graph::new(["b", "a", "b", "a"], Vec::<Edge<'_>>::new()).err();
    match err.as_ref().map(Error::kind) {
        Some(ErrorKind::DuplicateLabel { label }) => assert_eq!(label, "a"),
        other => panic!("unexpected: {other:?}"),
    }
}

#[test]
fn unknown_dependencies_are_all_listed() {
    let err = Graph::new(
        ["a", "z"],
        [
            ("z", "gone-2", "x"),
            ("a", "gone-1", "x"),
            ("a", "gone-1", "y"),
            ("a", "z", "ok"),
            ("a", "gone-0", "w"),
        ],
    )
    .err();
    match err.as_ref().map(Error::kind) {
        Some(ErrorKind::UnknownDependencies { missing }) => {
            let missing: Vec<(&str, &str)> = missing
                .iter()
                .map(|(t, d)| (t.as_str(), d.as_str()))
                .collect();
            assert_eq!(missing, [("a", "gone-0"), ("a", "gone-1"), ("z", "gone-2")]);
        }
        other => panic!("unexpected: {other:?}"),
    }
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.starts_with("3 unknown task dependencies"), "{text}");
    assert!(text.contains("task `z` depends on `gone-2`"), "{text}");
}

#[test]
fn unknown_dependent_is_an_error() {
    let err = Graph::new(["a"], [("ghost", "a", "x")]).err();
    match err.as_ref().map(Error::kind) {
        Some(ErrorKind::Verification(text)) => assert!(text.contains("`ghost` -> `a`"), "{text}"),
        other => panic!("unexpected: {other:?}"),
    }
}

#[test]
fn closure_follows_dependencies() {
    let g = docstring_graph();
    // The Python docstring swaps the two directions; these are what its code
    // (and ours) compute.
    let c = closure(&g, &["b"], false);
    assert_eq!(labels(&c), ["b", "c", "d"]);
    assert_eq!(edges(&c), [("b", "c", "c"), ("b", "d", "d")]);
    let c = closure(&g, &["c"], false);
    assert_eq!(labels(&c), ["c"]);
    assert_eq!(c.edge_count(), 0);
    let c = closure(&g, &["a"], false);
    assert_eq!(c, g);
    let c = closure(&g, &[], false);
    assert!(c.is_empty());
}

#[test]
fn closure_follows_dependents_when_reversed() {
    let g = docstring_graph();
    let c = closure(&g, &["c"], true);
    assert_eq!(labels(&c), ["a", "b", "c"]);
    assert_eq!(edges(&c), [("a", "b", "b"), ("b", "c", "c")]);
    let c = closure(&g, &["b"], true);
    assert_eq!(labels(&c), ["a", "b"]);
    assert_eq!(edges(&c), [("a", "b", "b")]);
    let c = closure(&g, &["c", "d", "c"], true);
    assert_eq!(c, g);
}

#[test]
fn closure_rejects_unknown_roots() {
    let g = docstring_graph();
    let err = g.transitive_closure(["x", "a", "w", "x"], false).err();
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(text, "unknown tasks in transitive closure: `w`, `x`");
}

#[test]
fn subgraph_and_filter_keep_edges_between_kept_nodes() {
    let g = docstring_graph();
    let s = g.subgraph(["a", "b", "d"]).unwrap_or_default();
    assert_eq!(labels(&s), ["a", "b", "d"]);
    assert_eq!(edges(&s), [("a", "b", "b"), ("b", "d", "d")]);
    assert_eq!(s.dependencies("b").collect::<Vec<_>>(), [("d", "d")]);
    assert_eq!(s.dependents("b").collect::<Vec<_>>(), [("b", "a")]);
    assert!(g.subgraph(["a", "q"]).is_err());
    let f = g.filter(|label| label != "b");
    assert_eq!(labels(&f), ["a", "c", "d"]);
    assert_eq!(f.edge_count(), 0);
    assert_eq!(s.visit_postorder().ok(), Some(vec!["d", "b", "a"]));
}

#[test]
fn postorder_is_fifo_kahn_in_label_order() {
    // a and b depend on c, b also on d; e stands alone.
    let g = graph(
        &["e", "d", "c", "b", "a"],
        &[("a", "c", "c"), ("b", "c", "c"), ("b", "d", "d")],
    );
    assert_eq!(
        g.visit_postorder().ok(),
        Some(vec!["c", "d", "e", "a", "b"])
    );
    assert_eq!(g.visit_preorder().ok(), Some(vec!["a", "b", "e", "c", "d"]));
    assert_eq!(
        docstring_graph().visit_postorder().ok(),
        Some(vec!["c", "d", "b", "a"])
    );
    assert_eq!(
        docstring_graph().visit_preorder().ok(),
        Some(vec!["a", "b", "c", "d"])
    );
    assert_eq!(Graph::default().visit_postorder().ok(), Some(vec![]));
}

#[test]
fn preorder_examines_dependencies_by_label_not_name() {
    // b's dependencies by name are d then c; by label c then d.
    let g = graph(
        &["a", "b", "c", "d"],
        &[("b", "d", "aaa"), ("b", "c", "zzz"), ("a", "b", "b")],
    );
    assert_eq!(
        g.dependencies("b").collect::<Vec<_>>(),
        [("aaa", "d"), ("zzz", "c")]
    );
    assert_eq!(g.visit_preorder().ok(), Some(vec!["a", "b", "c", "d"]));
    assert_eq!(g.visit_postorder().ok(), Some(vec!["c", "d", "b", "a"]));
}

#[test]
fn parallel_edges_count_once_per_edge() {
    let g = graph(
        &["a", "b", "c"],
        &[("a", "b", "x"), ("a", "b", "y"), ("c", "b", "z")],
    );
    assert_eq!(g.visit_postorder().ok(), Some(vec!["b", "a", "c"]));
    assert_eq!(g.visit_preorder().ok(), Some(vec!["a", "c", "b"]));
}

fn cycle_labels(result: Result<Vec<&str>>) -> Vec<String> {
    match result.as_ref().map_err(Error::kind) {
        Err(ErrorKind::Cycle { labels }) => labels.clone(),
        other => panic!("expected a cycle, got {other:?}"),
    }
}

#[test]
fn cycle_is_reported_with_its_labels() {
    // d -> a -> b -> c -> a, and e hangs off the cycle.
    let g = graph(
        &["a", "b", "c", "d", "e"],
        &[
            ("d", "a", "x"),
            ("a", "b", "x"),
            ("b", "c", "x"),
            ("c", "a", "x"),
            ("a", "e", "y"),
        ],
    );
    assert_eq!(g.find_cycle(), Some(vec!["a", "b", "c"]));
    assert_eq!(cycle_labels(g.visit_postorder()), ["a", "b", "c", "a"]);
    assert_eq!(cycle_labels(g.visit_preorder()), ["a", "b", "c", "a"]);
    let text = g
        .visit_postorder()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(text, "task dependencies form a cycle: a -> b -> c -> a");
}

#[test]
fn cycle_is_found_behind_acyclic_nodes() {
    // a -> z -> y -> x -> y: the walk from `a` must drop the tail `a, z`.
    let g = graph(
        &["a", "x", "y", "z"],
        &[
            ("a", "z", "n"),
            ("z", "y", "n"),
            ("y", "x", "n"),
            ("x", "y", "n"),
        ],
    );
    assert_eq!(g.find_cycle(), Some(vec!["x", "y"]));
    assert_eq!(cycle_labels(g.visit_preorder()), ["x", "y", "x"]);
}

#[test]
fn self_loop_is_a_cycle() {
    let g = graph(&["a", "b"], &[("a", "a", "me"), ("b", "a", "n")]);
    assert_eq!(g.find_cycle(), Some(vec!["a"]));
    assert_eq!(cycle_labels(g.visit_postorder()), ["a", "a"]);
    assert_eq!(cycle_labels(g.visit_preorder()), ["a", "a"]);
    // A closure over a cycle terminates.
    assert_eq!(labels(&closure(&g, &["b"], false)), ["a", "b"]);
    assert_eq!(labels(&closure(&g, &["a"], true)), ["a", "b"]);
}

#[test]
fn acyclic_graph_has_no_cycle() {
    assert_eq!(docstring_graph().find_cycle(), None);
    assert_eq!(Graph::default().find_cycle(), None);
}

// ---------------------------------------------------------------------------
// Property tests against naive oracles on random graphs.

/// xorshift64: a small deterministic generator, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

type OwnedEdge = (String, String, String);

/// A random graph: node `i` only depends on nodes generated before it, so
/// the graph is acyclic unless `back_edges` adds edges the other way.
/// Labels get a random prefix so label order differs from generation order.
fn random_graph(rng: &mut Rng, back_edges: usize) -> (Vec<String>, Vec<OwnedEdge>) {
    let count = rng.below(25);
    let nodes: Vec<String> = (0..count)
        .map(|i| format!("{:02}-{i}", rng.below(100)))
        .collect();
    let mut edges = Vec::new();
    for i in 1..count {
        for _ in 0..rng.below(4) {
            let name = ["a", "b", "c"][rng.below(3)].to_owned();
            edges.push((nodes[i].clone(), nodes[rng.below(i)].clone(), name));
        }
    }
    if count > 0 {
        for _ in 0..back_edges {
            let (from, to) = (rng.below(count), rng.below(count));
            edges.push((
                nodes[from.min(to)].clone(),
                nodes[from.max(to)].clone(),
                "back".to_owned(),
            ));
        }
    }
    // Some exact duplicates.
    for _ in 0..rng.below(3) {
        if !edges.is_empty() {
            let duplicate = edges[rng.below(edges.len())].clone();
            edges.push(duplicate);
        }
    }
    (nodes, edges)
}

/// Python's fixed-point closure, transcribed.
fn naive_closure(
    edges: &BTreeSet<OwnedEdge>,
    roots: &BTreeSet<String>,
    reverse: bool,
) -> (BTreeSet<String>, BTreeSet<OwnedEdge>) {
    let mut nodes = roots.clone();
    let mut kept = BTreeSet::new();
    loop {
        let add_edges: BTreeSet<OwnedEdge> = edges
            .iter()
            .filter(|(l, r, _)| nodes.contains(if reverse { r } else { l }))
            .cloned()
            .collect();
        let add_nodes: BTreeSet<String> = add_edges
            .iter()
            .map(|(l, r, _)| if reverse { l } else { r }.clone())
            .collect();
        let new_nodes: BTreeSet<String> = nodes.union(&add_nodes).cloned().collect();
        let new_edges: BTreeSet<OwnedEdge> = kept.union(&add_edges).cloned().collect();
        if new_nodes == nodes && new_edges == kept {
            return (nodes, kept);
        }
        (nodes, kept) = (new_nodes, new_edges);
    }
}

/// The specified Kahn order, computed the slow way straight from the edge
/// set. `None` on a cycle.
fn naive_kahn(
    nodes: &BTreeSet<String>,
    edges: &BTreeSet<OwnedEdge>,
    preorder: bool,
) -> Option<Vec<String>> {
    // For postorder an edge (l, r) makes r a predecessor of l.
    let pending_of = |n: &String| {
        edges
            .iter()
            .filter(|e| before_after(e, preorder).1 == *n)
            .count()
    };
    let mut pending: Vec<(String, usize)> =
        nodes.iter().map(|n| (n.clone(), pending_of(n))).collect();
    let mut order: Vec<String> = pending
        .iter()
        .filter(|(_, p)| *p == 0)
        .map(|(n, _)| n.clone())
        .collect();
    let mut head = 0;
    while head < order.len() {
        let node = order[head].clone();
        head += 1;
        let mut successors: Vec<String> = edges
            .iter()
            .map(|e| before_after(e, preorder))
            .filter(|(b, _)| *b == node)
            .map(|(_, a)| a)
            .collect();
        successors.sort();
        for successor in successors {
            if let Some(entry) = pending.iter_mut().find(|(n, _)| *n == successor) {
                entry.1 -= 1;
                if entry.1 == 0 {
                    order.push(successor);
                }
            }
        }
    }
    (order.len() == nodes.len()).then_some(order)
}

fn before_after((l, r, _): &OwnedEdge, preorder: bool) -> (String, String) {
    if preorder {
        (l.clone(), r.clone())
    } else {
        (r.clone(), l.clone())
    }
}

fn assert_is_cycle(graph: &Graph, cycle: &[&str]) {
    assert!(!cycle.is_empty());
    let distinct: BTreeSet<&str> = cycle.iter().copied().collect();
    assert_eq!(distinct.len(), cycle.len(), "repeated node in {cycle:?}");
    for (k, from) in cycle.iter().enumerate() {
        let to = cycle[(k + 1) % cycle.len()];
        assert!(
            graph.dependencies(from).any(|(_, dep)| dep == to),
            "{from} does not depend on {to} in {cycle:?}"
        );
    }
}

#[test]
fn random_graphs_match_the_oracles() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut acyclic, mut cyclic) = (0, 0);
    for round in 0..400 {
        let back_edges = if round % 2 == 0 { 0 } else { rng.below(3) };
        let (nodes, edge_list) = random_graph(&mut rng, back_edges);
        let g = match Graph::new(nodes.iter().cloned(), edge_list.iter().cloned()) {
            Ok(g) => g,
            Err(err) => panic!("round {round}: {err}"),
        };
        let node_set: BTreeSet<String> = nodes.iter().cloned().collect();
        let edge_set: BTreeSet<OwnedEdge> = edge_list.iter().cloned().collect();
        assert_eq!(g.len(), node_set.len());
        assert_eq!(g.edge_count(), edge_set.len());
        let by_left_name_right: Vec<(&str, &str, &str)> = {
            let mut v: Vec<_> = edge_set
                .iter()
                .map(|(l, r, n)| (l.as_str(), r.as_str(), n.as_str()))
                .collect();
            v.sort_by(|a, b| (a.0, a.2, a.1).cmp(&(b.0, b.2, b.1)));
            v
        };
        assert_eq!(edges(&g), by_left_name_right, "round {round}");

        // Closures from random root sets, both ways.
        for reverse in [false, true] {
            let roots: BTreeSet<String> = nodes
                .iter()
                .filter(|_| rng.below(4) == 0)
                .cloned()
                .collect();
            let (want_nodes, want_edges) = naive_closure(&edge_set, &roots, reverse);
            let got = closure(
                &g,
                &roots.iter().map(String::as_str).collect::<Vec<_>>(),
                reverse,
            );
            assert_eq!(
                labels(&got),
                want_nodes.iter().map(String::as_str).collect::<Vec<_>>(),
                "round {round}"
            );
            let got_edges: BTreeSet<OwnedEdge> = got
                .edges()
                .map(|(l, r, n)| (l.to_owned(), r.to_owned(), n.to_owned()))
                .collect();
            assert_eq!(got_edges, want_edges, "round {round}");
        }

        // Traversals: the exact specified order, which is topological.
        let post = naive_kahn(&node_set, &edge_set, false);
        let pre = naive_kahn(&node_set, &edge_set, true);
        assert_eq!(post.is_some(), pre.is_some());
        match (g.visit_postorder(), g.visit_preorder(), post, pre) {
            (Ok(got_post), Ok(got_pre), Some(post), Some(pre)) => {
                assert_eq!(got_post, post, "round {round}");
                assert_eq!(got_pre, pre, "round {round}");
                let position = |order: &[&str], label: &str| order.iter().position(|l| *l == label);
                for (l, r, _) in &edge_set {
                    assert!(
                        position(&got_post, r) < position(&got_post, l),
                        "round {round}: postorder"
                    );
                    assert!(
                        position(&got_pre, l) < position(&got_pre, r),
                        "round {round}: preorder"
                    );
                }
                assert_eq!(g.find_cycle(), None);
                acyclic += usize::from(edge_set.len() > 5);
            }
            (Err(_), Err(_), None, None) => {
                let cycle = g.find_cycle().unwrap_or_default();
                assert_is_cycle(&g, &cycle);
                let mut closed: Vec<String> = cycle.iter().map(|l| (*l).to_owned()).collect();
                closed.push(cycle[0].to_owned());
                assert_eq!(cycle_labels(g.visit_postorder()), closed);
                cyclic += 1;
            }
            (post, pre, _, _) => panic!("round {round}: disagreement: {post:?} / {pre:?}"),
        }
    }
    // The random data exercised both outcomes.
    assert!(
        acyclic > 100 && cyclic > 50,
        "{acyclic} acyclic, {cyclic} cyclic"
    );
}
