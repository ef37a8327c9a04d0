import Foundation
import TraceletBindings

/// The SDK's entry point: records fixes durably on the device and uploads them in batches.
///
/// Thread-safe; call it from any thread or task. No method blocks on the network: uploads run
/// on the core's own thread, and ``flush()`` suspends instead of blocking.
///
/// One instance per storage directory. Tracking state is persisted, so after a relaunch
/// ``status`` tells whether the app was tracking when it was terminated.
public final class Tracelet: Sendable {
    let core: TraceletBindings.Tracelet
    private let broadcaster = EventBroadcaster()
    private let locationBroadcaster = LocationBroadcaster()

    /// Configures the SDK: validates `configuration`, opens the queue in its storage directory
    /// and starts the upload thread. Fixes queued by an earlier run are uploaded as usual.
    ///
    /// `transport` sends every upload through the app's own HTTP stack (proxies, custom CAs,
    /// pinning; see ``URLSessionTransport``); `nil` keeps the built-in HTTPS client.
    ///
    /// - Throws: ``TraceletError/invalidConfiguration(reason:)`` or
    ///   ``TraceletError/storage(reason:)``.
    public convenience init(configuration: TraceletConfiguration, transport: (any HttpTransport)? = nil) throws {
        try self.init(configuration: configuration, backup: BackupExclusion.system, transport: transport)
    }

    /// As the public initializer, with the backup exclusion injected (tests record it on Linux,
    /// where no backup service exists).
    init(configuration: TraceletConfiguration, backup: BackupExclusion, transport: (any HttpTransport)? = nil) throws {
        let config = try configuration.bindingsConfig()
        for directory in [configuration.storageDirectory, configuration.effectiveMarkerDirectory] {
            do {
                try backup.exclude(directory)
            } catch {
                throw TraceletError.storage(
                    reason: "cannot prepare \(directory.lastPathComponent): \(error.localizedDescription)")
            }
        }
        core = try bridged {
            if let transport {
                try TraceletBindings.Tracelet.withTransport(config: config, transport: HttpTransportBridge(transport))
            } else {
                try TraceletBindings.Tracelet(config: config)
            }
        }
        core.setListener(listener: broadcaster)
        core.setLocationListener(listener: locationBroadcaster)
        core.setLogSink(sink: defaultLogSink().map(LogSinkBridge.init), minLevel: .info)
    }

    /// Begins accepting fixes. Persisted across app launches.
    public func start() throws {
        try bridged { try core.start() }
    }

    /// Stops accepting fixes. What is already queued is still uploaded.
    public func stop() throws {
        try bridged { try core.stop() }
    }

    /// Validates, filters and durably stores one fix: when this returns `.stored`, the fix
    /// survives the app being killed.
    ///
    /// - Returns: `.stored(seq:)` with the fix's per-device sequence number, or
    ///   `.filtered(reason:)` when the on-device filter judged the valid fix bad (a jump, a
    ///   duplicate, out of order, too vague...). That is not an error: it is counted in
    ///   ``TraceletStatus`` `rejectedByReason`; turn the filter off with
    ///   ``TraceletConfiguration/filterEnabled``.
    /// - Throws: ``TraceletError/invalidFix(reason:)``, ``TraceletError/notTracking``, or
    ///   ``TraceletError/storage(reason:)``.
    @discardableResult
    public func record(_ fix: Fix) throws -> RecordOutcome {
        try bridged { try core.record(fix: fix) }
    }

    /// Stores the kept fixes of a batch (as the OS delivers them) in one transaction; invalid
    /// and filtered ones are reported per index and do not affect the others.
    ///
    /// - Throws: ``TraceletError/notTracking`` or ``TraceletError/storage(reason:)``.
    @discardableResult
    public func record(_ fixes: [Fix]) throws -> RecordBatchResult {
        let result = try bridged { try core.recordBatch(fixes: fixes) }
        return RecordBatchResult(
            acceptedSequenceNumbers: result.acceptedSeqs,
            rejected: result.rejected.map {
                RecordBatchResult.Rejection(index: Int($0.index), error: TraceletError($0.error))
            },
            filtered: result.filtered.map {
                RecordBatchResult.Filtering(index: Int($0.index), reason: $0.reason)
            }
        )
    }

    /// Uploads everything pending now, ignoring any backoff. Returns when the queue is empty or
    /// an upload failed; failed fixes stay queued and are retried later.
    ///
    /// - Throws: ``TraceletError/upload(reason:)`` or ``TraceletError/shutDown``.
    @discardableResult
    public func flush() async throws -> FlushResult {
        try await bridged { try await core.flush() }
    }

    /// Queue size, counters and the last upload outcome.
    public var status: TraceletStatus {
        core.status()
    }

    /// Tells the core what the network is. Uploads wait while there is none, or while it is
    /// metered and ``TraceletConfiguration/uploadOnlyUnmetered`` is set; regaining a usable
    /// network uploads what is pending at once. ``LocationTracker`` feeds this from
    /// `NWPathMonitor`; until the first call the core assumes an unmetered connection.
    ///
    /// - Parameter unmetered: Wi-Fi or Ethernet rather than cellular (not expensive, not
    ///   constrained, in `NWPath` terms).
    public func setNetwork(connected: Bool, unmetered: Bool) {
        core.setNetwork(network: NetworkState(connected: connected, unmetered: unmetered))
    }

    /// Battery level (0-100, nil if unknown), charging, and Low Power Mode. A low battery (15 %
    /// or less, not charging) or Low Power Mode makes the core sample and upload less.
    public func setPowerState(batteryPercent: Int?, charging: Bool, lowPowerMode: Bool) {
        core.setPowerState(power: PowerState(
            batteryPercent: batteryPercent.map { UInt8(clamping: $0) },
            charging: charging,
            powerSave: lowPowerMode))
    }

    /// Overrides one sampling-policy parameter by name, such as "stop_timeout_ms" (the README's
    /// preset table lists them). Throws `TraceletError.invalidConfiguration` for an unknown
    /// name or a value out of range.
    public func setPolicyParameter(_ name: String, to value: Double) throws {
        try bridged { try core.setPolicyParameter(name: name, value: value) }
    }

    /// The app moved to the background: uploads what is pending now, while iOS still lets the
    /// app run. ``LocationTracker`` calls it on `UIApplication.didEnterBackgroundNotification`.
    public func onAppBackground() {
        core.onAppBackground()
    }

    /// An activity transition (for example from `CMMotionActivityManager`). A change between
    /// still and moving is a motion change: what is queued is uploaded now.
    public func onActivity(_ activity: UserActivity) {
        core.onActivity(activity: activity)
    }

    /// The device left the stationary geofence (``SamplingRequest`` `stationaryGeofence`):
    /// sampling resumes at once. ``LocationTracker`` calls it from region monitoring; call it
    /// yourself if your app watches the geofence another way.
    public func onGeofenceExit() {
        core.onGeofenceExit()
    }

    /// Lets time-based decisions happen now (a still device sends no fixes, so a stop is
    /// noticed by time). The SDK's upload thread already does this at least every 15 seconds;
    /// replays and tests call it to be exact.
    public func tick() {
        core.tick()
    }

    /// Replaces the bearer token (for example after the user signed in again) and retries
    /// pending uploads with it.
    ///
    /// - Throws: ``TraceletError/invalidConfiguration(reason:)`` if the token is empty or not
    ///   visible ASCII.
    public func setBearerToken(_ token: String) throws {
        try bridged { try core.setBearerToken(token: token) }
    }

    /// Asked for a new token when the server answers 401; `nil` removes it. See
    /// ``TokenProvider``.
    /// Replaces the app's headers from the next request on (empty removes them).
    ///
    /// - Throws: ``TraceletError/invalidHeader(reason:)`` (a name the SDK sets itself, a line
    ///   break in a value...); the headers in force are kept.
    public func setHeaders(_ headers: [String: String]) throws {
        try bridged { try core.setHeaders(headers: headers.httpHeaders) }
    }

    /// The app's headers in force.
    public var headers: [String: String] {
        Dictionary(core.headers().map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Replaces the batch `params` from the next request on (empty removes them).
    ///
    /// - Throws: ``TraceletError/invalidMetadata(reason:)`` past 16 entries or 1,024 bytes;
    ///   the params in force are kept.
    public func setParams(_ params: [String: String]) throws {
        try bridged { try core.setParams(params: params) }
    }

    /// The batch params in force.
    public var params: [String: String] {
        core.params()
    }

    public func setTokenProvider(_ provider: (any TokenProvider)?) {
        core.setTokenProvider(provider: provider.map(TokenProviderBridge.init))
    }

    /// The closure form of ``setTokenProvider(_:)-(TokenProvider?)``: `freshToken` runs on the
    /// SDK's upload thread.
    public func setTokenProvider(_ freshToken: @escaping @Sendable () throws -> String?) {
        setTokenProvider(ClosureTokenProvider(body: freshToken))
    }

    /// The sampling the OS location API should apply now; see ``LocationSettings``.
    public var samplingRequest: SamplingRequest {
        core.samplingRequest()
    }

    // MARK: Geofences

    /// Adds geofences, or replaces those with the same ids (their state starts over). All are
    /// validated first: if one is invalid, none is added. Persisted: they survive relaunches.
    ///
    /// Transitions arrive as `.geofence(transition:id:timeMs:)` events, decided by the core on
    /// the fixes it accepts (so they need tracking on, or the OS waking the app: see
    /// ``LocationTracker``), and are uploaded with the geofence's metadata.
    ///
    /// - Throws: ``TraceletError/invalidGeofence(reason:)`` or ``TraceletError/storage(reason:)``.
    public func addGeofences(_ geofences: [Geofence]) throws {
        try bridged { try core.addGeofences(geofences: geofences) }
    }

    /// Adds one geofence, or replaces the one with its id; see ``addGeofences(_:)``.
    public func addGeofence(_ geofence: Geofence) throws {
        try addGeofences([geofence])
    }

    /// Removes a geofence; `false` if none had that id. No `.exit` fires.
    @discardableResult
    public func removeGeofence(id: String) throws -> Bool {
        try bridged { try core.removeGeofence(id: id) }
    }

    /// Removes every geofence. No `.exit` fires.
    public func removeAllGeofences() throws {
        try bridged { try core.removeAllGeofences() }
    }

    /// Every geofence, in the order first added.
    public var geofences: [Geofence] {
        core.geofences()
    }

    /// The app geofences the OS should watch now (nearest first); each change is also announced
    /// with a `.regionsChanged(request:)` event. ``LocationTracker`` applies it.
    public var regionRequest: RegionRequest {
        core.regionRequest()
    }

    /// The OS reported entering or leaving the region of app geofence `regionId` (one of the
    /// ``regionRequest``). The OS's word is not taken as the transition: sampling resumes, and
    /// the next accurate fixes confirm it before a `.geofence` event fires. ``LocationTracker``
    /// calls it from region monitoring; call it yourself if your app watches regions another way.
    public func onRegionEvent(regionId: String) {
        core.onRegionEvent(regionId: regionId)
    }

    // MARK: Trips and metadata

    /// Starts a trip: every fix recorded until ``endTrip()`` carries `id` (uploaded as `tr`), and
    /// the server gets a `trip_start` event with `metadata`. A running trip is ended first.
    /// Persisted across relaunches.
    ///
    /// - Throws: ``TraceletError/invalidMetadata(reason:)`` for an id not of 1-128 characters or
    ///   metadata past the limits (16 entries, 1,024 bytes of keys and values).
    public func startTrip(id: String, metadata: [String: String] = [:]) throws {
        try bridged { try core.startTrip(id: id, metadata: metadata) }
    }

    /// Ends the running trip (the server gets `trip_end`); returns its id, or `nil` if no trip
    /// was running.
    @discardableResult
    public func endTrip() throws -> String? {
        try bridged { try core.endTrip() }
    }

    /// The running trip's id, if any.
    public var currentTrip: String? {
        core.currentTrip()
    }

    /// Extras stamped on every fix recorded from now on (uploaded as `x`); an empty dictionary
    /// clears them. Persisted across relaunches.
    ///
    /// - Throws: ``TraceletError/invalidMetadata(reason:)`` past 16 entries or 1,024 bytes of
    ///   keys and values (or a key empty or longer than 64 characters); the extras in force are
    ///   kept.
    public func setFixExtras(_ extras: [String: String]) throws {
        try bridged { try core.setFixExtras(extras: extras) }
    }

    /// Describes the device to the server (app version, model, driver...): sent as a `device`
    /// event, again only when it changes, also across relaunches.
    ///
    /// - Throws: ``TraceletError/invalidMetadata(reason:)`` past the limits of
    ///   ``setFixExtras(_:)``.
    public func setDeviceMetadata(_ metadata: [String: String]) throws {
        try bridged { try core.setDeviceMetadata(metadata: metadata) }
    }

    // MARK: Events

    /// A new stream of the SDK's events from now on. Each call returns an independent stream;
    /// all of them finish when this `Tracelet` is released.
    ///
    /// Events are delivered in the order each thread produced them. A consumer slower than the
    /// events loses the oldest beyond the buffer, never blocking the SDK.
    public func events(
        bufferingPolicy: AsyncStream<TraceletEvent>.Continuation.BufferingPolicy =
            .bufferingNewest(1024)
    ) -> AsyncStream<TraceletEvent> {
        broadcaster.fanOut.subscribe(bufferingPolicy: bufferingPolicy)
    }

    /// Every accepted fix as a ``TraceletLocation``, once stored: one stream per call, each
    /// sees every location from its creation on.
    public func locations(
        bufferingPolicy: AsyncStream<TraceletLocation>.Continuation.BufferingPolicy =
            .bufferingNewest(1024)
    ) -> AsyncStream<TraceletLocation> {
        locationBroadcaster.fanOut.subscribe(bufferingPolicy: bufferingPolicy)
    }

    /// The newest accepted location, kept across launches; `nil` before the first one.
    public var lastKnownLocation: TraceletLocation? {
        core.lastKnownLocation()
    }

    /// One position, whether tracking is on or off: the last known location if younger than
    /// `maxAge`; otherwise the first fix that passes the filter with `desiredAccuracy` metres or
    /// better, or at `timeout` the most accurate one seen. While it waits,
    /// ``samplingRequest`` asks for GNSS once a second. `persist` also queues the fix for upload
    /// when tracking is off.
    ///
    /// - Throws: ``TraceletError/timeout``, ``TraceletError/permissionDenied``, or
    ///   ``TraceletError/invalidArgument(reason:)``.
    public func currentPosition(
        desiredAccuracy: Double = 20, timeout: TimeInterval = 30, maxAge: TimeInterval = 0,
        persist: Bool = false
    ) async throws -> TraceletLocation {
        guard timeout.isFinite, timeout >= 0, maxAge.isFinite, maxAge >= 0,
            timeout < 1e9, maxAge < 1e9
        else {
            throw TraceletError.invalidArgument(reason: "timeout and maxAge must be finite, non-negative seconds")
        }
        return try await bridged {
            try await core.currentPosition(
                desiredAccuracyM: desiredAccuracy, timeoutMs: UInt64(timeout * 1000),
                maxAgeMs: UInt64(maxAge * 1000), persist: persist)
        }
    }

    /// Whether a ``currentPosition(desiredAccuracy:timeout:maxAge:persist:)`` call waits for a fix.
    public var currentPositionPending: Bool {
        core.currentPositionPending()
    }

    /// Distance travelled along accepted fixes, kept across launches, with its uncertainty.
    public var odometer: OdometerReading {
        core.odometer()
    }

    /// Sets the odometer (0 resets it).
    ///
    /// - Throws: ``TraceletError/invalidArgument(reason:)`` for a negative or non-finite value;
    ///   nothing changes.
    public func resetOdometer(_ meters: Double = 0) throws {
        try bridged { try core.resetOdometer(meters: meters) }
    }

    /// Replaces the privacy zones (empty removes them); persisted and applied before any fix is
    /// stored.
    ///
    /// - Throws: ``TraceletError/invalidArgument(reason:)``; the zones in force are kept.
    public func setPrivacyZones(_ zones: [PrivacyZone]) throws {
        try bridged { try core.setPrivacyZones(zones: zones) }
    }

    public var privacyZones: [PrivacyZone] {
        core.privacyZones()
    }
}
