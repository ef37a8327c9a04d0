import Foundation
import TraceletBindings

/// What the app configures once, before creating a ``Tracelet``.
public struct TraceletConfiguration: Equatable, Hashable, Sendable {
    /// Ingest endpoint (`.../v1/batches`). HTTPS; plain HTTP only for loopback hosts.
    public var endpoint: URL
    /// Identifies this device to the server: 1-128 of `A-Z a-z 0-9 . _ : -`.
    public var deviceId: String
    /// Sent as `Authorization: Bearer <token>`.
    public var bearerToken: String
    /// App-private directory for the queue database, e.g. inside Application Support.
    public var storageDirectory: URL
    /// Upload as soon as this many fixes are pending.
    public var batchTriggerCount: UInt32
    /// Most fixes in one request.
    public var maxBatchFixes: UInt32
    /// Upload pending fixes once the oldest has waited this long, in seconds.
    public var maxUploadDelay: TimeInterval
    /// Upload only on unmetered networks (Wi-Fi, Ethernet: not expensive, not Low Data Mode);
    /// elsewhere fixes wait in the queue.
    public var uploadOnlyUnmetered: Bool

    public init(
        endpoint: URL,
        deviceId: String,
        bearerToken: String,
        storageDirectory: URL,
        batchTriggerCount: UInt32 = 100,
        maxBatchFixes: UInt32 = 500,
        maxUploadDelay: TimeInterval = 300,
        uploadOnlyUnmetered: Bool = false
    ) {
        self.endpoint = endpoint
        self.deviceId = deviceId
        self.bearerToken = bearerToken
        self.storageDirectory = storageDirectory
        self.batchTriggerCount = batchTriggerCount
        self.maxBatchFixes = maxBatchFixes
        self.maxUploadDelay = maxUploadDelay
        self.uploadOnlyUnmetered = uploadOnlyUnmetered
    }

    /// The core validates everything else; only what cannot cross the boundary is checked here
    /// (a non-finite `TimeInterval` would trap when converted to milliseconds).
    func bindingsConfig() throws -> TraceletConfig {
        let delayMs = maxUploadDelay * 1000
        guard delayMs.isFinite, delayMs >= 0, delayMs < Double(Int64.max) else {
            throw TraceletError.invalidConfiguration(
                reason: "maxUploadDelay must be a finite, non-negative number of seconds")
        }
        guard storageDirectory.isFileURL else {
            throw TraceletError.invalidConfiguration(reason: "storageDirectory must be a file URL")
        }
        return TraceletConfig(
            endpoint: endpoint.absoluteString,
            deviceId: deviceId,
            bearerToken: bearerToken,
            storageDir: storageDirectory.path,
            batchTriggerCount: batchTriggerCount,
            maxBatchFixes: maxBatchFixes,
            maxUploadDelayMs: Int64(delayMs.rounded()),
            uploadOnlyUnmetered: uploadOnlyUnmetered
        )
    }
}
