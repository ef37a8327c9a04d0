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
    /// App-private directory for the queue database, e.g. inside Application Support. The SDK
    /// marks it excluded from backup: a queue restored onto another phone would repeat sequence
    /// numbers the server already has.
    public var storageDirectory: URL
    /// Where the queue's install marker lives: a directory that backups never copy, outside
    /// ``storageDirectory``. A queue restored without its marker starts a new stream, so two
    /// phones never share one. `nil` (the default) uses ``defaultMarkerDirectory``, which the
    /// SDK also excludes from backup.
    public var markerDirectory: URL?
    /// The app's own headers on every upload request (an API gateway's key, a tenant). Names the
    /// SDK sets itself are refused with ``TraceletError/invalidHeader(reason:)``.
    public var headers: [String: String]
    /// Extra fields in the `params` object of every batch (JSON bodies), at most 16 entries and
    /// 1,024 bytes.
    public var params: [String: String]
    /// Upload as soon as this many fixes are pending.
    public var batchTriggerCount: UInt32
    /// Most fixes in one request.
    public var maxBatchFixes: UInt32
    /// Upload pending fixes once the oldest has waited this long, in seconds; 0 (the default)
    /// takes the preset's interval (7.5 min balanced, 30 min efficient, 1 min continuous).
    public var maxUploadDelay: TimeInterval
    /// Upload only on unmetered networks (Wi-Fi, Ethernet: not expensive, not Low Data Mode);
    /// elsewhere fixes wait in the queue.
    public var uploadOnlyUnmetered: Bool
    /// The battery / track density trade-off: how often GNSS samples while moving, how soon a
    /// stop turns it off, how strict the filter is. See ``Preset``.
    public var preset: Preset
    /// The on-device filter (jumps, duplicates, out-of-order and vague fixes): ``Tracelet/record(_:)-(Fix)``
    /// returns `.filtered(reason:)` for the fixes it drops. Off, every valid fix is stored.
    public var filterEnabled: Bool
    /// Upload the filter's smoothed position beside the raw one.
    public var uploadSmoothed: Bool
    /// Kalman smoothing in the filter (`.fixSmoothed` events).
    public var smoothingEnabled: Bool
    /// Refuse fixes iOS flags as simulated (`CLLocationSourceInformation`), reason "mock".
    public var rejectMock: Bool
    /// Regions iOS may watch for this app: 20 (iOS's limit per app, the default). One is kept
    /// for the stationary geofence; the nearest app geofences get the others (see
    /// ``RegionRequest``). Lower it by the number of regions the app monitors itself.
    public var maxMonitoredRegions: UInt32

    /// A named sampling preset. The known ones are the static members; the core refuses any
    /// other name with ``TraceletError/invalidConfiguration(reason:)`` when the ``Tracelet`` is
    /// created (so a name from remote config needs no check of its own).
    public struct Preset: RawRepresentable, Equatable, Hashable, Sendable {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// Sparse sampling (every 10 s, 15 m or more apart), the cheapest stationary heartbeat.
        public static let efficient = Preset(rawValue: "efficient")
        /// The default: GNSS every 5 s (10 m or more apart) while moving, off while stationary.
        public static let balanced = Preset(rawValue: "balanced")
        /// Every fix, once a second, for a live track; a tighter accuracy gate; GNSS still
        /// stops when stationary.
        public static let continuous = Preset(rawValue: "continuous")
    }

    public init(
        endpoint: URL,
        deviceId: String,
        bearerToken: String,
        storageDirectory: URL,
        batchTriggerCount: UInt32 = 100,
        maxBatchFixes: UInt32 = 500,
        maxUploadDelay: TimeInterval = 0,
        uploadOnlyUnmetered: Bool = false,
        preset: Preset = .balanced,
        filterEnabled: Bool = true,
        uploadSmoothed: Bool = false,
        smoothingEnabled: Bool = true,
        rejectMock: Bool = false,
        maxMonitoredRegions: UInt32 = 20,
        markerDirectory: URL? = nil,
        headers: [String: String] = [:],
        params: [String: String] = [:]
    ) {
        self.endpoint = endpoint
        self.deviceId = deviceId
        self.bearerToken = bearerToken
        self.storageDirectory = storageDirectory
        self.batchTriggerCount = batchTriggerCount
        self.maxBatchFixes = maxBatchFixes
        self.maxUploadDelay = maxUploadDelay
        self.uploadOnlyUnmetered = uploadOnlyUnmetered
        self.preset = preset
        self.filterEnabled = filterEnabled
        self.uploadSmoothed = uploadSmoothed
        self.smoothingEnabled = smoothingEnabled
        self.rejectMock = rejectMock
        self.maxMonitoredRegions = maxMonitoredRegions
        self.markerDirectory = markerDirectory
        self.headers = headers
        self.params = params
    }

    /// The marker's directory when ``markerDirectory`` is `nil`: beside the storage directory,
    /// never inside it.
    public var defaultMarkerDirectory: URL {
        storageDirectory.deletingLastPathComponent()
            .appendingPathComponent(storageDirectory.lastPathComponent + "-marker", isDirectory: true)
    }

    /// The directory the marker actually goes to.
    var effectiveMarkerDirectory: URL {
        markerDirectory ?? defaultMarkerDirectory
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
        guard effectiveMarkerDirectory.isFileURL else {
            throw TraceletError.invalidConfiguration(reason: "markerDirectory must be a file URL")
        }
        return TraceletConfig(
            endpoint: endpoint.absoluteString,
            deviceId: deviceId,
            bearerToken: bearerToken,
            storageDir: storageDirectory.path,
            markerDir: effectiveMarkerDirectory.path,
            batchTriggerCount: batchTriggerCount,
            maxBatchFixes: maxBatchFixes,
            maxUploadDelayMs: Int64(delayMs.rounded()),
            uploadOnlyUnmetered: uploadOnlyUnmetered,
            preset: preset.rawValue,
            filterEnabled: filterEnabled,
            uploadSmoothed: uploadSmoothed,
            smoothingEnabled: smoothingEnabled,
            rejectMock: rejectMock,
            osMaxRegions: maxMonitoredRegions,
            headers: headers.httpHeaders,
            params: params
        )
    }
}

extension Dictionary where Key == String, Value == String {
    /// Headers in name order, so that two equal dictionaries send the same request.
    var httpHeaders: [HttpHeader] {
        sorted { $0.key < $1.key }.map { HttpHeader(name: $0.key, value: $0.value) }
    }
}
