//! Runs the fault runner end to end (small sizes, to fit the test suite): real child
//! processes killed with SIGKILL, a real collector in chaos mode, real SQLite files.

use std::process::Command;

#[test]
fn nothing_is_lost_or_duplicated_under_kills_and_server_faults() {
    let output = Command::new(env!("CARGO_BIN_EXE_tracelet-chaos"))
        .args(["--kills", "8", "--fixes", "1500", "--seed", "3", "--json"])
        .output()
        .expect("tracelet-chaos runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(report["lost"], 0);
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["kills"], 8);
    let kill = &report["kill_scenario"];
    // A kill between a commit and its report can leave one stored-but-unreported fix.
    assert!(kill["fixes_accepted"].as_u64().unwrap() >= 1_500 - 8);
    assert!(kill["stored_at_collector"].as_u64() >= kill["fixes_accepted"].as_u64());
    let faults = &report["server_fault_scenario"];
    assert_eq!(faults["stored_at_collector"], 1500);
    assert_eq!(faults["attempts_bounded"], true);
    let injected = &faults["faults"];
    let total: u64 = [
        "server_errors",
        "too_many_requests",
        "resets",
        "drops_after_commit",
    ]
    .iter()
    .map(|k| injected[k].as_u64().unwrap())
    .sum();
    assert!(total > 0, "the chaos collector injected faults");
}
