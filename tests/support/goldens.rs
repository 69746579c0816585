//! What the golden-file tests share: copying projects into scratch
//! checkouts, and making optimized graphs comparable.

use std::fs;
use std::path::Path;

use taskgraph::{Value, python};

/// Copies `from` into `to`, leaving out the top-level entries named in
/// `skip`, each file with the mode a git checkout gives it under the usual
/// umask (0755 if executable, else 0644), whatever this clone's umask made
/// of it: docker context hashes include file modes.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if skip.iter().any(|s| entry.file_name() == *s) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, &[]);
        } else {
            copy_file_as_checked_out(&entry.path(), &target);
        }
    }
}

fn copy_file_as_checked_out(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::copy(from, to).unwrap();
    let executable = fs::metadata(from).unwrap().permissions().mode() & 0o111 != 0;
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).unwrap();
}

/// A graph keyed by task id (pretty JSON), with every task id replaced by
/// `<task LABEL>` and the lists ordered by task id (`task.dependencies`),
/// which is random, sorted again.
pub fn without_task_ids(json: &str) -> String {
    let Value::Map(graph) = python::json_parse(json).unwrap() else {
        panic!("a graph is an object");
    };
    let mut text = json.to_owned();
    for (task_id, task) in graph.iter() {
        let label = task.get("label").and_then(Value::as_str).unwrap();
        text = text.replace(task_id, &format!("<task {label}>"));
    }
    let mut graph = python::json_parse(&text).unwrap();
    if let Value::Map(tasks) = &mut graph {
        for task in tasks.values_mut() {
            if let Some(Value::List(dependencies)) =
                task.get_mut("task").and_then(|t| t.get_mut("dependencies"))
            {
                dependencies.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    python::json_pretty(&graph).unwrap()
}
