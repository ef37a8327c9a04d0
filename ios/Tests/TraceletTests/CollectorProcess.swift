import Foundation
import XCTest

/// The real reference collector (`tracelet-collector`), run as a child process for the tests.
///
/// It runs under a small `sh` watchdog that holds the read end of a pipe: closing our end stops
/// the collector, and so does this test process dying, so a crashed test run leaves no server
/// behind.
final class CollectorProcess {
    static let token = "swift-test-token"
    /// The read API's token: the ingest token cannot read.
    static let readToken = "swift-test-read-token"

    let baseURL: URL
    private let process: Process
    private let stopPipe: Pipe

    var ingestURL: URL { baseURL.appendingPathComponent("v1/batches") }

    /// `TRACELET_COLLECTOR_BIN`, or the release build next to this package.
    static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["TRACELET_COLLECTOR_BIN"], !path.isEmpty {
            return path
        }
        // .../ios/Tests/TraceletTests/CollectorProcess.swift -> package root
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent("target/release/tracelet-collector").path
    }

    init() throws {
        let binary = Self.binaryPath
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CollectorError.missingBinary(binary)
        }
        let watchdog = #"""
            "$0" "$@" &
            pid=$!
            read -r _ || true
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            """#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c", watchdog, binary, "--listen", "127.0.0.1:0", "--token", Self.token,
            "--read-token", Self.readToken,
        ]
        let stopPipe = Pipe()
        let output = Pipe()
        process.standardInput = stopPipe
        process.standardOutput = output
        try process.run()
        do {
            baseURL = try Self.readListenURL(from: output.fileHandleForReading)
            // Keep draining stdout, or a chattier collector would block on a full pipe.
            let handle = output.fileHandleForReading
            Thread.detachNewThread {
                while !handle.availableData.isEmpty {}
            }
        } catch {
            Self.stop(process, stopPipe)
            throw error
        }
        self.process = process
        self.stopPipe = stopPipe
    }

    /// Stops the collector and waits for it to exit.
    func stop() {
        Self.stop(process, stopPipe)
    }

    private static func stop(_ process: Process, _ stopPipe: Pipe) {
        try? stopPipe.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// The collector's first stdout line is `tracelet-collector listening on http://HOST:PORT`.
    private static func readListenURL(from handle: FileHandle) throws -> URL {
        var bytes = Data()
        while !bytes.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData  // blocks until data or EOF
            if chunk.isEmpty { break }
            bytes.append(chunk)
        }
        let line = String(decoding: bytes, as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let prefix = "tracelet-collector listening on "
        guard line.hasPrefix(prefix), let url = URL(string: String(line.dropFirst(prefix.count)))
        else {
            throw CollectorError.unexpectedBanner(line)
        }
        return url
    }
}

enum CollectorError: Error, CustomStringConvertible {
    case missingBinary(String)
    case unexpectedBanner(String)
    case http(status: Int, path: String)

    var description: String {
        switch self {
        case .missingBinary(let path):
            return "collector binary not found at \(path); build it with "
                + "`cargo build --release -p tracelet-collector` or set TRACELET_COLLECTOR_BIN"
        case .unexpectedBanner(let line):
            return "collector did not announce its address; first line was: \(line)"
        case .http(let status, let path):
            return "collector answered \(status) to GET \(path)"
        }
    }
}
