//! `tracelet-demo`: the SDK's main job on real data. It starts the reference collector on
//! loopback, replays the bundled recorded traces (a 29-minute GSDC drive and a 10-hour
//! e-mission day, one device each) through the real core (validation, SQLite queue, gzip
//! batches over HTTP) on an accelerated virtual clock, serves the collector's live map while
//! it runs, and prints what arrived.
//!
//! `--headless` replays as fast as possible, prints the summary and exits.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracelet_collector::{CollectorConfig, MapStyle, RunningCollector, start};
use tracelet_core::{Clock, Fix, ManualClock, RecordOutcome, Tracker, TrackerConfig, TrackerError};
use tracelet_core::{Event, EventListener, Status};
use tracelet_replay::replay::{self, PolicyKind, ReplayOptions};

const DEMO_TOKEN: &str = "tracelet-demo-token";
/// The live map's port unless `--port` says otherwise.
const DEFAULT_LIVE_PORT: u16 = 8787;
/// While pacing, the virtual clocks move at least this often (real time).
const PACING_TICK: Duration = Duration::from_millis(100);
/// Virtual time between two `Tracker::tick` calls.
const TICK_EVERY_MS: i64 = 1_000;

/// The bundled traces: device id, path under the repository, what it is.
const BUNDLED: [(&str, &str, &str); 2] = [
    (
        "gsdc-pixel4",
        "tests/data/gsdc2020_mtv1/Pixel4_chipset.nmea",
        "GSDC 2020 drive, Pixel 4 chipset, 1 Hz",
    ),
    (
        "emission-day",
        "tests/data/emission/shankari_2016-independence_day.locations.csv",
        "e-mission day, duty-cycled phone GPS",
    ),
];

/// Replay real GPS traces through the Tracelet core into a local collector with a live map.
#[derive(Debug, Parser)]
#[command(name = "tracelet-demo", version)]
struct Args {
    /// Trace to replay (NMEA or a trace CSV), repeatable, one device each; defaults to the
    /// bundled GSDC drive and e-mission day.
    #[arg(long)]
    trace: Vec<PathBuf>,
    /// Run to the end as fast as possible, print the summary and exit (for scripts and CI).
    #[arg(long)]
    headless: bool,
    /// Virtual seconds per real second while the live map is served.
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Loopback port of the collector and its map; 0 picks a free one. Default: 8787, or a
    /// free port with --headless.
    #[arg(long)]
    port: Option<u16>,
    /// Raster tiles for the live map (passed to the collector's --map-style): a URL template
    /// with {z}, {x} and {y}. Omitted, the map draws on a blank background.
    #[arg(long, value_parser = MapStyle::parse)]
    map_style: Option<MapStyle>,
    /// The credit the tile provider of --map-style requires, shown on the map.
    #[arg(long, requires = "map_style", default_value = "")]
    map_attribution: String,
}

/// Counts what the tracker reports through its listener.
#[derive(Default)]
struct Counters {
    uploads: AtomicU64,
    geofence_events: AtomicU64,
}

impl EventListener for Counters {
    fn on_event(&self, event: Event) {
        match event {
            Event::UploadSucceeded { .. } => {
                self.uploads.fetch_add(1, Ordering::Relaxed);
            }
            Event::Geofence { .. } => {
                self.geofence_events.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// One replayed device: its trace, its clock and its tracker.
struct Device {
    id: String,
    path: PathBuf,
    about: String,
    fixes: Vec<Fix>,
    first_ms: i64,
    clock: Arc<ManualClock>,
    tracker: Tracker,
    /// The same fixes with the filter off, for the map's raw layer.
    raw_tracker: Tracker,
    counters: Arc<Counters>,
    rejected: BTreeMap<String, u64>,
    recorded: u64,
    _queue_dirs: [tempfile::TempDir; 2],
}

impl Device {
    fn open(
        id: String,
        path: PathBuf,
        about: String,
        collector: &RunningCollector,
    ) -> Result<Device, Box<dyn std::error::Error>> {
        let fixes =
            tracelet_replay::trace::load(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let first_ms = fixes
            .first()
            .map(|f| f.time_ms)
            .ok_or_else(|| format!("{}: the trace holds no fixes", path.display()))?;
        let queue_dir = tempfile::tempdir()?;
        let clock = Arc::new(ManualClock::new(first_ms));
        let mut config = TrackerConfig::new(
            collector.ingest_url(),
            id.as_str(),
            DEMO_TOKEN,
            queue_dir.path(),
        );
        config.jitter_seed = Some(1);
        // The raw twin: the same fixes with the filter off, uploaded as `<id>:raw`, so the live
        // map can show what the filter removed (the SDK itself never uploads rejected fixes).
        let raw_dir = tempfile::tempdir()?;
        let mut raw_config = config.clone();
        raw_config.device_id = format!("{id}:raw");
        raw_config.storage_dir = raw_dir.path().to_owned();
        raw_config.filter = None;
        let raw_tracker = Tracker::new(raw_config, clock.clone())?;
        raw_tracker.start()?;
        let tracker = Tracker::new(config, clock.clone())?;
        let counters = Arc::new(Counters::default());
        tracker.set_listener(Some(counters.clone()));
        tracker.start()?;
        // Geofences at the day's true places, where the trace comes with a file of them: their
        // enter and exit events show on the live map.
        if let Some(file) = geofences_beside(&path) {
            let text = std::fs::read_to_string(&file)?;
            let fences = tracelet_core::geofence::parse_geofence_file(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            tracker.add_geofences(fences)?;
        }
        Ok(Device {
            id,
            path,
            about,
            fixes,
            first_ms,
            clock,
            tracker,
            raw_tracker,
            counters,
            rejected: BTreeMap::new(),
            recorded: 0,
            _queue_dirs: [queue_dir, raw_dir],
        })
    }

    fn geofence_count(&self) -> usize {
        self.tracker.geofences().len()
    }

    fn span_ms(&self) -> i64 {
        self.fixes.last().map_or(0, |f| f.time_ms - self.first_ms)
    }

    /// Moves the virtual clock forward to `first + offset` (it never goes back), ticking the
    /// tracker every simulated second so that its time-based decisions (a phone gone still)
    /// happen as they would on a phone.
    fn advance_to(&self, offset_ms: i64) {
        let target = self.first_ms + offset_ms;
        let mut now = self.clock.now_ms();
        while now < target {
            now = (now + TICK_EVERY_MS).min(target);
            self.clock.set_ms(now);
            self.tracker.tick();
            self.raw_tracker.tick();
        }
    }

    fn record(&mut self, index: usize) -> Result<(), TrackerError> {
        let fix = self.fixes[index].clone();
        // The fix arrives at its own time on the virtual clock.
        self.advance_to(fix.time_ms - self.first_ms);
        self.recorded += 1;
        // The raw layer is best effort: an invalid fix is refused there too.
        let _ = self.raw_tracker.record(fix.clone());
        match self.tracker.record(fix) {
            Ok(RecordOutcome::Stored { .. }) => {}
            Ok(RecordOutcome::Filtered { reason }) => {
                *self.rejected.entry(reason.name().to_owned()).or_default() += 1;
            }
            Err(TrackerError::InvalidFix(error)) => {
                *self.rejected.entry(error.to_string()).or_default() += 1;
            }
            Err(other) => return Err(other),
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err("--speed must be a positive number".into());
    }
    let port = args
        .port
        .unwrap_or(if args.headless { 0 } else { DEFAULT_LIVE_PORT });
    let mut config = CollectorConfig::loopback(vec![DEMO_TOKEN.into()]);
    config.listen = SocketAddr::from(([127, 0, 0, 1], port));
    config.map_style = args
        .map_style
        .clone()
        .map(|style| style.with_attribution(args.map_attribution.clone()));
    let collector = start(config)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port} ({e}); pass --port 0"))?;
    // Scripts and the browser test read these lines to find the collector.
    println!("collector listening on http://{}", collector.addr);
    // The map URL carries the collector's read token, drawn for this run; the read API takes
    // it as `Authorization: Bearer`.
    println!("live map: {}", collector.map_url());
    println!("read token: {}", collector.read_token());
    std::io::stdout().flush()?;

    let sources: Vec<(String, PathBuf, String)> = if args.trace.is_empty() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        BUNDLED
            .iter()
            .map(|(id, path, about)| ((*id).to_owned(), root.join(path), (*about).to_owned()))
            .collect()
    } else {
        args.trace
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("trace-{}", i + 1), p.clone(), String::new()))
            .collect()
    };
    let mut devices = Vec::new();
    for (id, path, about) in sources {
        devices.push(Device::open(id, path, about, &collector)?);
    }

    // Every fix of every device, by its offset from its own trace's start: the traces are
    // replayed side by side from a common start.
    let mut schedule: Vec<(i64, usize, usize)> = devices
        .iter()
        .enumerate()
        .flat_map(|(d, dev)| {
            dev.fixes
                .iter()
                .enumerate()
                .map(move |(i, f)| (f.time_ms - dev.first_ms, d, i))
        })
        .collect();
    schedule.sort();
    let longest_ms = devices.iter().map(Device::span_ms).max().unwrap_or(0);

    // The energy figures come from a separate simulation; run it beside the replay.
    let traces: Vec<PathBuf> = devices.iter().map(|d| d.path.clone()).collect();
    let energy = tokio::task::spawn_blocking(move || {
        traces
            .iter()
            .map(|t| modelled_energy(t))
            .collect::<Vec<_>>()
    });

    let progress = progress_bar(schedule.len() as u64, longest_ms);
    let pace = (!args.headless).then_some(args.speed);
    if let Some(speed) = pace {
        progress.println(format!(
            "replaying at {speed}x: {} of recorded time in about {}",
            fmt_duration_ms(longest_ms),
            fmt_duration_ms((longest_ms as f64 / speed) as i64)
        ));
    }
    let started = Instant::now();
    let interrupted = tokio::select! {
        result = replay(&mut devices, &schedule, pace, &progress) => {
            result?;
            false
        }
        _ = tokio::signal::ctrl_c() => true,
    };
    progress.finish_and_clear();
    let mut pending = 0;
    for device in &devices {
        pending += device.tracker.flush().await?.pending;
        // The raw layer is for the map only; its upload failing is no reason to stop.
        let _ = device.raw_tracker.flush().await;
    }
    let elapsed = started.elapsed();

    let all_stored = print_summary(&devices, &collector, pending, elapsed, pace, interrupted)?;
    match energy.await {
        Ok(figures) => print_energy(&devices, &figures),
        Err(e) => println!("modelled energy    unavailable ({e})"),
    }

    if !args.headless && !interrupted {
        println!(
            "\nlive map still served at {} - press Ctrl-C to stop",
            collector.map_url()
        );
        std::io::stdout().flush()?;
        tokio::signal::ctrl_c().await?;
    }
    drop(devices);
    collector.stop().await;
    if !all_stored {
        return Err("the collector does not hold every accepted fix".into());
    }
    Ok(())
}

fn progress_bar(fixes: u64, longest_ms: i64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(fixes), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} fixes  {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(format!("virtual +0:00:00 of {}", fmt_hms(longest_ms)));
    bar
}

/// Records every scheduled fix. With `pace`, the virtual clocks follow real time times the
/// speed, moving in small ticks so the uploader's time-based triggers fire between fixes.
async fn replay(
    devices: &mut [Device],
    schedule: &[(i64, usize, usize)],
    pace: Option<f64>,
    progress: &ProgressBar,
) -> Result<(), TrackerError> {
    let started = Instant::now();
    let longest = devices.iter().map(Device::span_ms).max().unwrap_or(0);
    for &(offset_ms, d, i) in schedule {
        if let Some(speed) = pace {
            loop {
                let virtual_ms = (started.elapsed().as_secs_f64() * 1000.0 * speed) as i64;
                if virtual_ms >= offset_ms {
                    break;
                }
                for device in devices.iter() {
                    device.advance_to(virtual_ms);
                }
                let wait =
                    Duration::from_secs_f64((offset_ms - virtual_ms) as f64 / 1000.0 / speed);
                tokio::time::sleep(wait.min(PACING_TICK)).await;
            }
        }
        devices[d].record(i)?;
        progress.inc(1);
        progress.set_message(format!(
            "virtual +{} of {}",
            fmt_hms(offset_ms),
            fmt_hms(longest)
        ));
    }
    Ok(())
}

/// Prints the summary; returns whether the collector holds every fix the trackers accepted.
fn print_summary(
    devices: &[Device],
    collector: &RunningCollector,
    pending: u64,
    elapsed: Duration,
    pace: Option<f64>,
    interrupted: bool,
) -> Result<bool, Box<dyn std::error::Error>> {
    let stats = collector.stats();
    println!();
    if interrupted {
        println!("interrupted: the summary covers the fixes replayed so far");
    }
    let mut totals = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut all_stored = true;
    println!(
        "{:<14} {:>9} {:>8} {:>8} {:>8} {:>10} {:>8}",
        "device", "fixes in", "kept", "rejected", "uploads", "bytes", "stored"
    );
    let mut statuses: Vec<Status> = Vec::new();
    for device in devices {
        let status = device.tracker.status();
        let stored = collector.fixes(&device.id)?.len() as u64;
        let uploads = device.counters.uploads.load(Ordering::Relaxed);
        all_stored &= stored == status.accepted_total;
        println!(
            "{:<14} {:>9} {:>8} {:>8} {:>8} {:>10} {:>8}",
            device.id,
            device.recorded,
            status.accepted_total,
            status.rejected_total,
            uploads,
            status.uploaded_bytes,
            stored
        );
        totals.0 += device.recorded;
        totals.1 += status.accepted_total;
        totals.2 += status.rejected_total;
        totals.3 += uploads;
        totals.4 += status.uploaded_bytes;
        totals.5 += stored;
        statuses.push(status);
    }
    println!(
        "{:<14} {:>9} {:>8} {:>8} {:>8} {:>10} {:>8}",
        "total", totals.0, totals.1, totals.2, totals.3, totals.4, totals.5
    );
    println!();
    for (device, status) in devices.iter().zip(&statuses) {
        let name = device
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let about = if device.about.is_empty() {
            String::new()
        } else {
            format!(" ({})", device.about)
        };
        println!("{}: {name}{about}", device.id);
        println!(
            "  recorded span {}, {} fixes in the trace",
            fmt_duration_ms(device.span_ms()),
            device.fixes.len()
        );
        if device.geofence_count() > 0 {
            println!(
                "  {} geofence events from {} geofences at the true places",
                device.counters.geofence_events.load(Ordering::Relaxed),
                device.geofence_count()
            );
        }
        if status.uploaded_total > 0 {
            println!(
                "  {:.1} bytes per fix on the wire (gzip JSON), {} upload attempts",
                status.uploaded_bytes as f64 / status.uploaded_total as f64,
                status.upload_attempts
            );
        }
        // By reason as the tracker's status() counts them, or else as record() answered.
        let by_status: u64 = status.rejected_by_reason.iter().map(|r| r.count).sum();
        let reasons: Vec<(String, u64)> = if by_status == status.rejected_total {
            status
                .rejected_by_reason
                .iter()
                .map(|r| (r.reason.clone(), r.count))
                .collect()
        } else {
            device
                .rejected
                .iter()
                .map(|(r, n)| (r.clone(), *n))
                .collect()
        };
        if reasons.is_empty() {
            println!("  rejected: none");
        }
        for (reason, count) in &reasons {
            println!("  rejected {count:>5}  {reason}");
        }
        let answered: u64 = device.rejected.values().sum();
        if answered != status.rejected_total {
            println!(
                "  (record() reported {answered} refusals, status() counts {})",
                status.rejected_total
            );
        }
    }
    println!();
    println!(
        "collector          {} batches stored (the map's raw layer included), {} duplicates, {} refused requests",
        stats.batches, stats.duplicates, stats.rejected_requests
    );
    println!("still queued       {pending}");
    match pace {
        Some(speed) => println!(
            "wall time          {:.1} s at {speed}x",
            elapsed.as_secs_f64()
        ),
        None => println!(
            "wall time          {:.2} s (as fast as possible)",
            elapsed.as_secs_f64()
        ),
    }
    std::io::stdout().flush()?;
    Ok(all_stored)
}

/// `NAME.geofences.json` beside a trace `NAME.locations.csv` (or `NAME.<ext>`), if present.
fn geofences_beside(trace: &Path) -> Option<PathBuf> {
    let name = trace.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".locations.csv")
        .or_else(|| name.rsplit_once('.').map(|(stem, _)| stem))?;
    let file = trace.with_file_name(format!("{stem}.geofences.json"));
    file.is_file().then_some(file)
}

/// Modelled energy of the core and of the naive baseline (GNSS at 1 Hz, one upload per fix)
/// on one trace, in joules: `tracelet-replay`'s policy replay (simulated OS at 1 Hz, location
/// power by requested priority, LTE radio states), with its defaults.
fn modelled_energy(trace: &Path) -> Result<(f64, f64), String> {
    let options = |kind| ReplayOptions {
        trace: trace.to_path_buf(),
        kind,
        preset: "balanced".into(),
        policy: None,
        truth: None,
        collector: false,
        seed: 1,
        tail_s: 600,
        geofences: Vec::new(),
        clock_steps: Vec::new(),
        offline: false,
        os_mode: tracelet_replay::os_mode::OsMode::Full,
    };
    let core = replay::run(&options(PolicyKind::Core))?.energy_j();
    let naive = replay::run(&options(PolicyKind::Naive))?.energy_j();
    Ok((core, naive))
}

fn print_energy(devices: &[Device], figures: &[Result<(f64, f64), String>]) {
    println!();
    println!(
        "modelled energy (tracelet-replay's model, simulated OS at 1 Hz; naive = GNSS at 1 Hz, one upload per fix)"
    );
    for (device, figure) in devices.iter().zip(figures) {
        match figure {
            Ok((core, naive)) if *naive > 0.0 => println!(
                "  {:<14} core {:>8.0} J   naive {:>8.0} J   {:>5.1}% of naive",
                device.id,
                core,
                naive,
                core / naive * 100.0
            ),
            Ok(_) => println!("  {:<14} no energy modelled", device.id),
            Err(e) => println!("  {:<14} unavailable: {e}", device.id),
        }
    }
}

fn fmt_hms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn fmt_duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{} h {} min", s / 3600, s / 60 % 60)
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}
