//! The scripts in taskcluster/scripts/run-task, run for real: fetch-content
//! against a loopback HTTP server started by each test, run-task calling
//! fetch-content, and the Mercurial extension compiling (and, where `hg` is
//! installed, checking a repository out).
//!
//! They need python3, git and zstd, which `.ci/run` installs where missing.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../taskcluster/scripts/run-task")
}

/// Most requests a test server answers before it stops by itself.
const MAX_REQUESTS: usize = 100;

/// An HTTP server on 127.0.0.1 serving fixed bodies by path, one
/// connection at a time, until it is dropped or has answered
/// `MAX_REQUESTS` requests.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(files: BTreeMap<String, Vec<u8>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, requests) = (Arc::clone(&stop), Arc::clone(&requests));
            std::thread::spawn(move || {
                for stream in listener.incoming().take(MAX_REQUESTS) {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // A client that goes away mid-request is its own problem.
                        let _ = answer(stream, &files, &requests);
                    }
                }
            })
        };
        Server {
            addr,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    fn requested(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(
    mut stream: TcpStream,
    files: &BTreeMap<String, Vec<u8>>,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    requests.lock().unwrap().push(path.clone());
    let (status, body): (&str, &[u8]) = match files.get(&path) {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found\n"),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

/// A command with no Taskcluster variables and no HTTP proxy, so that only
/// what a test sets reaches the script and every request stays local.
fn clean_command(program: &str) -> Command {
    let mut command = Command::new(program);
    for var in [
        "MOZ_FETCHES",
        "MOZ_FETCHES_DIR",
        "TASKCLUSTER_ROOT_URL",
        "TASKCLUSTER_PROXY_URL",
        "TASKCLUSTER_CACHES",
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        command.env_remove(var);
    }
    command.env("no_proxy", "*");
    command
}

fn fetch_content(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut command = clean_command("python3");
    command
        .arg(scripts_dir().join("fetch-content"))
        .args(args)
        .current_dir(cwd);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("python3 runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
}

/// Runs a Python snippet with arguments; returns its standard output.
fn python(script: &str, args: &[&str]) -> String {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert_success(&output);
    String::from_utf8(output.stdout).unwrap()
}

fn sha256(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    fs::write(&path, data).unwrap();
    python(
        "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
        &[path.to_str().unwrap()],
    )
    .trim()
    .to_owned()
}

/// Writes, to the path it is given, a tar (gzipped when the second argument
/// is `w:gz`) of `top/`, `top/a.txt`, `top/bin/` and an executable
/// `top/bin/run.sh`.
const MAKE_TAR: &str = r##"
import io, sys, tarfile
members = [
    ("top", None, 0o755),
    ("top/a.txt", b"alpha\n", 0o644),
    ("top/bin", None, 0o755),
    ("top/bin/run.sh", b"#!/bin/sh\n", 0o755),
]
with tarfile.open(sys.argv[1], sys.argv[2]) as tar:
    for name, data, mode in members:
        info = tarfile.TarInfo(name)
        info.mode = mode
        if data is None:
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
"##;

/// The same tree as `MAKE_TAR`'s, as a zip made on Unix.
const MAKE_ZIP: &str = r##"
import sys, zipfile
members = [
    ("top/", b"", 0o40755),
    ("top/a.txt", b"alpha\n", 0o100644),
    ("top/bin/", b"", 0o40755),
    ("top/bin/run.sh", b"#!/bin/sh\n", 0o100755),
]
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, data, mode in members:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = mode << 16
        z.writestr(info, data)
"##;

/// Prints a tar archive's members: kind, name, octal mode, file content.
const LIST_TAR: &str = r##"
import sys, tarfile
with tarfile.open(sys.argv[1]) as tar:
    for m in tar:
        data = tar.extractfile(m).read().decode(errors="replace") if m.isfile() else ""
        print("%s %s %o %r" % ("d" if m.isdir() else "f", m.name, m.mode, data))
"##;

fn sample_tar_gz() -> Vec<u8> {
    sample_archive(MAKE_TAR, &["w:gz"])
}

/// `sample_tar_gz`'s tree as a .tar.zst, compressed by the zstd program.
fn sample_tar_zst() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("archive.tar");
    python(MAKE_TAR, &[tar.to_str().unwrap(), "w"]);
    let status = Command::new("zstd")
        .arg("-q")
        .arg(&tar)
        .status()
        .expect("zstd runs");
    assert!(status.success());
    fs::read(dir.path().join("archive.tar.zst")).unwrap()
}

fn sample_zip() -> Vec<u8> {
    sample_archive(MAKE_ZIP, &[])
}

fn sample_archive(script: &str, args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive");
    let mut all_args = vec![path.to_str().unwrap()];
    all_args.extend(args);
    python(script, &all_args);
    fs::read(path).unwrap()
}

/// The members of a tar archive (any compression, .tar.zst through the
/// zstd program), one line each: kind, name, octal mode and file content.
fn tar_listing(path: &Path) -> Vec<String> {
    let mut path = path.to_owned();
    let scratch = tempfile::tempdir().unwrap();
    if path.extension().is_some_and(|e| e == "zst") {
        let plain = scratch.path().join("plain.tar");
        let status = Command::new("zstd")
            .args(["-q", "-d", "-o"])
            .arg(&plain)
            .arg(&path)
            .status()
            .expect("zstd runs");
        assert!(status.success());
        path = plain;
    }
    let out = python(LIST_TAR, &[path.to_str().unwrap()]);
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// The entries of a directory tree, relative and sorted, directories with
/// a trailing slash.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            if path.is_dir() {
                out.push(format!("{relative}/"));
                walk(root, &path, out);
            } else {
                out.push(relative);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn files(entries: &[(&str, Vec<u8>)]) -> BTreeMap<String, Vec<u8>> {
    entries
        .iter()
        .map(|(path, body)| ((*path).to_owned(), body.clone()))
        .collect()
}

#[test]
fn static_url_writes_a_verified_download() {
    let body = b"graphgen fetch test\n".to_vec();
    let server = Server::start(files(&[("/files/hello.txt", body.clone())]));
    let work = tempfile::tempdir().unwrap();
    let size = body.len().to_string();
    let output = fetch_content(
        &[
            "static-url",
            "--sha256",
            &sha256(&body),
            "--size",
            &size,
            "-H",
            "X-Test: yes",
            &server.url("/files/hello.txt"),
            "artifacts/hello.txt",
        ],
        &[],
        work.path(),
    );
    assert_success(&output);
    assert_eq!(
        fs::read(work.path().join("artifacts/hello.txt")).unwrap(),
        body
    );
    assert_eq!(tree(work.path()), ["artifacts/", "artifacts/hello.txt"]);
    assert_eq!(server.requested(), ["/files/hello.txt"]);
}

#[test]
fn static_url_rejects_a_wrong_sha256_or_size_and_leaves_nothing() {
    let body = b"the real content\n".to_vec();
    let server = Server::start(files(&[("/f.bin", body.clone())]));
    let work = tempfile::tempdir().unwrap();
    let size = body.len().to_string();
    let wrong_sha = sha256(b"other content");
    let wrong_size = (body.len() + 1).to_string();
    for (sha, size, complaint) in [
        (wrong_sha.as_str(), size.as_str(), "sha256 mismatch"),
        (&sha256(&body), wrong_size.as_str(), "size mismatch"),
    ] {
        let output = fetch_content(
            &[
                "static-url",
                "--sha256",
                sha,
                "--size",
                size,
                &server.url("/f.bin"),
                "out/f.bin",
            ],
            &[],
            work.path(),
        );
        assert!(!output.status.success(), "a bad download is refused");
        assert!(stderr(&output).contains(complaint), "{}", stderr(&output));
        assert!(!work.path().join("out/f.bin").exists());
        // No partial download or scratch directory is left either.
        assert_eq!(tree(work.path()), ["out/"]);
    }

    let missing = fetch_content(
        &["static-url", &server.url("/nothing.bin"), "out/nothing.bin"],
        &[],
        work.path(),
    );
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("404"), "{}", stderr(&missing));
    assert_eq!(tree(work.path()), ["out/"]);
}

#[test]
fn static_url_repacks_with_strip_components_and_add_prefix() {
    let tar_gz = sample_tar_gz();
    let server = Server::start(files(&[("/dl/tool-1.0.tar.gz", tar_gz.clone())]));
    let work = tempfile::tempdir().unwrap();
    let size = tar_gz.len().to_string();
    let output = fetch_content(
        &[
            "static-url",
            "--sha256",
            &sha256(&tar_gz),
            "--size",
            &size,
            "--strip-components",
            "1",
            "--add-prefix",
            "pkg/",
            &server.url("/dl/tool-1.0.tar.gz"),
            "artifacts/tool.tar.gz",
        ],
        &[],
        work.path(),
    );
    assert_success(&output);
    assert_eq!(tree(work.path()), ["artifacts/", "artifacts/tool.tar.gz"]);
    assert_eq!(
        tar_listing(&work.path().join("artifacts/tool.tar.gz")),
        [
            "d pkg/bin 755 ''",
            "f pkg/a.txt 644 'alpha\\n'",
            "f pkg/bin/run.sh 755 '#!/bin/sh\\n'",
        ]
    );

    // Stripping more components than a file has is an error, not a loss.
    let output = fetch_content(
        &[
            "static-url",
            "--strip-components",
            "3",
            &server.url("/dl/tool-1.0.tar.gz"),
            "artifacts/too-far.tar.gz",
        ],
        &[],
        work.path(),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("without a name"),
        "{}",
        stderr(&output)
    );
    assert_eq!(tree(work.path()), ["artifacts/", "artifacts/tool.tar.gz"]);
}

#[test]
fn static_url_repacks_a_zip_into_a_tar_zst() {
    let zip = sample_zip();
    let server = Server::start(files(&[("/tool.zip", zip.clone())]));
    let work = tempfile::tempdir().unwrap();
    let output = fetch_content(
        &[
            "static-url",
            "--sha256",
            &sha256(&zip),
            "--strip-components",
            "1",
            &server.url("/tool.zip"),
            "tool.tar.zst",
        ],
        &[],
        work.path(),
    );
    assert_success(&output);
    assert_eq!(
        tar_listing(&work.path().join("tool.tar.zst")),
        [
            "d bin 755 ''",
            "f a.txt 644 'alpha\\n'",
            "f bin/run.sh 755 '#!/bin/sh\\n'",
        ]
    );
}

/// A task-artifacts setup: artifacts of task `T1` on the server's queue
/// paths, its chain-of-trust.json, and one private artifact behind the
/// proxy, which the server serves under `/proxy`.
fn artifact_server(notes_sha: &str) -> Server {
    let queue = "/api/queue/v1/task/T1/artifacts";
    let cot = format!(
        "{{\"artifacts\": {{\"public/build/notes.txt\": {{\"sha256\": \"{notes_sha}\"}}}}}}"
    );
    Server::start(files(&[
        (
            &format!("{queue}/public/build/target.tar.gz"),
            sample_tar_gz(),
        ),
        (&format!("{queue}/public/build/tool.zip"), sample_zip()),
        (
            &format!("{queue}/public/build/tool.tar.zst"),
            sample_tar_zst(),
        ),
        (
            &format!("{queue}/public/build/notes.txt"),
            b"notes\n".to_vec(),
        ),
        (
            &format!("{queue}/public/chain-of-trust.json"),
            cot.into_bytes(),
        ),
        (
            &format!("/proxy{queue}/private/secret.txt"),
            b"secret\n".to_vec(),
        ),
    ]))
}

#[test]
fn task_artifacts_extracts_archives_and_places_files() {
    let server = artifact_server(&sha256(b"notes\n"));
    let work = tempfile::tempdir().unwrap();
    let fetches = r#"[
        {"artifact": "public/build/target.tar.gz", "extract": true, "task": "T1"},
        {"artifact": "public/build/tool.zip", "extract": true, "task": "T1", "dest": "zip"},
        {"artifact": "public/build/tool.tar.zst", "extract": true, "task": "T1", "dest": "zst"},
        {"artifact": "public/build/target.tar.gz", "extract": false, "task": "T1", "dest": "kept"},
        {"artifact": "public/build/notes.txt", "extract": true, "task": "T1", "dest": "docs",
         "verify-hash": true},
        {"artifact": "private/secret.txt", "extract": false, "task": "T1"}
    ]"#;
    let proxy = server.url("/proxy");
    let output = fetch_content(
        &["task-artifacts"],
        &[
            ("MOZ_FETCHES", fetches),
            ("MOZ_FETCHES_DIR", "fetches"),
            ("TASKCLUSTER_ROOT_URL", &server.base()),
            ("TASKCLUSTER_PROXY_URL", &proxy),
        ],
        work.path(),
    );
    assert_success(&output);
    let fetched = work.path().join("fetches");
    assert_eq!(
        tree(&fetched),
        [
            "docs/",
            "docs/notes.txt",
            "kept/",
            "kept/target.tar.gz",
            "secret.txt",
            "top/",
            "top/a.txt",
            "top/bin/",
            "top/bin/run.sh",
            "zip/",
            "zip/top/",
            "zip/top/a.txt",
            "zip/top/bin/",
            "zip/top/bin/run.sh",
            "zst/",
            "zst/top/",
            "zst/top/a.txt",
            "zst/top/bin/",
            "zst/top/bin/run.sh",
        ]
    );
    assert_eq!(fs::read(fetched.join("top/a.txt")).unwrap(), b"alpha\n");
    assert_eq!(mode(&fetched.join("top/bin/run.sh")), 0o755);
    assert_eq!(mode(&fetched.join("zip/top/bin/run.sh")), 0o755);
    assert_eq!(fs::read(fetched.join("zst/top/a.txt")).unwrap(), b"alpha\n");
    assert_eq!(
        fs::read(fetched.join("docs/notes.txt")).unwrap(),
        b"notes\n"
    );
    assert_eq!(fs::read(fetched.join("secret.txt")).unwrap(), b"secret\n");
    // Not extracted: the archive as served.
    assert_eq!(
        tar_listing(&fetched.join("kept/target.tar.gz")),
        [
            "d top 755 ''",
            "d top/bin 755 ''",
            "f top/a.txt 644 'alpha\\n'",
            "f top/bin/run.sh 755 '#!/bin/sh\\n'",
        ]
    );
    let requested = server.requested();
    assert!(
        requested
            .contains(&"/api/queue/v1/task/T1/artifacts/public/chain-of-trust.json".to_owned())
    );
    assert!(
        requested.contains(&"/proxy/api/queue/v1/task/T1/artifacts/private/secret.txt".to_owned())
    );
}

#[test]
fn task_artifacts_fails_clearly() {
    let server = artifact_server(&sha256(b"something else"));
    let work = tempfile::tempdir().unwrap();
    let root = server.base();

    // A digest that disagrees with the chain of trust.
    let output = fetch_content(
        &["task-artifacts", "-d", "fetches"],
        &[
            (
                "MOZ_FETCHES",
                r#"[{"artifact": "public/build/notes.txt", "extract": false, "task": "T1", "verify-hash": true}]"#,
            ),
            ("TASKCLUSTER_ROOT_URL", &root),
        ],
        work.path(),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("sha256 mismatch"),
        "{}",
        stderr(&output)
    );
    assert_eq!(tree(work.path()), ["fetches/"]);

    // No destination at all.
    let output = fetch_content(
        &["task-artifacts"],
        &[("MOZ_FETCHES", "[]"), ("TASKCLUSTER_ROOT_URL", &root)],
        work.path(),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("MOZ_FETCHES_DIR"),
        "{}",
        stderr(&output)
    );

    // A private artifact without the proxy.
    let output = fetch_content(
        &["task-artifacts", "-d", "fetches"],
        &[
            (
                "MOZ_FETCHES",
                r#"[{"artifact": "private/secret.txt", "extract": false, "task": "T1"}]"#,
            ),
            ("TASKCLUSTER_ROOT_URL", &root),
        ],
        work.path(),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("TASKCLUSTER_PROXY_URL"),
        "{}",
        stderr(&output)
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=graphgen",
            "-c",
            "user.email=graphgen@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert_success(&output);
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn git_checkout_archive_archives_the_revision_under_the_prefix() {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q"]);
    fs::create_dir(repo.path().join("src")).unwrap();
    fs::write(repo.path().join("README"), "first\n").unwrap();
    fs::write(repo.path().join("src/run.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(
        repo.path().join("src/run.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "first"]);
    let first = git(repo.path(), &["rev-parse", "HEAD"]);
    fs::write(repo.path().join("README"), "second\n").unwrap();
    git(repo.path(), &["commit", "-qam", "second"]);

    let work = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    let output = fetch_content(
        &[
            "git-checkout-archive",
            "--path-prefix",
            "project",
            &url,
            &first,
            "artifacts/project.tar.zst",
        ],
        &[],
        work.path(),
    );
    assert_success(&output);
    assert_eq!(
        tar_listing(&work.path().join("artifacts/project.tar.zst")),
        [
            "d project 755 ''",
            "d project/src 755 ''",
            "f project/README 644 'first\\n'",
            "f project/src/run.sh 755 '#!/bin/sh\\n'",
        ]
    );

    let output = fetch_content(
        &[
            "git-checkout-archive",
            "--include-dot-git",
            &url,
            &first,
            "artifacts/with-git.tar.zst",
        ],
        &[],
        work.path(),
    );
    assert_success(&output);
    let listing = tar_listing(&work.path().join("artifacts/with-git.tar.zst"));
    let prefix = repo.path().file_name().unwrap().to_str().unwrap();
    assert!(
        listing.contains(&format!("d {prefix}/.git 755 ''")),
        "{listing:?}"
    );

    let output = fetch_content(
        &[
            "git-checkout-archive",
            &url,
            &"0".repeat(40),
            "artifacts/missing.tar.zst",
        ],
        &[],
        work.path(),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("has no revision"),
        "{}",
        stderr(&output)
    );
    assert!(!work.path().join("artifacts/missing.tar.zst").exists());
}

/// run-task runs fetch-content from its own directory, through python3
/// (a generic-worker mount is not executable), and hands the command an
/// absolute MOZ_FETCHES_DIR that still works after --task-cwd.
#[test]
fn run_task_fetches_before_running_the_command() {
    let server = artifact_server(&sha256(b"notes\n"));
    let task = tempfile::tempdir().unwrap();
    for name in ["run-task", "fetch-content"] {
        fs::copy(scripts_dir().join(name), task.path().join(name)).unwrap();
    }
    fs::set_permissions(
        task.path().join("fetch-content"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    fs::create_dir(task.path().join("work")).unwrap();
    let output = clean_command("bash")
        .args([
            "./run-task",
            "--task-cwd",
            "work",
            "--",
            "sh",
            "-c",
            "pwd; echo \"$MOZ_FETCHES_DIR\"; cat \"$MOZ_FETCHES_DIR/notes.txt\"",
        ])
        .env(
            "MOZ_FETCHES",
            r#"[{"artifact": "public/build/notes.txt", "extract": false, "task": "T1"}]"#,
        )
        .env("MOZ_FETCHES_DIR", "fetches")
        .env("TASKCLUSTER_ROOT_URL", server.base())
        .current_dir(task.path())
        .output()
        .unwrap();
    assert_success(&output);
    let root = task.path().canonicalize().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            root.join("work").to_str().unwrap(),
            root.join("fetches").to_str().unwrap(),
            "notes",
        ]
    );
}

#[test]
fn robustcheckout_and_fetch_content_compile() {
    let cache = tempfile::tempdir().unwrap();
    for name in ["robustcheckout.py", "fetch-content"] {
        let output = Command::new("python3")
            .args(["-m", "py_compile"])
            .arg(scripts_dir().join(name))
            // Keeps __pycache__ out of the run-task directory.
            .env("PYTHONPYCACHEPREFIX", cache.path())
            .output()
            .unwrap();
        assert_success(&output);
    }
    assert!(!scripts_dir().join("__pycache__").exists());

    let hgrc = fs::read_to_string(scripts_dir().join("hgrc")).unwrap();
    assert!(hgrc.contains("robustcheckout = /usr/local/mercurial/robustcheckout.py"));
    for name in ["fetch-content", "run-task"] {
        assert_eq!(mode(&scripts_dir().join(name)), 0o755, "{name}");
    }
}

fn hg(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("hg")
        .args(["--config", "ui.username=graphgen"])
        .args(args)
        .current_dir(dir)
        .env("HGPLAIN", "1")
        .output()
        .expect("hg runs");
    assert_success(&output);
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Only where Mercurial is installed (CI does not install it).
#[test]
fn robustcheckout_checks_out_a_revision() {
    let have_hg = Command::new("hg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_hg {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipping robustcheckout_checks_out_a_revision: hg is not installed");
        }
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("source");
    fs::create_dir(&source).unwrap();
    hg(&source, &["init"]);
    fs::write(source.join("file"), "one\n").unwrap();
    hg(&source, &["commit", "-qAm", "one"]);
    let first = hg(&source, &["log", "-r", ".", "-T", "{node}"]);
    fs::write(source.join("file"), "two\n").unwrap();
    hg(&source, &["commit", "-qm", "two"]);

    let extension = format!(
        "extensions.robustcheckout={}",
        scripts_dir().join("robustcheckout.py").display()
    );
    let checkout = scratch.path().join("checkout");
    let run = |revision: &str, purge: bool| {
        let mut args = vec![
            "--config",
            &extension,
            "robustcheckout",
            "--sharebase",
            "pool",
            "--revision",
            revision,
            source.to_str().unwrap(),
            checkout.to_str().unwrap(),
        ];
        if purge {
            args.push("--purge");
        }
        hg(scratch.path(), &args)
    };
    run(&first[..12], false);
    assert_eq!(fs::read_to_string(checkout.join("file")).unwrap(), "one\n");

    let tip = hg(&source, &["log", "-r", "tip", "-T", "{node}"]);
    fs::write(checkout.join("untracked"), "x").unwrap();
    fs::write(checkout.join("file"), "local change\n").unwrap();
    run(&tip, true);
    assert_eq!(fs::read_to_string(checkout.join("file")).unwrap(), "two\n");
    assert!(!checkout.join("untracked").exists());
    assert_eq!(hg(&checkout, &["log", "-r", ".", "-T", "{node}"]), tip);
    assert_eq!(
        fs::read_dir(scratch.path().join("pool")).unwrap().count(),
        1,
        "one shared store"
    );
}
