//! Collector processes the load tool starts itself, and the SIGKILL of one of them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const TOKEN: &str = "tracelet-load-token";
pub const READ_TOKEN: &str = "tracelet-load-read-token";

/// Where the collectors store.
#[derive(Debug, Clone)]
pub enum Storage {
    Postgres(String),
    Sqlite(PathBuf),
}

/// Linux's USER_HZ on every architecture it runs the collector on.
const CLOCK_TICKS_PER_S: f64 = 100.0;

pub struct Replica {
    child: Child,
    pub addr: SocketAddr,
}

impl Replica {
    pub async fn spawn(
        bin: &Path,
        storage: &Storage,
        ingest_slots: usize,
    ) -> Result<Replica, String> {
        let mut command = Command::new(bin);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--token",
                TOKEN,
                "--read-token",
                READ_TOKEN,
            ])
            .args(["--max-concurrent-ingest", &ingest_slots.to_string()])
            .args(["--max-connections", "4096"])
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        match storage {
            Storage::Postgres(url) => command.args(["--database-url", url]),
            Storage::Sqlite(path) => command.arg("--db").arg(path),
        };
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next_line()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the collector exited before listening (see its stderr)")?;
        let addr = first
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("no address in {first:?}"))?;
        // Keep reading, so that the collector never writes into a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Replica { child, addr })
    }

    /// SIGKILL: no graceful shutdown, requests in flight are cut.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// CPU time the process has used so far (user + system), from `/proc/<pid>/stat`;
    /// `None` once it has exited or off Linux.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces: count fields after its closing parenthesis.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        Some((ticks(11)? + ticks(12)?) / CLOCK_TICKS_PER_S)
    }
}

/// The collector binary next to this one (both are built into the same target directory).
pub fn default_collector_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("tracelet-collector")))
        .unwrap_or_else(|| PathBuf::from("tracelet-collector"))
}
