import Foundation
import Tracelet
import XCTest

/// The app's own HTTP stack, headers and batch params, against the real core and collector:
/// ``URLSessionTransport`` does the real HTTP, wrapped so the test sees every request it sends.
final class HttpControlTests: CollectorTestCase {
    func testEveryRequestGoesThroughTheAppsTransportWithItsHeadersAndParams() async throws {
        let device = makeDeviceId()
        var configuration = configuration(deviceId: device)
        configuration.headers = ["X-Api-Key": "k1"]
        configuration.params = ["app_version": "2.1.0"]
        let transport = RecordingTransport(URLSessionTransport())
        let tracelet = try Tracelet(configuration: configuration, transport: transport)
        try tracelet.start()
        let fixes = walk(startMs: nowMs() - 60_000, count: 12)
        try tracelet.record(Array(fixes[0..<10]))
        try await tracelet.flush()

        try tracelet.setHeaders(["X-Api-Key": "k2"])
        try tracelet.setParams([:])
        try tracelet.record(Array(fixes[10...]))
        try await tracelet.flush()

        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.count, 12)
        let requests = transport.requests
        XCTAssertGreaterThanOrEqual(requests.count, 2)
        let first = try XCTUnwrap(requests.first)
        XCTAssertTrue(first.headers.contains { $0.name == "X-Api-Key" && $0.value == "k1" })
        XCTAssertTrue(try XCTUnwrap(body(of: first)).contains(#""params":{"app_version":"2.1.0"}"#))
        let last = try XCTUnwrap(requests.last)
        XCTAssertTrue(last.headers.contains { $0.name == "X-Api-Key" && $0.value == "k2" })
        XCTAssertFalse(try XCTUnwrap(body(of: last)).contains("params"))
    }

    func testAHeaderWithALineBreakIsATypedErrorThatKeepsTheHeaders() throws {
        var configuration = configuration(deviceId: makeDeviceId())
        configuration.headers = ["X-Api-Key": "k1"]
        let tracelet = try Tracelet(configuration: configuration)
        XCTAssertThrowsError(try tracelet.setHeaders(["X-Api-Key": "k2\r\nX-Evil: 1"])) { error in
            guard case TraceletError.invalidHeader(let reason) = error else {
                return XCTFail("expected invalidHeader, got \(error)")
            }
            XCTAssertFalse(reason.contains("Evil"), reason)
        }
        XCTAssertEqual(tracelet.headers, ["X-Api-Key": "k1"])
        configuration.headers = ["Idempotency-Key": "mine"]
        XCTAssertThrowsError(try Tracelet(configuration: configuration)) { error in
            guard case TraceletError.invalidConfiguration = error else {
                return XCTFail("expected invalidConfiguration, got \(error)")
            }
        }
    }

    /// The JSON body of a request, un-gzipped by the system's `gzip`.
    private func body(of request: HttpRequest) throws -> String? {
        let directory = makeStorageDirectory()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("body.gz")
        try request.body.write(to: file)
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-dc", file.path]
        let output = Pipe()
        gunzip.standardOutput = output
        try gunzip.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        gunzip.waitUntilExit()
        return String(data: data, encoding: .utf8)
    }
}

/// Keeps every request, then lets the real transport send it.
private final class RecordingTransport: HttpTransport, @unchecked Sendable {
    // @unchecked: `seen` is only touched while `lock` is held.
    private let inner: any HttpTransport
    private let lock = NSLock()
    private var seen: [HttpRequest] = []

    init(_ inner: any HttpTransport) {
        self.inner = inner
    }

    var requests: [HttpRequest] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    func send(_ request: HttpRequest) throws -> HttpResponse {
        lock.lock()
        seen.append(request)
        lock.unlock()
        return try inner.send(request)
    }
}
