package dev.tracelet

import dev.tracelet.internal.core.Fix as FfiFix
import dev.tracelet.internal.core.FlushResult as FfiFlushResult
import dev.tracelet.internal.Geofence as FfiGeofence
import dev.tracelet.internal.GeofenceShape as FfiGeofenceShape
import dev.tracelet.internal.core.GeofenceTransition as FfiGeofenceTransition
import dev.tracelet.internal.LatLon as FfiLatLon
import dev.tracelet.internal.core.TraceletLocation as FfiLocation
import dev.tracelet.internal.core.MotionState as FfiMotionState
import dev.tracelet.internal.core.NetworkState as FfiNetworkState
import dev.tracelet.internal.core.Provider as FfiProvider
import dev.tracelet.internal.core.Priority as FfiPriority
import dev.tracelet.internal.RecordBatchResult as FfiRecordBatchResult
import dev.tracelet.internal.core.RecordOutcome as FfiRecordOutcome
import dev.tracelet.internal.core.RegionRequest as FfiRegionRequest
import dev.tracelet.internal.core.SamplingRequest as FfiSamplingRequest
import dev.tracelet.internal.core.StationaryGeofence as FfiStationaryGeofence
import dev.tracelet.internal.TraceletConfig as FfiConfig
import dev.tracelet.internal.core.TraceletEvent as FfiEvent
import dev.tracelet.internal.TraceletException as FfiException
import dev.tracelet.internal.core.TraceletStatus as FfiStatus
import dev.tracelet.internal.TokenProvider as FfiTokenProvider
import dev.tracelet.internal.core.UploadOutcome as FfiUploadOutcome

// Every conversion between the public API and the generated bindings lives here, so the
// generated types never leak and a binding change breaks exactly one file.

/**
 * Android watches up to 100 geofences per app (the core keeps one of them for the stationary
 * geofence); the core's default, 20, is iOS's limit.
 */
internal const val ANDROID_MAX_REGIONS = 100

internal fun TraceletConfig.toFfi(storageDir: String, markerDir: String? = null): FfiConfig {
    // Negative sizes would wrap around as unsigned values; refuse them here with the same type
    // the core uses for its own checks.
    if (batchTriggerCount < 1) throw TraceletException.InvalidConfig("batchTriggerCount must be >= 1")
    if (maxBatchFixes < 1) throw TraceletException.InvalidConfig("maxBatchFixes must be >= 1")
    return FfiConfig(
        endpoint = endpoint,
        deviceId = deviceId,
        bearerToken = bearerToken,
        storageDir = storageDir,
        markerDir = markerDir,
        batchTriggerCount = batchTriggerCount.toUInt(),
        maxBatchFixes = maxBatchFixes.toUInt(),
        maxUploadDelayMs = maxUploadDelayMillis,
        uploadOnlyUnmetered = uploadOnlyUnmetered,
        preset = preset.presetName,
        filterEnabled = filterEnabled,
        uploadSmoothed = uploadSmoothed,
        smoothingEnabled = smoothingEnabled,
        rejectMock = rejectMock,
        osMaxRegions = ANDROID_MAX_REGIONS.toUInt(),
        headers = headers.toHttpHeaders(),
        params = params,
    )
}

internal fun Fix.toFfi(): FfiFix = FfiFix(
    timeMs = timeMillis,
    latitudeDeg = latitude,
    longitudeDeg = longitude,
    horizontalAccuracyM = accuracyMeters,
    altitudeM = altitudeMeters,
    verticalAccuracyM = verticalAccuracyMeters,
    speedMps = speedMetersPerSecond,
    speedAccuracyMps = speedAccuracyMetersPerSecond,
    bearingDeg = bearingDegrees,
    bearingAccuracyDeg = bearingAccuracyDegrees,
    provider = provider.toFfi(),
    isMock = isMock,
    elapsedRealtimeNs = elapsedRealtimeNanos,
)

internal fun Provider.toFfi(): FfiProvider = when (this) {
    Provider.GPS -> FfiProvider.GPS
    Provider.FUSED -> FfiProvider.FUSED
    Provider.NETWORK -> FfiProvider.NETWORK
    Provider.PASSIVE -> FfiProvider.PASSIVE
    Provider.UNKNOWN -> FfiProvider.UNKNOWN
}

internal fun FfiProvider.toPublic(): Provider = when (this) {
    FfiProvider.GPS -> Provider.GPS
    FfiProvider.FUSED -> Provider.FUSED
    FfiProvider.NETWORK -> Provider.NETWORK
    FfiProvider.PASSIVE -> Provider.PASSIVE
    FfiProvider.UNKNOWN -> Provider.UNKNOWN
}

internal fun FfiException.toPublic(): TraceletException = when (this) {
    is FfiException.InvalidFix -> TraceletException.InvalidFix(reason, this)
    is FfiException.InvalidConfig -> TraceletException.InvalidConfig(reason, this)
    is FfiException.Storage -> TraceletException.Storage(reason, this)
    is FfiException.StorageFull -> TraceletException.StorageFull(this)
    is FfiException.NotTracking -> TraceletException.NotTracking(this)
    is FfiException.Upload -> TraceletException.Upload(reason, this)
    is FfiException.ShutDown -> TraceletException.ShutDown(this)
    is FfiException.InvalidGeofence -> TraceletException.InvalidGeofence(reason, this)
    is FfiException.InvalidMetadata -> TraceletException.InvalidMetadata(reason, this)
    is FfiException.InvalidHeader -> TraceletException.InvalidHeader(reason, this)
    is FfiException.InvalidArgument -> TraceletException.InvalidArgument(reason, this)
    is FfiException.Timeout -> TraceletException.Timeout(this)
    is FfiException.PermissionDenied -> TraceletException.PermissionDenied(this)
}

internal fun FfiLocation.toPublic(): TraceletLocation = TraceletLocation(
    seq = seq.toLong(),
    timeMillis = timeMs,
    latitude = latitudeDeg,
    longitude = longitudeDeg,
    accuracyMeters = accuracyM,
    smoothedLatitude = smoothedLatitudeDeg,
    smoothedLongitude = smoothedLongitudeDeg,
    smoothedAccuracyMeters = smoothedAccuracyM,
    speedMetersPerSecond = speedMps,
    bearingDegrees = bearingDeg,
    altitudeMeters = altitudeM,
    provider = provider.toPublic(),
    isMock = isMock,
    motionState = motionState.toPublic(),
    tripId = tripId,
    odometerMeters = odometerM,
    odometerUncertaintyMeters = odometerUncertaintyM,
)

internal fun Map<String, String>.toHttpHeaders(): List<HttpHeader> = map { (name, value) -> HttpHeader(name, value) }

/** Runs a call into the core and rethrows its errors as the public hierarchy. */
internal inline fun <T> translatingErrors(block: () -> T): T =
    try {
        block()
    } catch (e: FfiException) {
        throw e.toPublic()
    }

internal fun FfiStatus.toPublic(): TraceletStatus = TraceletStatus(
    isTracking = tracking,
    pendingCount = pendingCount.toLong(),
    acceptedTotal = acceptedTotal.toLong(),
    rejectedTotal = rejectedTotal.toLong(),
    uploadedTotal = uploadedTotal.toLong(),
    uploadedBytes = uploadedBytes.toLong(),
    deadLetteredTotal = deadLetteredTotal.toLong(),
    evictedTotal = evictedTotal.toLong(),
    uploadAttempts = uploadAttempts.toLong(),
    deliveryAnomalies = deliveryAnomalies.toLong(),
    privacyDroppedTotal = privacyDroppedTotal.toLong(),
    privacyCoarsenedTotal = privacyCoarsenedTotal.toLong(),
    storageRecovered = storageRecovered,
    lastUpload = lastUpload?.toPublic(),
    motionState = motionState?.toPublic(),
    rejectedByReason = rejectedByReason.associate { it.reason to it.count.toLong() },
    schedule = schedule,
)

internal fun FfiMotionState.toPublic(): MotionState = when (this) {
    FfiMotionState.MOVING -> MotionState.MOVING
    FfiMotionState.STOPPING -> MotionState.STOPPING
    FfiMotionState.STATIONARY -> MotionState.STATIONARY
}

internal fun FfiSamplingRequest.toPublic(): SamplingRequest = SamplingRequest(
    priority = when (priority) {
        FfiPriority.HIGH_ACCURACY -> SamplingPriority.HIGH_ACCURACY
        FfiPriority.BALANCED -> SamplingPriority.BALANCED
        FfiPriority.LOW_POWER -> SamplingPriority.LOW_POWER
        FfiPriority.PASSIVE -> SamplingPriority.PASSIVE
    },
    intervalMillis = intervalMs,
    fastestIntervalMillis = fastestIntervalMs,
    minDistanceMeters = minDistanceM,
    maxBatchDelayMillis = maxBatchDelayMs,
    stationaryGeofence = stationaryGeofence?.toPublic(),
)

internal fun FfiStationaryGeofence.toPublic(): StationaryGeofence =
    StationaryGeofence(latitude = latitudeDeg, longitude = longitudeDeg, radiusMeters = radiusM)

internal fun FfiRecordOutcome.toPublic(): RecordOutcome = when (this) {
    is FfiRecordOutcome.Stored -> RecordOutcome.Stored(seq.toLong())
    is FfiRecordOutcome.Filtered -> RecordOutcome.Filtered(reason.stableName())
}

internal fun FfiUploadOutcome.toPublic(): UploadResult = when (this) {
    is FfiUploadOutcome.Delivered -> UploadResult.Delivered(fixes.toLong(), atMs)
    is FfiUploadOutcome.Failed -> UploadResult.Failed(reason, atMs, retryAtMs)
    is FfiUploadOutcome.DeadLettered -> UploadResult.DeadLettered(httpStatus.toInt(), atMs)
}

internal fun FfiFlushResult.toPublic(): FlushResult =
    FlushResult(uploaded.toLong(), batches.toLong(), pending.toLong())

internal fun FfiRecordBatchResult.toPublic(): RecordResult = RecordResult(
    acceptedSeqs = acceptedSeqs.map { it.toLong() },
    rejected = rejected.map { RecordResult.RejectedFix(it.index.toInt(), it.error.toPublic()) },
    filtered = filtered.map { RecordResult.FilteredFix(it.index.toInt(), it.reason) },
)

internal fun FfiEvent.toPublic(): TraceletEvent = when (this) {
    is FfiEvent.FixAccepted -> TraceletEvent.FixAccepted(seq.toLong())
    is FfiEvent.FixSmoothed -> TraceletEvent.FixSmoothed(seq.toLong(), smoothed.latitudeDeg, smoothed.longitudeDeg, smoothed.accuracyM)
    is FfiEvent.FixRejected -> TraceletEvent.FixRejected(reason)
    is FfiEvent.TrackingChanged -> TraceletEvent.TrackingChanged(tracking)
    is FfiEvent.UploadSucceeded -> TraceletEvent.UploadSucceeded(firstSeq.toLong(), lastSeq.toLong())
    is FfiEvent.UploadFailed -> TraceletEvent.UploadFailed(reason, retryInMs)
    is FfiEvent.BatchDeadLettered ->
        TraceletEvent.BatchDeadLettered(firstSeq.toLong(), lastSeq.toLong(), httpStatus.toInt())
    is FfiEvent.DeliveryAnomaly ->
        TraceletEvent.DeliveryAnomaly(firstSeq.toLong(), lastSeq.toLong(), duplicates.toLong(), eventDuplicates.toLong())
    is FfiEvent.FixesEvicted -> TraceletEvent.FixesEvicted(count.toLong(), reason)
    is FfiEvent.StorageRecovered -> TraceletEvent.StorageRecovered(quarantinedFile)
    is FfiEvent.MotionChanged -> TraceletEvent.MotionChanged(state.toPublic(), reason.stableName())
    is FfiEvent.SamplingChanged -> TraceletEvent.SamplingChanged(request.toPublic())
    is FfiEvent.Geofence -> TraceletEvent.GeofenceTransitioned(transition.toPublic(), id, timeMs)
    is FfiEvent.RegionsChanged -> TraceletEvent.RegionsChanged(request.toPublic())
    is FfiEvent.AccessChanged -> TraceletEvent.AccessChanged(report.toPublic())
    is FfiEvent.ScheduleChanged -> TraceletEvent.ScheduleChanged(tracking, nextTransitionMs)
}

internal fun Geofence.toFfi(): FfiGeofence = FfiGeofence(
    id = id,
    shape = when (shape) {
        is GeofenceShape.Circle -> FfiGeofenceShape.Circle(shape.latitude, shape.longitude, shape.radiusMeters)
        is GeofenceShape.Polygon -> FfiGeofenceShape.Polygon(shape.vertices.map { FfiLatLon(it.latitude, it.longitude) })
    },
    metadata = metadata,
    dwellMs = dwellMillis,
)

internal fun FfiGeofence.toPublic(): Geofence = Geofence(
    id = id,
    shape = when (val s = shape) {
        is FfiGeofenceShape.Circle -> GeofenceShape.Circle(s.latitude, s.longitude, s.radiusM)
        is FfiGeofenceShape.Polygon -> GeofenceShape.Polygon(s.vertices.map { LatLon(it.latitude, it.longitude) })
    },
    metadata = metadata,
    dwellMillis = dwellMs,
)

internal fun FfiGeofenceTransition.toPublic(): GeofenceTransition = when (this) {
    FfiGeofenceTransition.ENTER -> GeofenceTransition.ENTER
    FfiGeofenceTransition.EXIT -> GeofenceTransition.EXIT
    FfiGeofenceTransition.DWELL -> GeofenceTransition.DWELL
}

internal fun FfiRegionRequest.toPublic(): RegionRequest =
    RegionRequest(regions.map { OsRegion(it.id, it.centerLat, it.centerLon, it.radiusM) })

/** The core's stable snake_case name ("implied_speed"), which events and counters use. */
internal fun Enum<*>.stableName(): String = name.lowercase()

internal fun networkState(connected: Boolean, unmetered: Boolean): FfiNetworkState =
    FfiNetworkState(connected = connected, unmetered = unmetered)

/**
 * The app's provider as the core sees it. It runs on the core's upload thread; an exception
 * from app code must not unwind into Rust, so it counts as "no token" and the upload fails
 * with the 401 as it would have without a provider.
 */
internal fun TokenProvider.toFfi(): FfiTokenProvider {
    val provider = this
    return object : FfiTokenProvider {
        override fun freshToken(): String? =
            try {
                provider.freshToken()
            } catch (e: Exception) {
                null
            }
    }
}

internal fun dev.tracelet.internal.core.AccessReport.toPublic(): AccessReport = AccessReport(
    mode = when (mode) {
        dev.tracelet.internal.core.RecordingMode.PRECISE -> RecordingMode.PRECISE
        dev.tracelet.internal.core.RecordingMode.APPROXIMATE -> RecordingMode.APPROXIMATE
        dev.tracelet.internal.core.RecordingMode.BLOCKED -> RecordingMode.BLOCKED
    },
    backgroundWake = backgroundWake,
)
