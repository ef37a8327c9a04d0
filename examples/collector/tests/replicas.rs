//! Stateless replicas on one PostgreSQL: real `tracelet-collector` processes sharing a
//! throwaway cluster. The same batch sent to two replicas at once is stored once, a replica
//! killed mid-request loses nothing it acknowledged, an SSE client on one replica sees what
//! another stored, and `Last-Event-ID` resumes on another replica without gaps or repeats.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::cluster::fresh_database;
use common::http::{READ_TOKEN, Sse, TOKEN, batch, fix, get_json, post_batch, post_ok};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tracelet_collector::{CollectorConfig, start};

struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Replica {
    fn spawn(database_url: &str) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tracelet-collector"))
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .args(["--token", TOKEN, "--read-token", READ_TOKEN])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tracelet-collector");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a first line").expect("stdout");
        let addr = first
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        // Keep reading, so that the replica never writes into a closed pipe.
        std::thread::spawn(move || for _ in lines {});
        Replica { child, addr }
    }

    /// SIGKILL: no shutdown, no flushing, like a crash or an OOM kill.
    fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seqs_of(fixes: &Value) -> Vec<u64> {
    fixes
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["seq"].as_u64()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_batch_sent_to_two_replicas_at_once_is_stored_once() {
    let url = fresh_database();
    let (a, b) = (Replica::spawn(&url), Replica::spawn(&url));
    let rounds = 20u64;
    for round in 0..rounds {
        let fixes = (0..10)
            .map(|i| fix((round * 10 + i) as i64, 52.5, 13.4))
            .collect();
        let (body, key) = batch("twice", "r1", round * 10 + 1, fixes, vec![]);
        let (from_a, from_b) =
            tokio::join!(post_ok(a.addr, &body, &key), post_ok(b.addr, &body, &key));
        let accepted =
            from_a["accepted"].as_u64().unwrap_or(99) + from_b["accepted"].as_u64().unwrap_or(99);
        let duplicates = from_a["duplicates"].as_u64().unwrap_or(99)
            + from_b["duplicates"].as_u64().unwrap_or(99);
        assert_eq!(
            (accepted, duplicates),
            (10, 10),
            "round {round}: {from_a} {from_b}"
        );
    }
    for replica in [&a, &b] {
        let page = get_json(replica.addr, "/v1/devices/twice/fixes?limit=10000").await;
        assert_eq!(
            seqs_of(&page["fixes"]),
            (1..=rounds * 10).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_request_loses_nothing_it_acknowledged() {
    let url = fresh_database();
    let mut a = Replica::spawn(&url);
    let b = Replica::spawn(&url);
    let (a_addr, b_addr) = (a.addr, b.addr);
    let devices = 16u64;
    let batches = 15u64;
    let acknowledged_by_a = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut senders = Vec::new();
    for d in 0..devices {
        let acknowledged_by_a = Arc::clone(&acknowledged_by_a);
        senders.push(tokio::spawn(async move {
            let device = format!("kill-{d}");
            for n in 0..batches {
                let fixes = (0..20)
                    .map(|i| fix((n * 20 + i) as i64, 10.0, 10.0))
                    .collect();
                let (body, key) = batch(&device, "k1", n * 20 + 1, fixes, vec![]);
                // A first; whatever A did not acknowledge goes to B, as a load balancer retries.
                match post_batch(a_addr, &body, &key).await {
                    Ok((200, _)) => {
                        acknowledged_by_a.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    _ => loop {
                        if let Ok((200, _)) = post_batch(b_addr, &body, &key).await {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    },
                }
            }
        }));
    }
    // Kill A once it has acknowledged some batches, while others are in flight.
    let started = Instant::now();
    while acknowledged_by_a.load(Ordering::Relaxed) < devices * 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "replica A acknowledges nothing"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill();
    for sender in senders {
        sender.await.expect("sender");
    }
    let acknowledged = acknowledged_by_a.load(Ordering::Relaxed);
    assert!(
        acknowledged < devices * batches,
        "A was killed before the end of the run"
    );
    for d in 0..devices {
        let page = get_json(b_addr, &format!("/v1/devices/kill-{d}/fixes?limit=10000")).await;
        assert_eq!(
            seqs_of(&page["fixes"]),
            (1..=batches * 20).collect::<Vec<_>>(),
            "kill-{d}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_one_replica_sees_what_another_stored_in_order() {
    let url = fresh_database();
    let (a, b) = (Replica::spawn(&url), Replica::spawn(&url));
    let mut on_b = Sse::open(b.addr, None).await;
    let mut latencies = Vec::new();
    let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let rounds = 20u64;
    for n in 0..rounds {
        for (device, target) in [("live-a", a.addr), ("live-b", b.addr)] {
            let fixes = (0..3).map(|i| fix((n * 3 + i) as i64, 1.0, 1.0)).collect();
            let (body, key) = batch(device, "s1", n * 3 + 1, fixes, vec![]);
            let sent = Instant::now();
            post_ok(target, &body, &key).await;
            // Wait for this batch on B's stream.
            loop {
                let event = on_b.next().await;
                assert_eq!(event.name, "fixes", "{:?}", event.data);
                assert!(event.id.is_some(), "messages from the feed carry an id");
                let d = event.data["device"].as_str().unwrap_or("?").to_owned();
                let seqs = seqs_of(&event.data["points"]);
                let done = d == device && seqs.last() == Some(&(n * 3 + 3));
                seen.entry(d).or_default().extend(seqs);
                if done {
                    break;
                }
            }
            if target == a.addr {
                latencies.push(sent.elapsed());
            }
        }
    }
    for device in ["live-a", "live-b"] {
        assert_eq!(
            seen[device],
            (1..=rounds * 3).collect::<Vec<_>>(),
            "{device}"
        );
    }
    latencies.sort();
    println!(
        "SSE across replicas: a fix posted to A reached a client on B in {:.1} ms (median of {}, \
         post included; max {:.1} ms)",
        latencies[latencies.len() / 2].as_secs_f64() * 1000.0,
        latencies.len(),
        latencies[latencies.len() - 1].as_secs_f64() * 1000.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_event_id_resumes_on_another_replica_without_gaps_or_repeats() {
    let url = fresh_database();
    let (a, b) = (Replica::spawn(&url), Replica::spawn(&url));
    let post = |n: u64, target: SocketAddr| async move {
        let fixes = (0..2).map(|i| fix((n * 2 + i) as i64, 1.0, 1.0)).collect();
        let (body, key) = batch("resume", "s1", n * 2 + 1, fixes, vec![]);
        post_ok(target, &body, &key).await;
    };
    let mut received = Vec::new();
    let mut on_a = Sse::open(a.addr, None).await;
    let mut last_id = None;
    for n in 0..10 {
        post(n, if n % 2 == 0 { a.addr } else { b.addr }).await;
    }
    while received.len() < 20 {
        let event = on_a.next().await;
        received.extend(seqs_of(&event.data["points"]));
        last_id = event.id;
    }
    drop(on_a);
    // Stored while no client listened, on both replicas.
    for n in 10..20 {
        post(n, if n % 2 == 0 { a.addr } else { b.addr }).await;
    }
    let mut on_b = Sse::open(b.addr, last_id.as_deref()).await;
    for n in 20..25 {
        post(n, a.addr).await;
    }
    while received.len() < 50 {
        let event = on_b.next().await;
        assert_eq!(event.name, "fixes");
        received.extend(seqs_of(&event.data["points"]));
    }
    assert_eq!(received, (1..=50).collect::<Vec<_>>());
    // Nothing more: one more batch must be the very next message.
    post(25, b.addr).await;
    assert_eq!(seqs_of(&on_b.next().await.data["points"]), [51, 52]);
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Switch {
    up: Arc<AtomicBool>,
    addr: SocketAddr,
}

async fn proxy_to(upstream: SocketAddr) -> Switch {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let up = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&up);
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            if !flag.load(Ordering::SeqCst) {
                continue; // dropped: the database is away
            }
            let flag = Arc::clone(&flag);
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let copy = tokio::io::copy_bidirectional(&mut client, &mut server);
                let cut = async {
                    while flag.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                tokio::select! {
                    _ = copy => {}
                    _ = cut => {}
                }
            });
        }
    });
    Switch { up, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_answers_503_and_loses_nothing_acknowledged() {
    let url = fresh_database();
    let (head, tail) = url.rsplit_once('@').expect("url");
    let (host_port, db) = tail.split_once('/').expect("db");
    let upstream: SocketAddr = host_port.parse().expect("host:port");
    let switch = proxy_to(upstream).await;
    let collector = start(CollectorConfig {
        read_token: Some(READ_TOKEN.into()),
        database_url: Some(format!("{head}@{}/{db}", switch.addr)),
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    })
    .await
    .expect("collector starts");
    let addr = collector.addr;
    let send = |n: u64| async move {
        let (body, key) = batch("away", "w1", n + 1, vec![fix(n as i64, 1.0, 1.0)], vec![]);
        post_batch(addr, &body, &key).await.expect("an answer")
    };
    assert_eq!(send(0).await.0, 200);
    switch.up.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, body) = send(1).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database unavailable"), "{body}");
    switch.up.store(true, Ordering::SeqCst);
    // The client retries the refused batch; the collector reconnects by itself.
    assert_eq!(send(1).await.0, 200);
    assert_eq!(send(2).await.0, 200);
    let stored = collector.stored_fixes("away").await.expect("fixes");
    assert_eq!(stored.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    collector.stop().await;
}
