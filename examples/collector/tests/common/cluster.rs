//! A throwaway PostgreSQL cluster for the PostgreSQL suite: initdb in a temporary directory as
//! an unprivileged user (initdb refuses root), a free loopback port, one fresh database per
//! test, and a watchdog that stops the cluster and deletes it when the test process ends.
//!
//! With `TRACELET_TEST_PG_URL` (an administrator's URL) the suite uses that server instead.
//! Nothing here skips: a cluster that cannot start fails the test that asked for it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where the tests create their databases.
struct Server {
    host: String,
    port: u16,
    user: String,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database; returns its `postgres://` URL.
pub fn fresh_database() -> String {
    let server = SERVER.get_or_init(start_or_connect);
    let name = format!(
        "tracelet_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let status = Command::new(bin_dir().join("createdb"))
        .args(["-h", &server.host, "-p", &server.port.to_string()])
        .args(["-U", &server.user, &name])
        .status()
        .expect("run createdb");
    assert!(status.success(), "createdb {name} failed");
    format!(
        "postgres://{}@{}:{}/{name}",
        server.user, server.host, server.port
    )
}

fn start_or_connect() -> Server {
    if let Ok(url) = std::env::var("TRACELET_TEST_PG_URL") {
        return parse_admin_url(&url);
    }
    start_cluster()
}

/// `postgres://user@host:port[/db]`, as test-all.sh or a developer passes it.
fn parse_admin_url(url: &str) -> Server {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .expect("TRACELET_TEST_PG_URL starts with postgres://");
    let (user, rest) = rest.split_once('@').expect("user@host:port");
    let host_port = rest.split('/').next().unwrap_or(rest);
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    Server {
        host: host.to_owned(),
        port: port.parse().expect("a port number"),
        user: user.split(':').next().unwrap_or(user).to_owned(),
    }
}

/// The PostgreSQL binaries: `TRACELET_PG_BIN`, else `pg_config --bindir`, else Debian's
/// newest `/usr/lib/postgresql/*/bin`.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TRACELET_PG_BIN") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .filter(|d| d.join("initdb").exists())
        .expect("PostgreSQL is not installed (scripts/test-all.sh installs postgresql-15)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL server binary as the unprivileged `postgres` user when we are root.
fn server_command(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn start_cluster() -> Server {
    let bin = bin_dir();
    let dir = tempfile::Builder::new()
        .prefix("tracelet-pg-")
        .tempdir()
        .expect("temporary directory")
        .keep();
    let data = dir.join("data");
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown of the cluster directory failed");
    }
    let status = server_command(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
        .arg("--no-sync")
        .stdout(Stdio::null())
        .status()
        .expect("run initdb");
    assert!(status.success(), "initdb failed");
    let port = free_port();
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200",
        dir.display()
    );
    let status = server_command(&bin.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("log"))
        .args(["-w", "-t", "60", "-o", &options, "start"])
        .stdout(Stdio::null())
        .status()
        .expect("run pg_ctl");
    assert!(
        status.success(),
        "the PostgreSQL cluster did not start; see {}",
        dir.join("log").display()
    );
    watch_and_remove(&bin, &dir, &data);
    Server {
        host: "127.0.0.1".into(),
        port,
        user: "postgres".into(),
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Stops the cluster and deletes its directory once this test process has ended.
fn watch_and_remove(bin: &Path, dir: &Path, data: &Path) {
    let stop = format!(
        "{} {} -D {} -m immediate stop",
        if is_root() {
            "runuser -u postgres --"
        } else {
            ""
        },
        bin.join("pg_ctl").display(),
        data.display()
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    // Outlives this process on purpose: nobody waits for it, init reaps it.
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the cluster's watchdog");
    std::mem::forget(watchdog);
}
