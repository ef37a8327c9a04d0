//! `tracelet-bench`: measures the SDK's budget the same way every time and prints one table,
//! or one JSON object with `--json`. Figures are measurements, not assertions.

mod cpu;
mod enqueue;
mod memory;
mod size;
mod wire;

use clap::Parser;
use serde::Serialize;

/// Measure Tracelet's size, durability throughput and wire cost.
#[derive(Debug, Parser)]
#[command(name = "tracelet-bench", version)]
struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Fixes per enqueue measurement.
    #[arg(long, default_value_t = 20_000)]
    fixes: u32,
    /// Skip building the release cdylibs (report the existing one's size only).
    #[arg(long)]
    no_build: bool,
    /// Internal: the child process of the memory measurement.
    #[arg(long, hide = true)]
    memory_child: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    machine: String,
    size: size::SizeReport,
    memory: memory::MemoryReport,
    enqueue: enqueue::EnqueueReport,
    wire: wire::WireReport,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.memory_child {
        return memory::run_child();
    }
    let report = Report {
        machine: machine_description(),
        size: size::measure(!args.no_build)?,
        memory: memory::measure()?,
        enqueue: enqueue::measure(args.fixes)?,
        wire: wire::measure()?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &Report) {
    println!("machine: {}", r.machine);
    println!();
    println!("{:<52} {:>14}  target", "figure", "value");
    let row =
        |name: &str, value: String, target: &str| println!("{name:<52} {value:>14}  {target}");
    match r.size.cdylib_bytes {
        Some(bytes) => row(
            "cdylib_bytes (stripped release, x86_64)",
            format!("{bytes}"),
            "<= 3 MB",
        ),
        None => row("cdylib_bytes", "not built".into(), "<= 3 MB"),
    }
    if let Some(bytes) = r.size.cdylib_platform_transport_bytes {
        row(
            "cdylib_bytes with the platform transport (no reqwest)",
            format!("{bytes}"),
            "",
        );
    }
    for (name, bytes) in &r.size.top_crates {
        row(&format!("  symbols of {name}"), format!("{bytes}"), "");
    }
    row(
        "rss_extra_bytes (tracker at 1 Hz, 10 min virtual)",
        format!("{}", r.memory.rss_extra_bytes),
        "<= 8 MB",
    );
    let e = &r.enqueue;
    row(
        "durable enqueue, one fix per call (fixes/s)",
        format!("{:.0}", e.single_fixes_per_s),
        ">= 20000",
    );
    row(
        "durable enqueue, batches of 100 (fixes/s)",
        format!("{:.0}", e.batch_fixes_per_s),
        ">= 100000",
    );
    row(
        "CPU per fix, one per call (us)",
        format!("{:.2}", e.single_cpu_us_per_fix),
        "",
    );
    row(
        "CPU per fix, batches of 100 (us)",
        format!("{:.2}", e.batch_cpu_us_per_fix),
        "",
    );
    let w = &r.wire;
    row(
        "wire bytes/fix, gzip JSON, batches of 100 (GSDC)",
        format!("{:.2}", w.json_gzip_bytes_per_fix),
        "<= 20",
    );
    row(
        "wire bytes/fix, compact+gzip, batches of 100 (GSDC)",
        format!("{:.2}", w.compact_gzip_bytes_per_fix),
        "<= 6",
    );
    row(
        "wire bytes/fix, JSON uncompressed",
        format!("{:.2}", w.json_raw_bytes_per_fix),
        "",
    );
    row(
        "wire bytes/fix, compact uncompressed",
        format!("{:.2}", w.compact_raw_bytes_per_fix),
        "",
    );
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::ARCH)
}
