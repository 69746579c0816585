//! The build context of an in-tree docker image, and the hash that names
//! it.
//!
//! A docker image task is cached under the SHA-256 of its context archive:
//! the uncompressed tar stream (see [`super::archive`]) of
//!
//! - every file under the image's directory, found by walking the disk
//!   (untracked files count; symlinked files are read through, symlinked
//!   directories are not entered), with each file's own mode bits;
//! - the Dockerfile, rewritten: `# %ARG NAME` lines are dropped and `$NAME`
//!   in later lines is replaced by the argument's value;
//! - the files that `# %include PATH` lines name, under `topsrcdir/PATH`
//!   (directories recursively);
//! - for a `# %include-run-task` line, the run-task scripts, with `COPY`
//!   lines that install them appended to the Dockerfile.
//!
//! Entries are ordered by archive path. The run-task scripts belong to the
//! taskgraph distribution, so they come from a directory the user
//! configures rather than from this crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use sha2::{Digest, Sha256};

use super::archive::TarWriter;
use super::path::join;
use crate::error::{Error, Result};

/// The run-task files an image with `# %include-run-task` receives, by
/// archive path, with their file names in the run-task directory.
const RUN_TASK_FILES: [(&str, &str); 4] = [
    ("run-task/fetch-content", "fetch-content"),
    ("run-task/hgrc", "hgrc"),
    ("run-task/robustcheckout.py", "robustcheckout.py"),
    ("run-task/run-task", "run-task"),
];

/// The Dockerfile lines that install the run-task files. The last two
/// are one element in the reference, which changes nothing in the bytes.
const RUN_TASK_SNIPPET: &str = "\
COPY run-task/run-task /usr/local/bin/run-task
COPY run-task/fetch-content /usr/local/bin/fetch-content
COPY run-task/robustcheckout.py /usr/local/mercurial/robustcheckout.py
COPY run-task/hgrc /etc/mercurial/hgrc.d/mozilla.rc
";

/// What to build a context from.
#[derive(Debug, Clone, Copy)]
pub struct ContextSpec<'a> {
    /// The repository root, against which includes are resolved.
    pub topsrcdir: &'a Path,
    /// The image directory, relative to `topsrcdir`.
    pub context_dir: &'a str,
    /// The `# %ARG` values.
    pub args: &'a [(String, String)],
    /// Where the run-task files are, for `# %include-run-task`.
    pub run_task_dir: Option<&'a Path>,
}

/// Where an archive entry's bytes come from.
#[derive(Debug)]
enum Source {
    File(PathBuf),
    /// The rewritten Dockerfile, archived with mode 0644.
    Dockerfile(Vec<u8>),
}

/// The SHA-256 of the context archive, as hex.
pub fn context_hash(spec: &ContextSpec<'_>) -> Result<String> {
    let mut hasher = HashingWriter(Sha256::new());
    write_context(spec, &mut hasher)?;
    Ok(format!("{:x}", hasher.0.finalize()))
}

/// Writes the uncompressed context archive to `out`.
pub fn write_context<W: std::io::Write>(spec: &ContextSpec<'_>, out: W) -> Result<()> {
    let entries = context_entries(spec)?;
    let mut tar = TarWriter::new(out);
    for (archive_path, source) in &entries {
        match source {
            Source::File(path) => {
                let (mode, contents) = read_with_mode(path)?;
                tar.append_file(archive_path, mode, &contents)
                    .map_err(|e| Error::io(path, e))?;
            }
            Source::Dockerfile(contents) => {
                tar.append_file(archive_path, 0o644, contents)
                    .map_err(|e| Error::io(Path::new(archive_path), e))?;
            }
        }
    }
    tar.finish()
        .map_err(|e| Error::io(Path::new(spec.context_dir), e))?;
    Ok(())
}

/// Every entry of the archive, keyed (and so ordered) by archive path.
fn context_entries(spec: &ContextSpec<'_>) -> Result<BTreeMap<String, Source>> {
    let context_dir = spec.topsrcdir.join(spec.context_dir);
    let mut entries = BTreeMap::new();
    for (relative, path) in walk_files(&context_dir)? {
        entries.insert(relative, Source::File(path));
    }

    let dockerfile_path = context_dir.join("Dockerfile");
    let text =
        std::fs::read_to_string(&dockerfile_path).map_err(|e| Error::io(&dockerfile_path, e))?;
    let rewritten =
        rewrite_dockerfile(spec, &text, &mut entries).map_err(|e| e.with_file(&dockerfile_path))?;
    entries.insert(
        "Dockerfile".to_owned(),
        Source::Dockerfile(rewritten.into_bytes()),
    );
    Ok(entries)
}

/// Applies `# %ARG`, `# %include` and `# %include-run-task`, adding the
/// included files to `entries`.
fn rewrite_dockerfile(
    spec: &ContextSpec<'_>,
    text: &str,
    entries: &mut BTreeMap<String, Source>,
) -> Result<String> {
    let mut replacements: Vec<(Regex, String)> = Vec::new();
    let mut out = String::with_capacity(text.len());

    for line in universal_lines(text) {
        if let Some(rest) = line.strip_prefix("# %ARG") {
            replacements.push(arg_replacement(spec, rest)?);
            continue;
        }

        let mut line = line.to_owned();
        for (pattern, value) in &replacements {
            line = pattern.replace_all(&line, value.as_str()).into_owned();
        }
        out.push_str(&line);

        if !line.starts_with("# %include") {
            continue;
        }
        if line.trim() == "# %include-run-task" {
            out.push_str(RUN_TASK_SNIPPET);
            add_run_task_files(spec, entries)?;
            continue;
        }
        // The path starts after `# %include `, whatever that character is.
        let include: String = line.chars().skip("# %include ".len()).collect();
        add_include(spec, include.trim(), entries)?;
    }
    Ok(out)
}

/// The pattern and value for a `# %ARG NAME` line (`rest` follows
/// `# %ARG`). The name is used as a regular expression, as the reference
/// does; in practice names are plain words.
fn arg_replacement(spec: &ContextSpec<'_>, rest: &str) -> Result<(Regex, String)> {
    let name: String = rest.chars().skip(1).collect::<String>().trim().to_owned();
    let Some((_, value)) = spec.args.iter().find(|(arg, _)| *arg == name) else {
        return Err(Error::transform(format!(
            "the Dockerfile needs the argument `{name}` (`# %ARG {name}`), and `args` does not give it"
        ))
        .at_field("args"));
    };
    let pattern = Regex::new(&format!(r"\${name}\b")).map_err(|e| {
        Error::transform(format!("`# %ARG {name}`: not a usable argument name: {e}"))
    })?;
    Ok((pattern, expand_template(value)?))
}

/// Python's `re.sub` reads its replacement as a template: backslash
/// escapes are interpreted. Group references cannot mean anything here
/// (the pattern has no groups), so the reference fails on them as we do.
fn expand_template(value: &str) -> Result<String> {
    if !value.contains('\\') {
        return Ok(value.replace('$', "$$"));
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('v') => out.push('\x0b'),
            Some('a') => out.push('\x07'),
            Some('b') => out.push('\x08'),
            Some('\\') => out.push('\\'),
            Some(other) if other.is_ascii_alphanumeric() => {
                return Err(Error::transform(format!(
                    "the argument value `{value}` holds the escape `\\{other}`, which a \
                     Dockerfile substitution cannot use"
                ))
                .at_field("args"));
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => {
                return Err(Error::transform(format!(
                    "the argument value `{value}` ends in a lone backslash"
                ))
                .at_field("args"));
            }
        }
    }
    Ok(out.replace('$', "$$"))
}

fn add_run_task_files(
    spec: &ContextSpec<'_>,
    entries: &mut BTreeMap<String, Source>,
) -> Result<()> {
    let Some(dir) = spec.run_task_dir else {
        return Err(Error::config(
            "the Dockerfile has `# %include-run-task`, which adds the run-task scripts to the \
             image, and no run-task directory is configured: set GRAPHGEN_RUN_TASK_DIR or \
             `graphgen.run-task-dir` in config.yml to the directory holding run-task, \
             fetch-content, hgrc and robustcheckout.py",
        ));
    };
    for (archive_path, file_name) in RUN_TASK_FILES {
        let path = dir.join(file_name);
        if !path.is_file() {
            return Err(Error::config(format!(
                "`# %include-run-task` needs `{}`, which does not exist",
                path.display()
            )));
        }
        entries.insert(archive_path.to_owned(), Source::File(path));
    }
    Ok(())
}

/// Adds the file or directory a `# %include` line names.
fn add_include(
    spec: &ContextSpec<'_>,
    include: &str,
    entries: &mut BTreeMap<String, Source>,
) -> Result<()> {
    if include.starts_with('/') {
        return Err(Error::transform(format!(
            "`# %include {include}`: an include path cannot be absolute"
        )));
    }
    let Some(resolved) = normalize_inside(spec.topsrcdir, include) else {
        return Err(Error::transform(format!(
            "`# %include {include}`: the path leaves the repository"
        )));
    };
    let archive_base = join("topsrcdir", include);
    if resolved.is_dir() {
        for (relative, path) in walk_files(&resolved)? {
            entries.insert(join(&archive_base, &relative), Source::File(path));
        }
    } else if resolved.exists() {
        entries.insert(archive_base, Source::File(resolved));
    } else {
        return Err(Error::transform(format!(
            "`# %include {include}`: `{}` does not exist",
            resolved.display()
        )));
    }
    Ok(())
}

/// `topsrcdir/relative` with `.` and `..` folded away, or None when the
/// result is not inside `topsrcdir`.
fn normalize_inside(topsrcdir: &Path, relative: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = Vec::new();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    let mut path = topsrcdir.to_owned();
    path.extend(parts);
    Some(path)
}

/// Every file below `dir`, as (path relative to `dir`, full path).
/// Symlinks to files are files; symlinks to directories are not entered,
/// as `os.walk` does not enter them.
fn walk_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut pending = vec![(String::new(), dir.to_owned())];
    while let Some((prefix, current)) = pending.pop() {
        let listing = std::fs::read_dir(&current).map_err(|e| Error::io(&current, e))?;
        for entry in listing {
            let entry = entry.map_err(|e| Error::io(&current, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = join(&prefix, &name);
            let path = entry.path();
            let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if file_type.is_dir() {
                pending.push((relative, path));
            } else if file_type.is_symlink() && path.is_dir() {
                continue;
            } else {
                found.push((relative, path));
            }
        }
    }
    Ok(found)
}

/// A file's permission bits (following symlinks) and contents.
fn read_with_mode(path: &Path) -> Result<(u32, Vec<u8>)> {
    let contents = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    Ok((file_mode(&metadata), contents))
}

#[cfg(unix)]
fn file_mode(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode()
}

/// Without Unix modes, files are archived as ordinary readable files.
#[cfg(not(unix))]
fn file_mode(metadata: &std::fs::Metadata) -> u32 {
    if metadata.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

/// Lines as Python's text mode reads them: `\r\n` and `\r` become `\n`,
/// and each line keeps its ending.
fn universal_lines(text: &str) -> impl Iterator<Item = String> + '_ {
    let normalized = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    };
    let lines: Vec<String> = normalized
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect();
    lines.into_iter()
}

/// Feeds written bytes into a hash.
struct HashingWriter(Sha256);

impl std::io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(path: &Path, contents: &str, mode: u32) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A repository with one image using every Dockerfile directive.
    fn sample_repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let image = root.join("taskcluster/docker/base");
        write(
            &image.join("Dockerfile"),
            "FROM $BASE_IMAGE\n# %ARG BASE_IMAGE\nFROM $BASE_IMAGE:$BASE_IMAGEx\n\
             # %include scripts/setup.sh\n# %include tools\nRUN /setup.sh\r\nVOLUME /builds\n",
            0o644,
        );
        write(&image.join("system-setup.sh"), "apt-get update\n", 0o755);
        write(&image.join("conf/a.conf"), "a=1\n", 0o600);
        write(&root.join("scripts/setup.sh"), "#!/bin/sh\n", 0o755);
        write(&root.join("tools/x/y.txt"), "y\n", 0o644);
        write(&root.join("tools/z.txt"), "z\n", 0o664);
        dir
    }

    fn spec<'a>(root: &'a Path, args: &'a [(String, String)]) -> ContextSpec<'a> {
        ContextSpec {
            topsrcdir: root,
            context_dir: "taskcluster/docker/base",
            args,
            run_task_dir: None,
        }
    }

    fn debian_args() -> Vec<(String, String)> {
        vec![("BASE_IMAGE".to_owned(), "debian:12".to_owned())]
    }

    #[test]
    fn entries_are_the_image_directory_and_its_includes() {
        let repo = sample_repo();
        let args = debian_args();
        let entries = context_entries(&spec(repo.path(), &args)).unwrap();
        let names: Vec<&str> = entries.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "Dockerfile",
                "conf/a.conf",
                "system-setup.sh",
                "topsrcdir/scripts/setup.sh",
                "topsrcdir/tools/x/y.txt",
                "topsrcdir/tools/z.txt",
            ]
        );
    }

    #[test]
    fn args_are_substituted_after_their_declaration_only() {
        let repo = sample_repo();
        let args = debian_args();
        let entries = context_entries(&spec(repo.path(), &args)).unwrap();
        let Some(Source::Dockerfile(text)) = entries.get("Dockerfile") else {
            panic!("the Dockerfile is rewritten");
        };
        let text = String::from_utf8(text.clone()).unwrap();
        assert!(text.starts_with("FROM $BASE_IMAGE\nFROM debian:12:$BASE_IMAGEx\n"));
        assert!(!text.contains("%ARG"));
        assert!(text.contains("RUN /setup.sh\nVOLUME"), "CRLF is read as LF");
    }

    #[test]
    fn a_missing_argument_is_an_error() {
        let repo = sample_repo();
        let err = context_hash(&spec(repo.path(), &[])).unwrap_err();
        assert!(err.to_string().contains("BASE_IMAGE"), "{err}");
        assert_eq!(err.location().field.as_deref(), Some("args"));
    }

    #[test]
    fn includes_must_stay_inside_the_repository() {
        let repo = sample_repo();
        let dockerfile = repo.path().join("taskcluster/docker/base/Dockerfile");
        for include in ["../outside", "/etc/passwd", "missing/file"] {
            write(
                &dockerfile,
                &format!("FROM x\n# %include {include}\n"),
                0o644,
            );
            assert!(context_hash(&spec(repo.path(), &[])).is_err(), "{include}");
        }
    }

    #[test]
    fn run_task_needs_a_configured_directory() {
        let repo = sample_repo();
        let dockerfile = repo.path().join("taskcluster/docker/base/Dockerfile");
        write(&dockerfile, "FROM x\n# %include-run-task\n", 0o644);
        let err = context_hash(&spec(repo.path(), &[])).unwrap_err();
        assert!(err.to_string().contains("GRAPHGEN_RUN_TASK_DIR"), "{err}");

        let run_task = tempfile::tempdir().unwrap();
        for (_, name) in RUN_TASK_FILES {
            write(&run_task.path().join(name), name, 0o755);
        }
        let mut with_dir = spec(repo.path(), &[]);
        with_dir.run_task_dir = Some(run_task.path());
        let entries = context_entries(&with_dir).unwrap();
        assert!(entries.contains_key("run-task/robustcheckout.py"));
        let Some(Source::Dockerfile(text)) = entries.get("Dockerfile") else {
            panic!("the Dockerfile is rewritten");
        };
        assert!(String::from_utf8_lossy(text).ends_with(RUN_TASK_SNIPPET));
    }

    #[test]
    fn replacement_values_are_python_templates() {
        assert_eq!(expand_template("a$b").unwrap(), "a$$b");
        assert_eq!(expand_template(r"a\tb\\c\.d").unwrap(), "a\tb\\c\\.d");
        assert!(expand_template(r"\1").is_err());
        assert!(expand_template("end\\").is_err());
    }

    // Computed once with the reference's `generate_context_hash` on the
    // repository `sample_repo` builds.
    #[test]
    fn known_context_hash() {
        let repo = sample_repo();
        let args = debian_args();
        assert_eq!(
            context_hash(&spec(repo.path(), &args)).unwrap(),
            "7b2df0fa034b982f8f2d5f493fab5bf52c55489825a4200d0f03992146349334"
        );
    }
}
