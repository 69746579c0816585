//! Task graphs over labels: nodes are task labels, edges are named
//! dependencies.
//!
//! # Model
//!
//! A [`Graph`] is a set of node labels and a set of edges `(left, right,
//! name)`, each meaning "`left` depends on `right` through its dependency
//! called `name`". This is the model of Python taskgraph's `Graph`: an edge
//! is identified by all three parts, so an exact duplicate edge is kept once,
//! two edges with different names may join the same pair of nodes, and the
//! graph is immutable: every operation that selects part of it returns a new
//! graph.
//!
//! # Inputs and errors
//!
//! [`Graph::new`] takes the labels and the edges. It rejects a label given
//! twice ([`ErrorKind::DuplicateLabel`]) and edges whose dependency is not a
//! node (one [`ErrorKind::UnknownDependencies`] listing every missing
//! `(task, dependency)` pair, sorted); an edge from an unknown task is an
//! [`ErrorKind::Verification`] error. Operations that take labels
//! ([`Graph::transitive_closure`], [`Graph::subgraph`]) fail on unknown ones
//! with an [`ErrorKind::Verification`] naming them all. Cycles are allowed in a graph; the
//! traversals that need a DAG ([`Graph::visit_postorder`],
//! [`Graph::visit_preorder`]) report one with [`ErrorKind::Cycle`], naming
//! the labels of one actual cycle in dependency order.
//!
//! # Invariants
//!
//! * Node indices follow label order: node `i` has the `i`-th smallest label
//!   (byte-wise, which for UTF-8 is Python's code-point order). Anything
//!   listed "by index" is therefore listed by label.
//! * Edges are stored without duplicates, in descending `(left, name,
//!   right)` order. Because petgraph lists a node's edges in reverse order
//!   of insertion, a node's dependencies come out sorted by `(name, label)`
//!   and its dependents sorted by `(label, name)`.
//!
//! Every output order is a function of the graph alone, never of hashing or
//! of the order the input came in.
//!
//! # Complexity
//!
//! With `N` nodes, `E` edges and `U` distinct edge names: construction
//! sorts the labels and the names once, and each node's edges by integer
//! keys (`O(N log N + U log U + E log d)` with `d` the largest number of
//! dependencies of one task; in practice linear). Every other operation —
//! closure, subgraphs, both traversals, cycle search, named links — is
//! `O(N + E)`, with hashed label look-ups. Labels are reference-counted and
//! the name table is shared, so a subgraph copies neither.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use indexmap::IndexMap;
use petgraph::Direction::{Incoming, Outgoing};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::error::{Error, ErrorKind, Result};

/// A graph of task labels joined by named dependency edges. See the
/// [module documentation](self) for the model and its invariants.
#[derive(Clone, Default)]
pub struct Graph {
    /// Node weights are labels; an edge goes from the dependent task to its
    /// dependency and weighs the index of its name in `names`.
    inner: DiGraph<Arc<str>, u32, u32>,
    /// Distinct edge names, sorted, so that comparing name indices compares
    /// names. Subgraphs share their parent's table.
    names: Arc<[Box<str>]>,
    /// Label to node index.
    index: LabelMap<NodeIndex<u32>>,
}

/// Hashed look-up by label or name.
type LabelMap<V> = HashMap<Arc<str>, V, BuildHasherDefault<LabelHasher>>;

impl Graph {
    /// Builds a graph from its node labels and its `(left, right, name)`
    /// edges, where `left` depends on `right` through dependency `name`.
    ///
    /// An edge given more than once is kept once. Fails on a duplicate label
    /// ([`ErrorKind::DuplicateLabel`], naming the smallest one), on edges
    /// whose dependency `right` is not a node ([`ErrorKind::UnknownDependencies`]
    /// with all such pairs, sorted and deduplicated), and on edges whose
    /// dependent `left` is not a node ([`ErrorKind::Verification`], listing
    /// them all).
    pub fn new<N, E, L, A, B, C>(nodes: N, edges: E) -> Result<Graph>
    where
        N: IntoIterator<Item = L>,
        L: Into<Arc<str>>,
        E: IntoIterator<Item = (A, B, C)>,
        A: AsRef<str>,
        B: AsRef<str>,
        C: AsRef<str>,
    {
        let mut labels: Vec<Arc<str>> = nodes.into_iter().map(Into::into).collect();
        labels.sort_unstable();
        if let Some(pair) = labels.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(ErrorKind::DuplicateLabel {
                label: pair[0].to_string(),
            }
            .into());
        }
        check_index_range(labels.len(), "tasks")?;
        let index: LabelMap<NodeIndex<u32>> = labels
            .iter()
            .enumerate()
            .map(|(i, label)| (Arc::clone(label), NodeIndex::new(i)))
            .collect();

        // Resolve the endpoints and number the names in order of appearance.
        let mut name_ids: LabelMap<u32> = LabelMap::default();
        let mut resolved: Vec<(u32, u32, u32)> = Vec::new();
        let mut missing_deps: Vec<(String, String)> = Vec::new();
        let mut unknown_lefts: Vec<(String, String, String)> = Vec::new();
        let mut last_left: Option<(&str, u32)> = None;
        for (left, right, name) in edges {
            let (left, right, name) = (left.as_ref(), right.as_ref(), name.as_ref());
            // Edges usually come grouped by their dependent: skip re-hashing it.
            let left_index = match last_left {
                Some((previous, found)) if previous == left => Some(found),
                _ => index.get_key_value(left).map(|(label, node)| {
                    last_left = Some((&**label, index_u32(*node)));
                    index_u32(*node)
                }),
            };
            let Some(left_index) = left_index else {
                unknown_lefts.push((left.to_owned(), right.to_owned(), name.to_owned()));
                continue;
            };
            let Some(right_index) = index.get(right).map(|n| index_u32(*n)) else {
                missing_deps.push((left.to_owned(), right.to_owned()));
                continue;
            };
            let name_id = match name_ids.get(name) {
                Some(id) => *id,
                None => {
                    let id = u32::try_from(name_ids.len()).unwrap_or(u32::MAX);
                    name_ids.insert(Arc::from(name), id);
                    id
                }
            };
            resolved.push((left_index, right_index, name_id));
        }
        if !unknown_lefts.is_empty() {
            unknown_lefts.sort_unstable();
            unknown_lefts.dedup();
            let listed: Vec<String> = unknown_lefts
                .iter()
                .map(|(left, right, name)| format!("  `{left}` -> `{right}` (dependency `{name}`)"))
                .collect();
            return Err(Error::new(ErrorKind::Verification(format!(
                "{} dependency edge(s) start at a task that does not exist:\n{}",
                listed.len(),
                listed.join("\n")
            ))));
        }
        if !missing_deps.is_empty() {
            missing_deps.sort_unstable();
            missing_deps.dedup();
            return Err(ErrorKind::UnknownDependencies {
                missing: missing_deps,
            }
            .into());
        }
        check_index_range(resolved.len(), "dependencies")?;
        check_index_range(name_ids.len(), "dependency names")?;

        // Renumber the names in sorted order.
        let mut sorted_names: Vec<(Arc<str>, u32)> = name_ids.into_iter().collect();
        sorted_names.sort_unstable();
        let mut rank = vec![0u32; sorted_names.len()];
        for (position, (_, id)) in sorted_names.iter().enumerate() {
            rank[*id as usize] = position as u32;
        }
        let names: Arc<[Box<str>]> = sorted_names
            .into_iter()
            .map(|(name, _)| Box::from(&*name))
            .collect();

        // Group the edges by dependent (a counting sort), then order each
        // group by (name, dependency) and drop exact duplicates.
        let node_count = labels.len();
        let mut starts = vec![0usize; node_count + 1];
        for (left, _, _) in &resolved {
            starts[*left as usize + 1] += 1;
        }
        for i in 0..node_count {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut grouped: Vec<(u32, u32)> = vec![(0, 0); resolved.len()];
        for (left, right, name) in resolved {
            let slot = &mut fill[left as usize];
            grouped[*slot] = (rank[name as usize], right);
            *slot += 1;
        }

        let mut inner = DiGraph::with_capacity(node_count, grouped.len());
        for label in labels {
            inner.add_node(label);
        }
        for left in (0..node_count).rev() {
            let group = &mut grouped[starts[left]..starts[left + 1]];
            group.sort_unstable();
            let mut previous = None;
            for (name, right) in group.iter().rev() {
                if previous == Some((*name, *right)) {
                    continue;
                }
                previous = Some((*name, *right));
                inner.add_edge(NodeIndex::new(left), NodeIndex::new(*right as usize), *name);
            }
        }
        Ok(Graph {
            inner,
            names,
            index,
        })
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.inner.node_count()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.inner.node_count() == 0
    }

    /// The number of edges.
    pub fn edge_count(&self) -> usize {
        self.inner.edge_count()
    }

    /// Whether `label` is a node.
    pub fn contains(&self, label: &str) -> bool {
        self.index.contains_key(label)
    }

    /// All labels, sorted.
    pub fn labels(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + '_ {
        self.inner.raw_nodes().iter().map(|node| &*node.weight)
    }

    /// All edges as `(left, right, name)`, sorted by `(left, name, right)`.
    pub fn edges(&self) -> impl ExactSizeIterator<Item = (&str, &str, &str)> + '_ {
        self.inner.raw_edges().iter().rev().map(|edge| {
            (
                self.label(edge.source()),
                self.label(edge.target()),
                self.name(edge.weight),
            )
        })
    }

    /// The dependencies of `label` as `(name, dependency label)`, sorted by
    /// name, then label. Empty if `label` is not a node.
    pub fn dependencies<'g>(
        &'g self,
        label: &str,
    ) -> impl Iterator<Item = (&'g str, &'g str)> + 'g {
        let node = self.index.get(label).copied();
        node.into_iter().flat_map(move |node| {
            self.inner
                .edges_directed(node, Outgoing)
                .map(|edge| (self.name(*edge.weight()), self.label(edge.target())))
        })
    }

    /// The tasks depending on `label` as `(name, dependent label)`, sorted
    /// by label, then name; a task depending on `label` through several
    /// names is listed once per name. Empty if `label` is not a node.
    pub fn dependents<'g>(&'g self, label: &str) -> impl Iterator<Item = (&'g str, &'g str)> + 'g {
        let node = self.index.get(label).copied();
        node.into_iter().flat_map(move |node| {
            self.inner
                .edges_directed(node, Incoming)
                .map(|edge| (self.name(*edge.weight()), self.label(edge.source())))
        })
    }

    /// The dependencies of `label` as a map from dependency name to label,
    /// in name order. Should a task have two edges of the same name, the one
    /// to the greater label wins. Empty if `label` is not a node.
    pub fn named_links(&self, label: &str) -> IndexMap<&str, &str> {
        self.dependencies(label).collect()
    }

    /// [`Graph::named_links`] of every node, in label order; nodes without
    /// dependencies map to an empty map.
    pub fn to_named_links(&self) -> IndexMap<&str, IndexMap<&str, &str>> {
        self.labels()
            .map(|label| (label, self.named_links(label)))
            .collect()
    }

    /// The transitive closure of `roots`: the subgraph of the roots and every
    /// node reachable from them by following dependencies, or, if `reverse`,
    /// by following dependents (every node that reaches a root). It keeps
    /// every edge between its nodes; since its node set is closed under the
    /// direction followed, these are exactly the edges out of (or, if
    /// `reverse`, into) its nodes.
    ///
    /// Fails with [`ErrorKind::Verification`] naming every unknown root.
    pub fn transitive_closure<'a>(
        &self,
        roots: impl IntoIterator<Item = &'a str>,
        reverse: bool,
    ) -> Result<Graph> {
        let direction = if reverse { Incoming } else { Outgoing };
        let mut keep = vec![false; self.len()];
        let mut stack = self.resolve(roots, "transitive closure")?;
        stack.retain(|node| !std::mem::replace(&mut keep[node.index()], true));
        while let Some(node) = stack.pop() {
            for next in self.inner.neighbors_directed(node, direction) {
                if !std::mem::replace(&mut keep[next.index()], true) {
                    stack.push(next);
                }
            }
        }
        Ok(self.induced(&keep))
    }

    /// The subgraph of the given nodes and every edge between two of them.
    /// Fails with [`ErrorKind::Verification`] naming every unknown label.
    pub fn subgraph<'a>(&self, labels: impl IntoIterator<Item = &'a str>) -> Result<Graph> {
        let mut keep = vec![false; self.len()];
        for node in self.resolve(labels, "subgraph")? {
            keep[node.index()] = true;
        }
        Ok(self.induced(&keep))
    }

    /// The subgraph of the nodes whose label satisfies `keep`, and every edge
    /// between two of them.
    pub fn filter(&self, mut keep: impl FnMut(&str) -> bool) -> Graph {
        let keep: Vec<bool> = self.labels().map(&mut keep).collect();
        self.induced(&keep)
    }

    /// All labels, each after every label it depends on (a topological
    /// order, dependencies first).
    ///
    /// The order is Kahn's, first in first out: it starts with the tasks
    /// without dependencies in label order, and each emitted task appends,
    /// in label order, those of its dependents whose dependencies have now
    /// all been emitted. Fails with [`ErrorKind::Cycle`] if the graph has a
    /// cycle.
    pub fn visit_postorder(&self) -> Result<Vec<&str>> {
        let mut pending: Vec<u32> = vec![0; self.len()];
        for edge in self.inner.raw_edges() {
            pending[edge.source().index()] += 1;
        }
        // Each node's dependents come out of petgraph in label order.
        let order = kahn(&mut pending, |node, visit| {
            for dependent in self
                .inner
                .neighbors_directed(NodeIndex::new(node), Incoming)
            {
                visit(dependent.index());
            }
        });
        self.finish_visit(order)
    }

    /// All labels, each before every label it depends on (a topological
    /// order, dependents first).
    ///
    /// The order is Kahn's, first in first out: it starts with the tasks
    /// nothing depends on in label order, and each emitted task appends, in
    /// label order, those of its dependencies whose dependents have now all
    /// been emitted. Fails with [`ErrorKind::Cycle`] if the graph has a
    /// cycle.
    pub fn visit_preorder(&self) -> Result<Vec<&str>> {
        // Petgraph lists dependencies by name: regroup them by label with a
        // counting sort (dependencies visited in increasing label order are
        // appended to their dependent's slot in that order).
        let node_count = self.len();
        let mut pending: Vec<u32> = vec![0; node_count];
        let mut starts = vec![0usize; node_count + 1];
        for edge in self.inner.raw_edges() {
            pending[edge.target().index()] += 1;
            starts[edge.source().index() + 1] += 1;
        }
        for i in 0..node_count {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut by_label = vec![0u32; self.edge_count()];
        for dependency in self.inner.node_indices() {
            for dependent in self.inner.neighbors_directed(dependency, Incoming) {
                let slot = &mut fill[dependent.index()];
                by_label[*slot] = index_u32(dependency);
                *slot += 1;
            }
        }
        let order = kahn(&mut pending, |node, visit| {
            for dependency in &by_label[starts[node]..starts[node + 1]] {
                visit(*dependency as usize);
            }
        });
        self.finish_visit(order)
    }

    /// One cycle of the graph, if it has any: labels such that each depends
    /// on the next and the last on the first (a self-dependent task is a
    /// cycle of one), starting from the smallest of them.
    ///
    /// The search is deterministic: it starts from the smallest label that
    /// cannot be ordered and keeps following the first dependency (by name,
    /// then label) that cannot be ordered either, until it comes back to a
    /// task it has seen.
    pub fn find_cycle(&self) -> Option<Vec<&str>> {
        // Peel off every node that a postorder could emit; each node left
        // has a dependency that is left too, so a walk among them must close
        // a cycle.
        let mut pending: Vec<u32> = vec![0; self.len()];
        for edge in self.inner.raw_edges() {
            pending[edge.source().index()] += 1;
        }
        let emitted = kahn(&mut pending, |node, visit| {
            for dependent in self
                .inner
                .neighbors_directed(NodeIndex::new(node), Incoming)
            {
                visit(dependent.index());
            }
        });
        if emitted.len() == self.len() {
            return None;
        }
        let left_over = |node: NodeIndex<u32>| pending[node.index()] > 0;
        const UNSEEN: usize = usize::MAX;
        let mut position = vec![UNSEEN; self.len()];
        let mut path: Vec<NodeIndex<u32>> = Vec::new();
        let mut node = self.inner.node_indices().find(|n| left_over(*n))?;
        while position[node.index()] == UNSEEN {
            position[node.index()] = path.len();
            path.push(node);
            node = self
                .inner
                .neighbors_directed(node, Outgoing)
                .find(|n| left_over(*n))?;
        }
        let mut cycle = path.split_off(position[node.index()]);
        let smallest = cycle
            .iter()
            .enumerate()
            .min_by_key(|(_, n)| n.index())
            .map_or(0, |(i, _)| i);
        cycle.rotate_left(smallest);
        Some(cycle.into_iter().map(|n| self.label(n)).collect())
    }

    fn label(&self, node: NodeIndex<u32>) -> &str {
        &self.inner[node]
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |name| name)
    }

    /// Looks up labels, failing with all unknown ones named.
    fn resolve<'a>(
        &self,
        labels: impl IntoIterator<Item = &'a str>,
        operation: &str,
    ) -> Result<Vec<NodeIndex<u32>>> {
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for label in labels {
            match self.index.get(label) {
                Some(node) => found.push(*node),
                None => unknown.push(label),
            }
        }
        if unknown.is_empty() {
            return Ok(found);
        }
        unknown.sort_unstable();
        unknown.dedup();
        let listed: Vec<String> = unknown.iter().map(|label| format!("`{label}`")).collect();
        Err(Error::new(ErrorKind::Verification(format!(
            "unknown tasks in {operation}: {}",
            listed.join(", ")
        ))))
    }

    /// The subgraph of the nodes marked in `keep` (indexed by node) and
    /// the edges between them. The renumbering keeps the relative order of
    /// nodes and of edges, so the invariants hold without sorting again.
    fn induced(&self, keep: &[bool]) -> Graph {
        let kept_nodes = keep.iter().filter(|k| **k).count();
        if kept_nodes == self.len() {
            return self.clone();
        }
        let kept_edges = self
            .inner
            .raw_edges()
            .iter()
            .filter(|edge| keep[edge.source().index()] && keep[edge.target().index()])
            .count();
        let mut renumber = vec![NodeIndex::end(); self.len()];
        let mut inner = DiGraph::with_capacity(kept_nodes, kept_edges);
        let mut index =
            LabelMap::with_capacity_and_hasher(kept_nodes, BuildHasherDefault::default());
        for (old, label) in self.inner.node_indices().zip(self.labels_arc()) {
            if keep[old.index()] {
                let new = inner.add_node(Arc::clone(label));
                index.insert(Arc::clone(label), new);
                renumber[old.index()] = new;
            }
        }
        for edge in self.inner.raw_edges() {
            let (left, right) = (edge.source().index(), edge.target().index());
            if keep[left] && keep[right] {
                inner.add_edge(renumber[left], renumber[right], edge.weight);
            }
        }
        Graph {
            inner,
            names: Arc::clone(&self.names),
            index,
        }
    }

    fn labels_arc(&self) -> impl Iterator<Item = &Arc<str>> {
        self.inner.raw_nodes().iter().map(|node| &node.weight)
    }

    fn finish_visit(&self, order: Vec<usize>) -> Result<Vec<&str>> {
        if order.len() == self.len() {
            return Ok(order
                .into_iter()
                .map(|n| self.label(NodeIndex::new(n)))
                .collect());
        }
        let mut labels: Vec<String> = self
            .find_cycle()
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if let Some(first) = labels.first().cloned() {
            labels.push(first);
        }
        Err(ErrorKind::Cycle { labels }.into())
    }
}

/// Kahn's algorithm, first in first out. `pending[n]` counts the
/// predecessors of `n` still to be emitted; `successors(n, visit)` calls
/// `visit` on each successor of `n` once per edge, in the order they should
/// be considered. Returns the emitted nodes, which are all of them unless
/// there is a cycle; `pending` is left non-zero exactly for the rest.
fn kahn(
    pending: &mut [u32],
    mut successors: impl FnMut(usize, &mut dyn FnMut(usize)),
) -> Vec<usize> {
    // The output doubles as the queue: nodes leave it in the order they
    // joined it.
    let mut order: Vec<usize> = (0..pending.len()).filter(|n| pending[*n] == 0).collect();
    order.reserve(pending.len() - order.len());
    let mut head = 0;
    while let Some(&node) = order.get(head) {
        head += 1;
        successors(node, &mut |next| {
            pending[next] -= 1;
            if pending[next] == 0 {
                order.push(next);
            }
        });
    }
    order
}

fn index_u32(node: NodeIndex<u32>) -> u32 {
    // Node counts are checked against u32 range at construction.
    node.index() as u32
}

/// Petgraph's u32 indices reserve `u32::MAX` as "no index".
fn check_index_range(count: usize, what: &str) -> Result<()> {
    if count >= u32::MAX as usize {
        return Err(Error::new(ErrorKind::Verification(format!(
            "too many {what} for one graph: {count}"
        ))));
    }
    Ok(())
}

/// A fast, non-cryptographic hasher for labels and names, which come from
/// the project itself rather than from an adversary. It folds the bytes in
/// eight at a time with a multiply and finishes with a full avalanche, so
/// both the low bits (bucket) and the high bits (control byte) are mixed.
#[derive(Default, Clone, Copy)]
struct LabelHasher(u64);

impl LabelHasher {
    const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(Self::MULTIPLIER);
    }
}

impl Hasher for LabelHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        // The finaliser of MurmurHash3.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        x ^ (x >> 33)
    }
}

impl PartialEq for Graph {
    /// Graphs are equal when they have the same labels and the same edges.
    fn eq(&self, other: &Graph) -> bool {
        self.labels().eq(other.labels()) && self.edges().eq(other.edges())
    }
}

impl Eq for Graph {}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph")
            .field("nodes", &self.labels().collect::<Vec<_>>())
            .field("edges", &self.edges().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests;
