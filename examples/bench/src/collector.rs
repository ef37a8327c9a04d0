//! The collector under hostile clients and under a reader, as a separate process on loopback:
//! gzip bombs and a huge string field (peak RSS above idle), slow-header connections (when the
//! server closes them, and how long a normal batch takes meanwhile), and ingest latency of
//! 100 devices with and without a reader pulling whole tracks.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

const TOKEN: &str = "bench-ingest-token";
const READ_TOKEN: &str = "bench-read-token";
const T0: i64 = 1_717_243_200_000;

#[derive(Debug, Serialize)]
pub struct CollectorReport {
    pub bomb: AttackReport,
    pub long_string: AttackReport,
    pub slow_headers: SlowHeaderReport,
    pub ingest: IngestLatencyReport,
}

/// Bodies sent at once and what they cost the collector.
#[derive(Debug, Serialize)]
pub struct AttackReport {
    pub bodies: usize,
    pub body_bytes: usize,
    /// What one body holds once inflated: fixes for the bomb, string bytes for the long field.
    pub inflates_to: u64,
    pub statuses: Vec<u16>,
    pub all_refused_4xx: bool,
    pub idle_rss_bytes: u64,
    pub peak_rss_above_idle_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct SlowHeaderReport {
    pub connections: usize,
    pub closed_by_server: usize,
    /// When the last of them was closed, from when they were all open.
    pub last_closed_after_s: f64,
    /// A normal batch sent while they were open: time until it was answered (and so stored).
    pub normal_batch_stored_after_ms: f64,
    pub normal_batch_status: u16,
}

#[derive(Debug, Serialize)]
pub struct IngestLatencyReport {
    pub devices: usize,
    pub batches_per_device: usize,
    pub fixes_per_batch: usize,
    pub preloaded_fixes_per_device: usize,
    pub p50_ms_without_reader: f64,
    pub p99_ms_without_reader: f64,
    pub p50_ms_with_reader: f64,
    pub p99_ms_with_reader: f64,
    pub tracks_pulled: u64,
    pub fixes_pulled: u64,
}

pub fn measure() -> Result<CollectorReport, Box<dyn std::error::Error>> {
    let binary = collector_binary()?;
    let dir = tempfile::tempdir()?;
    let bomb = {
        let server = Server::start(&binary, &dir.path().join("bomb.sqlite3"))?;
        let body = bomb_body();
        let report = attack(&server, &body, 4, 3_000_000)?;
        server.stop();
        report
    };
    let long_string = {
        let server = Server::start(&binary, &dir.path().join("long.sqlite3"))?;
        let body = long_string_body(256 * 1024 * 1024);
        let report = attack(&server, &body, 1, 256 * 1024 * 1024)?;
        server.stop();
        report
    };
    let slow_headers = {
        let server = Server::start(&binary, &dir.path().join("slow.sqlite3"))?;
        let report = slow_headers(&server, 200)?;
        server.stop();
        report
    };
    let ingest = {
        let server = Server::start(&binary, &dir.path().join("ingest.sqlite3"))?;
        let report = ingest_latency(&server)?;
        server.stop();
        report
    };
    Ok(CollectorReport {
        bomb,
        long_string,
        slow_headers,
        ingest,
    })
}

/// `tracelet-collector` next to this binary, built first if it is missing.
fn collector_binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("tracelet-collector");
    if !path.exists() {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args(["build", "-q", "-p", "tracelet-collector"]);
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        if !cargo.status()?.success() {
            return Err("cargo build -p tracelet-collector failed".into());
        }
    }
    Ok(path)
}

/// A collector process on a free loopback port.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(binary: &PathBuf, db: &std::path::Path) -> Result<Server, Box<dyn std::error::Error>> {
        let mut child = Command::new(binary)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--token",
                TOKEN,
                "--read-token",
                READ_TOKEN,
            ])
            .arg("--db")
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte)? == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8(line)?;
        let addr = line
            .rsplit("http://")
            .next()
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| format!("unexpected first line {line:?}"))?;
        // Keep reading what it prints so it never blocks on a full pipe.
        std::thread::spawn(move || io::copy(&mut stdout, &mut io::sink()));
        Ok(Server { child, addr })
    }

    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }

    fn rss_bytes(&self) -> u64 {
        self.status_kib("VmRSS:") * 1024
    }

    fn peak_rss_bytes(&self) -> u64 {
        self.status_kib("VmHWM:") * 1024
    }

    /// Starts a new peak from the current RSS (Linux: `clear_refs` 5).
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on its own connection; returns the status and the body.
fn request(addr: SocketAddr, head: &str, body: &[u8]) -> io::Result<(u16, Vec<u8>)> {
    let mut socket = TcpStream::connect(addr)?;
    socket.set_read_timeout(Some(Duration::from_secs(60)))?;
    let head = format!(
        "{head}\r\nHost: bench\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes())?;
    // A server that refuses early may close before the whole body is written.
    let _ = socket.write_all(body);
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer)?;
    let status = answer
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or_else(Vec::new, |at| answer[at + 4..].to_vec());
    Ok((status, body))
}

fn post_batch(addr: SocketAddr, key: &str, gzipped: &[u8]) -> io::Result<u16> {
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Encoding: gzip\r\nIdempotency-Key: {key}"
    );
    Ok(request(addr, &head, gzipped)?.0)
}

fn gzip_chunks(chunks: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    for chunk in chunks {
        let _ = encoder.write_all(&chunk);
    }
    encoder.finish().unwrap_or_default()
}

/// Three million tiny fixes; every eighth has a random time of 0 or 1, which brings the body
/// near 350 KiB.
fn bomb_body() -> Vec<u8> {
    let opening = br#"{"v":1,"device":"bomb","batch":"1-3000000","first_seq":1,"fixes":["#.to_vec();
    let mut rng = tracelet_core::jitter::Jitter::new(7);
    let chunks = (0..300).map(move |_| {
        let mut chunk = Vec::with_capacity(10_000 * 30);
        for i in 0..10_000 {
            let t = if i % 8 == 0 { rng.next_u64() & 1 } else { 1 };
            chunk.extend_from_slice(format!(r#"{{"t":{t},"la":0,"lo":0,"ac":1}},"#).as_bytes());
        }
        chunk
    });
    gzip_chunks(std::iter::once(opening).chain(chunks))
}

/// One fix whose provider field is a string of `bytes` bytes.
fn long_string_body(bytes: usize) -> Vec<u8> {
    let opening = format!(
        r#"{{"v":1,"device":"long","batch":"1-1","first_seq":1,"fixes":[{{"t":{T0},"la":52.5,"lo":13.4,"ac":5,"pr":""#
    );
    let mib = vec![b'a'; 1024 * 1024];
    gzip_chunks(
        std::iter::once(opening.into_bytes())
            .chain(std::iter::repeat_n(mib, bytes / (1024 * 1024)))
            .chain(std::iter::once(br#""}]}"#.to_vec())),
    )
}

/// Sends `body` `parallel` times at once; measures the collector's peak RSS above idle.
fn attack(
    server: &Server,
    body: &[u8],
    parallel: usize,
    inflates_to: u64,
) -> Result<AttackReport, Box<dyn std::error::Error>> {
    // Idle after one normal batch, so that the allocator and the database are warm.
    let warm = gzip_chunks([normal_batch("warm", 1, 10).into_bytes()]);
    post_batch(server.addr, "1-10", &warm)?;
    std::thread::sleep(Duration::from_millis(200));
    let idle = server.rss_bytes();
    server.reset_peak();
    let body = Arc::new(body.to_vec());
    let threads: Vec<_> = (0..parallel)
        .map(|_| {
            let (addr, body) = (server.addr, Arc::clone(&body));
            std::thread::spawn(move || post_batch(addr, "1-1", &body).unwrap_or(0))
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap_or(0)).collect();
    let peak = server.peak_rss_bytes();
    Ok(AttackReport {
        bodies: parallel,
        body_bytes: body.len(),
        inflates_to,
        all_refused_4xx: statuses.iter().all(|s| (400..500).contains(s)),
        statuses,
        idle_rss_bytes: idle,
        peak_rss_above_idle_bytes: peak.saturating_sub(idle),
    })
}

fn normal_batch(device: &str, first_seq: u64, count: u64) -> String {
    let fixes: Vec<String> = (0..count)
        .map(|i| {
            let n = first_seq + i;
            format!(
                r#"{{"t":{},"la":{:.7},"lo":13.405,"ac":5.0,"pr":"gps"}}"#,
                T0 + n as i64 * 1000,
                52.52 + n as f64 * 1e-5
            )
        })
        .collect();
    format!(
        r#"{{"v":1,"device":"{device}","batch":"{first_seq}-{}","first_seq":{first_seq},"fixes":[{}]}}"#,
        first_seq + count - 1,
        fixes.join(",")
    )
}

/// `connections` clients that send one header byte every 2 s; a normal batch meanwhile.
fn slow_headers(
    server: &Server,
    connections: usize,
) -> Result<SlowHeaderReport, Box<dyn std::error::Error>> {
    let header = b"POST /v1/batches HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n";
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        let socket = TcpStream::connect(server.addr)?;
        socket.set_nonblocking(true)?;
        sockets.push(socket);
    }
    let opened = Instant::now();
    let mut closed_at: Vec<Option<Duration>> = vec![None; connections];
    let mut sent = 0;
    let mut next_byte = Instant::now();
    let normal = {
        let addr = server.addr;
        std::thread::spawn(move || {
            let body = gzip_chunks([normal_batch("normal", 1, 100).into_bytes()]);
            let started = Instant::now();
            let status = post_batch(addr, "1-100", &body).unwrap_or(0);
            (status, started.elapsed())
        })
    };
    while opened.elapsed() < Duration::from_secs(40) && closed_at.iter().any(Option::is_none) {
        let trickle = Instant::now() >= next_byte && sent < header.len();
        for (socket, closed) in sockets.iter_mut().zip(closed_at.iter_mut()) {
            if closed.is_some() {
                continue;
            }
            if trickle && socket.write(&header[sent..=sent]).is_err() {
                *closed = Some(opened.elapsed());
                continue;
            }
            let mut buf = [0u8; 512];
            match socket.read(&mut buf) {
                Ok(0) => *closed = Some(opened.elapsed()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => *closed = Some(opened.elapsed()),
            }
        }
        if trickle {
            sent += 1;
            next_byte += Duration::from_secs(2);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, stored_after) = normal.join().map_err(|_| "normal batch thread")?;
    Ok(SlowHeaderReport {
        connections,
        closed_by_server: closed_at.iter().filter(|c| c.is_some()).count(),
        last_closed_after_s: closed_at
            .iter()
            .flatten()
            .max()
            .map_or(f64::NAN, Duration::as_secs_f64),
        normal_batch_stored_after_ms: stored_after.as_secs_f64() * 1e3,
        normal_batch_status: status,
    })
}

const DEVICES: usize = 100;
const BATCHES: usize = 20;
const FIXES: usize = 50;
const PRELOAD: usize = 2_000;

fn ingest_latency(server: &Server) -> Result<IngestLatencyReport, Box<dyn std::error::Error>> {
    // Each device starts with a track of its own, which the reader pulls whole.
    for d in 0..DEVICES {
        for b in 0..PRELOAD / 500 {
            let first = 1 + (b * 500) as u64;
            let body = gzip_chunks([normal_batch(&format!("dev-{d}"), first, 500).into_bytes()]);
            post_batch(server.addr, &format!("{first}-{}", first + 499), &body)?;
        }
    }
    let (p50_a, p99_a, _) = run_devices(server.addr, 1 + PRELOAD as u64, false);
    let (p50_b, p99_b, pulled) =
        run_devices(server.addr, 1 + (PRELOAD + BATCHES * FIXES) as u64, true);
    Ok(IngestLatencyReport {
        devices: DEVICES,
        batches_per_device: BATCHES,
        fixes_per_batch: FIXES,
        preloaded_fixes_per_device: PRELOAD,
        p50_ms_without_reader: p50_a,
        p99_ms_without_reader: p99_a,
        p50_ms_with_reader: p50_b,
        p99_ms_with_reader: p99_b,
        tracks_pulled: pulled.0,
        fixes_pulled: pulled.1,
    })
}

/// Every device posts its batches one after the other; returns p50 and p99 in ms and, with a
/// reader, the tracks and fixes it pulled meanwhile.
fn run_devices(addr: SocketAddr, first_seq: u64, with_reader: bool) -> (f64, f64, (u64, u64)) {
    // Bodies are compressed before the clock starts, so that only the collector is timed.
    let prepared: Vec<Vec<(String, Vec<u8>)>> = (0..DEVICES)
        .map(|d| {
            (0..BATCHES)
                .map(|b| {
                    let first = first_seq + (b * FIXES) as u64;
                    let json = normal_batch(&format!("dev-{d}"), first, FIXES as u64);
                    let key = format!("{first}-{}", first + FIXES as u64 - 1);
                    (key, gzip_chunks([json.into_bytes()]))
                })
                .collect()
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let tracks = Arc::new(AtomicU64::new(0));
    let fixes = Arc::new(AtomicU64::new(0));
    let reader = with_reader.then(|| {
        let (done, tracks, fixes) = (done.clone(), tracks.clone(), fixes.clone());
        std::thread::spawn(move || {
            let head_for = |d: usize| {
                format!(
                    "GET /v1/devices/dev-{d}/track?limit=100000 HTTP/1.1\r\nAuthorization: Bearer {READ_TOKEN}"
                )
            };
            let mut d = 0;
            while !done.load(Ordering::Relaxed) {
                if let Ok((200, body)) = request(addr, &head_for(d), b"") {
                    tracks.fetch_add(1, Ordering::Relaxed);
                    let points = body.windows(4).filter(|w| w == b"\"t\":").count();
                    fixes.fetch_add(points as u64, Ordering::Relaxed);
                }
                d = (d + 1) % DEVICES;
            }
        })
    });
    let devices: Vec<_> = prepared
        .into_iter()
        .map(|bodies| {
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(BATCHES);
                for (key, body) in bodies {
                    let started = Instant::now();
                    let status = post_batch(addr, &key, &body).unwrap_or(0);
                    if status == 200 {
                        latencies.push(started.elapsed().as_secs_f64() * 1e3);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<f64> = devices
        .into_iter()
        .flat_map(|t| t.join().unwrap_or_default())
        .collect();
    done.store(true, Ordering::Relaxed);
    if let Some(reader) = reader {
        let _ = reader.join();
    }
    all.sort_by(f64::total_cmp);
    let at = |q: f64| {
        all.get(((all.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    (
        at(0.50),
        at(0.99),
        (
            tracks.load(Ordering::Relaxed),
            fixes.load(Ordering::Relaxed),
        ),
    )
}
