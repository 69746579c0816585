//! Helpers shared by the golden-file tests and the benchmarks.

pub mod goldens;
pub mod synthetic;

pub mod shapes {
    //! Synthetic task graphs of known shape, for benchmarks and scale tests.
    //!
    //! Each generator returns plain labels and `(left, right, name)` edges,
    //! where `left` depends on `right`, ready for `taskgraph::graph::Graph::new`.
    //! Labels are zero-padded so that label order is generation order.

    /// The nodes and edges of a generated graph.
    #[derive(Debug, Clone)]
    pub struct Shape {
        /// A short name for reports, such as `chain`.
        pub name: &'static str,
        /// Every label, in generation order.
        pub nodes: Vec<String>,
        /// Every edge as `(dependent, dependency, dependency name)`.
        pub edges: Vec<(String, String, String)>,
        /// The tasks nothing depends on: following dependencies from these
        /// reaches every node.
        pub tops: Vec<String>,
        /// The tasks without dependencies: following dependents from these
        /// reaches every node.
        pub bottoms: Vec<String>,
        /// Tasks from which following dependencies reaches about half of
        /// the graph.
        pub halfway: Vec<String>,
    }

    fn label(prefix: &str, i: usize) -> String {
        format!("{prefix}-{i:06}")
    }

    /// `n` tasks, each depending on the one before it.
    pub fn chain(n: usize) -> Shape {
        let nodes: Vec<String> = (0..n).map(|i| label("chain", i)).collect();
        let edges = (1..n)
            .map(|i| (nodes[i].clone(), nodes[i - 1].clone(), "parent".to_owned()))
            .collect();
        Shape {
            name: "chain",
            tops: nodes.last().cloned().into_iter().collect(),
            bottoms: nodes.first().cloned().into_iter().collect(),
            halfway: nodes.get(n / 2).cloned().into_iter().collect(),
            nodes,
            edges,
        }
    }

    /// One root depending on `n - 2` middle tasks, each depending on one
    /// sink (`n` nodes in all, at least 2).
    pub fn fan(n: usize) -> Shape {
        let n = n.max(2);
        let root = "fan-root".to_owned();
        let sink = "fan-sink".to_owned();
        let middle: Vec<String> = (0..n - 2).map(|i| label("fan-mid", i)).collect();
        let mut edges = Vec::with_capacity(2 * middle.len());
        for task in &middle {
            edges.push((root.clone(), task.clone(), task.clone()));
            edges.push((task.clone(), sink.clone(), "sink".to_owned()));
        }
        let halfway = middle.iter().step_by(2).cloned().collect();
        let mut nodes = Vec::with_capacity(n);
        nodes.push(root.clone());
        nodes.extend(middle);
        nodes.push(sink.clone());
        Shape {
            name: "fan",
            nodes,
            edges,
            tops: vec![root],
            bottoms: vec![sink],
            halfway,
        }
    }

    /// A binary tree of `n` tasks in heap layout: task `i` depends on tasks
    /// `2i + 1` and `2i + 2` where they exist.
    pub fn binary_tree(n: usize) -> Shape {
        let nodes: Vec<String> = (0..n).map(|i| label("tree", i)).collect();
        let mut edges = Vec::with_capacity(n.saturating_sub(1));
        for (i, task) in nodes.iter().enumerate() {
            for (child, name) in [(2 * i + 1, "left"), (2 * i + 2, "right")] {
                if let Some(dep) = nodes.get(child) {
                    edges.push((task.clone(), dep.clone(), name.to_owned()));
                }
            }
        }
        let bottoms = (0..n)
            .filter(|i| 2 * i + 1 >= n)
            .map(|i| nodes[i].clone())
            .collect();
        Shape {
            name: "binary-tree",
            tops: nodes.first().cloned().into_iter().collect(),
            bottoms,
            // The left subtree of the root.
            halfway: nodes.get(1).cloned().into_iter().collect(),
            nodes,
            edges,
        }
    }

    /// `layers` layers of `width` tasks, each task depending on every task
    /// of the next layer: `layers * width` nodes and
    /// `(layers - 1) * width * width` edges.
    pub fn layered(layers: usize, width: usize) -> Shape {
        let layer: Vec<Vec<String>> = (0..layers)
            .map(|l| (0..width).map(|i| format!("layer-{l:04}-{i:04}")).collect())
            .collect();
        let mut edges = Vec::with_capacity(layers.saturating_sub(1) * width * width);
        for pair in layer.windows(2) {
            for task in &pair[0] {
                for (k, dep) in pair[1].iter().enumerate() {
                    edges.push((task.clone(), dep.clone(), format!("dep-{k}")));
                }
            }
        }
        Shape {
            name: "layered",
            tops: layer.first().cloned().unwrap_or_default(),
            bottoms: layer.last().cloned().unwrap_or_default(),
            halfway: layer.get(layers / 2).cloned().unwrap_or_default(),
            nodes: layer.into_iter().flatten().collect(),
            edges,
        }
    }

    /// The four benchmark shapes with `n` nodes each (the layered one uses
    /// layers of 100 tasks, so `n` should be a multiple of 100).
    pub fn all(n: usize) -> Vec<Shape> {
        vec![chain(n), fan(n), binary_tree(n), layered(n / 100, 100)]
    }
}
