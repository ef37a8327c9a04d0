import Foundation
import Tracelet
import XCTest

/// Invalid configuration comes back as the typed Swift error, whichever side detects it.
final class ConfigurationTests: XCTestCase {
    private let valid = TraceletConfiguration(
        endpoint: URL(string: "https://ingest.example.com/v1/batches")!,
        deviceId: "device-1",
        bearerToken: "token",
        storageDirectory: FileManager.default.temporaryDirectory
            .appendingPathComponent("tracelet-config-tests-\(UUID().uuidString)")
    )

    override func tearDown() {
        try? FileManager.default.removeItem(at: valid.storageDirectory)
        super.tearDown()
    }

    func testAValidConfigurationIsAccepted() throws {
        let tracelet = try Tracelet(configuration: valid)
        XCTAssertFalse(tracelet.status.tracking)
    }

    func testPlainHttpToARemoteHostIsRefused() {
        var config = valid
        config.endpoint = URL(string: "http://ingest.example.com/v1/batches")!
        assertInvalidConfiguration(config)
    }

    func testABadDeviceIdIsRefused() {
        var config = valid
        config.deviceId = "has spaces"
        assertInvalidConfiguration(config)
    }

    func testAnEmptyTokenIsRefused() {
        var config = valid
        config.bearerToken = ""
        assertInvalidConfiguration(config)
    }

    func testZeroBatchSizeIsRefused() {
        var config = valid
        config.maxBatchFixes = 0
        assertInvalidConfiguration(config)
    }

    func testANonFiniteUploadDelayIsRefusedInsteadOfTrapping() {
        var config = valid
        config.maxUploadDelay = .infinity
        assertInvalidConfiguration(config)
    }

    func testAStorageLocationThatIsNotAFileURLIsRefused() {
        var config = valid
        config.storageDirectory = URL(string: "https://example.com/queue")!
        assertInvalidConfiguration(config)
    }

    func testAnUnknownPresetNameIsRefusedByTheCore() {
        var config = valid
        config.preset = TraceletConfiguration.Preset(rawValue: "sporty")
        assertInvalidConfiguration(config)
    }

    func testEveryKnownPresetIsAccepted() throws {
        for preset in [TraceletConfiguration.Preset.efficient, .balanced, .continuous] {
            var config = valid
            config.preset = preset
            config.storageDirectory.appendPathComponent(preset.rawValue)
            XCTAssertNoThrow(try Tracelet(configuration: config), preset.rawValue)
        }
    }

    func testALowBatteryAndAnOverrideChangeTheSamplingRequest() throws {
        var config = valid
        config.storageDirectory.appendPathComponent("power")
        let tracelet = try Tracelet(configuration: config)
        let normal = tracelet.samplingRequest
        tracelet.setPowerState(batteryPercent: 9, charging: false, lowPowerMode: false)
        XCTAssertGreaterThan(tracelet.samplingRequest.intervalMs, normal.intervalMs)
        tracelet.setPowerState(batteryPercent: 9, charging: true, lowPowerMode: false)
        XCTAssertEqual(tracelet.samplingRequest, normal)
        try tracelet.setPolicyParameter("moving_interval_ms", to: 20_000)
        XCTAssertEqual(tracelet.samplingRequest.intervalMs, 20_000)
        XCTAssertThrowsError(try tracelet.setPolicyParameter("warp_factor", to: 9)) { error in
            guard case TraceletError.invalidConfiguration = error else {
                return XCTFail("expected invalidConfiguration, got \(error)")
            }
        }
    }

    private func assertInvalidConfiguration(
        _ config: TraceletConfiguration, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try Tracelet(configuration: config), file: file, line: line) { error in
            guard case TraceletError.invalidConfiguration(let reason) = error else {
                return XCTFail("expected invalidConfiguration, got \(error)", file: file, line: line)
            }
            XCTAssertFalse(reason.isEmpty, file: file, line: line)
            XCTAssertNotNil((error as? LocalizedError)?.errorDescription, file: file, line: line)
        }
    }
}
