package dev.tracelet

import dev.tracelet.internal.LocationListener
import dev.tracelet.internal.TraceletListener
import java.io.File
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow
import dev.tracelet.internal.core.TraceletLocation as FfiLocation
import dev.tracelet.internal.core.SamplingRequest as FfiSamplingRequest
import dev.tracelet.internal.Tracelet as FfiTracelet
import dev.tracelet.internal.core.TraceletEvent as FfiEvent

/**
 * The platform-independent half of the SDK: one Rust tracker and its queue in [storageDir].
 * [markerDir] holds the queue's install marker and must be a directory that backups never copy
 * (Android's no-backup directory): a queue restored from a backup then finds no marker and
 * starts a new stream instead of repeating sequence numbers the server already has. `null`
 * keeps the marker beside the queue.
 * It needs no Android `Context`, which is what lets it run (and be tested) on a plain JVM; the
 * Android `Tracelet` object owns one of these and adds the OS around it.
 *
 * Every method is quick and safe from any thread: recording is a local SQLite write and uploads
 * run on the core's own thread. Only [flush] waits for the network, and it suspends.
 *
 * [transport] replaces the built-in HTTPS client with the app's own HTTP stack ([HttpTransport],
 * for example [HttpUrlConnectionTransport]); `null` keeps the built-in one.
 *
 * @throws TraceletException.InvalidConfig if the core refuses [config].
 * @throws TraceletException.Storage if the queue in [storageDir] cannot be opened.
 */
class TraceletClient(
    config: TraceletConfig,
    storageDir: File,
    markerDir: File? = null,
    transport: HttpTransport? = null,
) : AutoCloseable {

    // Internal so that the log's functions (Logs.kt) can reach it.
    internal val core: FfiTracelet = translatingErrors {
        val ffiConfig = config.toFfi(storageDir.absolutePath, markerDir?.absolutePath)
        if (transport == null) FfiTracelet(ffiConfig) else FfiTracelet.withTransport(ffiConfig, transport)
    }

    // The core calls the listener on the recording thread or its upload thread and needs it to
    // return at once: tryEmit never suspends, and a slow collector loses the oldest events
    // rather than stalling tracking.
    private val eventFlow = MutableSharedFlow<TraceletEvent>(
        extraBufferCapacity = EVENT_BUFFER,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    /** Events as they happen; hot, so collect before acting if you need every one. */
    val events: SharedFlow<TraceletEvent> = eventFlow.asSharedFlow()

    // Like events: never blocks the recording thread; a slow collector loses the oldest.
    private val locationFlow = MutableSharedFlow<TraceletLocation>(
        extraBufferCapacity = EVENT_BUFFER,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    /** Every accepted fix as a [TraceletLocation], once stored; hot, like [events]. */
    val locations: SharedFlow<TraceletLocation> = locationFlow.asSharedFlow()

    /** How many collectors listen to [locations]; lets tests wait instead of sleeping. */
    internal val locationSubscriberCount: Int get() = locationFlow.subscriptionCount.value

    /** How many collectors are listening; lets tests wait for a subscription instead of sleeping. */
    internal val subscriberCount: Int get() = eventFlow.subscriptionCount.value

    // The Android layer's hook for SamplingChanged: called on the core's thread, before the
    // event reaches the flow, so the OS request follows even when no app collects events.
    @Volatile private var samplingListener: ((FfiSamplingRequest) -> Unit)? = null

    // The same for RegionsChanged: the tracking service registers the app's regions with the OS.
    @Volatile private var regionListener: ((RegionRequest) -> Unit)? = null

    // The same for ScheduleChanged: the Android layer arms the next alarm and starts or stops
    // the service.
    @Volatile private var scheduleListener: ((TraceletEvent.ScheduleChanged) -> Unit)? = null

    init {
        core.attachLogSink(defaultLogSink(), LogLevel.INFO)
        core.setLocationListener(object : LocationListener {
            override fun onLocation(location: FfiLocation) {
                locationFlow.tryEmit(location.toPublic())
            }
        })
        core.setListener(object : TraceletListener {
            override fun onEvent(event: FfiEvent) {
                val public = event.toPublic()
                if (event is FfiEvent.SamplingChanged) samplingListener?.invoke(event.request)
                if (public is TraceletEvent.RegionsChanged) regionListener?.invoke(public.request)
                if (public is TraceletEvent.ScheduleChanged) scheduleListener?.invoke(public)
                eventFlow.tryEmit(public)
            }
        })
    }

    /** Accept fixes from now on; the core remembers this across restarts. */
    fun start(): Unit = translatingErrors { core.start() }

    /** Refuse fixes from now on; fixes already queued still upload. */
    fun stop(): Unit = translatingErrors { core.stop() }

    /**
     * Validates, filters and durably stores one fix.
     * @return [RecordOutcome.Stored] with its per-device sequence number, or
     *   [RecordOutcome.Filtered] if the on-device filter dropped it (a jump, a duplicate...).
     * @throws TraceletException.InvalidFix if the fix is invalid; nothing was stored.
     * @throws TraceletException.NotTracking if tracking is stopped.
     */
    fun record(fix: Fix): RecordOutcome = translatingErrors { core.record(fix.toFfi()).toPublic() }

    /**
     * Stores the kept fixes of a list in one transaction and reports the invalid and the
     * filtered ones by index.
     */
    fun record(fixes: List<Fix>): RecordResult =
        translatingErrors { core.recordBatch(fixes.map { it.toFfi() }).toPublic() }

    /**
     * Uploads everything pending and returns once the server has answered.
     * @throws TraceletException.Upload if the upload could not complete; fixes stay queued.
     */
    suspend fun flush(): FlushResult = translatingErrors { core.flush().toPublic() }

    /** A fresh snapshot of the tracker. */
    val status: TraceletStatus
        get() = core.status().toPublic()

    /**
     * Tells the core what the network is. Uploads wait while there is none, or while it is
     * metered and [TraceletConfig.uploadOnlyUnmetered] is set; regaining a usable network
     * uploads what is pending at once. The Android layer feeds this from `ConnectivityManager`
     * while tracking runs. Until the first call the core assumes an unmetered connection.
     *
     * @param unmetered Wi-Fi or Ethernet rather than cellular.
     */
    fun setNetwork(connected: Boolean, unmetered: Boolean) {
        core.setNetwork(networkState(connected, unmetered))
    }

    /**
     * Battery level (0-100, null if unknown), charging, and the OS's battery saver. A low battery
     * (15 % or less, not charging) or the saver makes the core sample and upload less.
     */
    fun setPowerState(batteryPercent: Int?, charging: Boolean, powerSave: Boolean) {
        core.setPowerState(
            dev.tracelet.internal.core.PowerState(
                batteryPercent = batteryPercent?.coerceIn(0, 100)?.toUByte(),
                charging = charging,
                powerSave = powerSave,
            ),
        )
    }

    /**
     * Overrides one sampling-policy parameter by name, such as `"stop_timeout_ms"` (the
     * README's preset table lists them).
     *
     * @throws TraceletException.InvalidConfig for an unknown name or a value out of range.
     */
    fun setPolicyParameter(name: String, value: Double): Unit =
        translatingErrors { core.setPolicyParameter(name, value) }

    /** The app went to the background: uploads what is pending now, while the OS still allows it. */
    fun onAppBackground() {
        core.onAppBackground()
    }

    /**
     * An activity transition from the OS (for example from `ActivityRecognition`, if the app uses
     * it). A change between still and moving is a motion change: what is queued is uploaded now.
     */
    fun onActivity(activity: UserActivity) {
        core.onActivity(activity.toFfi())
    }

    /**
     * The OS reports that the device left the stationary geofence ([SamplingRequest.stationaryGeofence]):
     * sampling resumes at once. The Android layer calls it from its proximity alert.
     */
    fun onGeofenceExit() {
        core.onGeofenceExit()
    }

    /**
     * The OS reports that the device entered or left the region [regionId]
     * ([RegionRequest.regions], by [Geofence.id]). The OS's word is not taken as it is:
     * sampling resumes, and the next accurate fixes confirm or deny the transition before any
     * [TraceletEvent.GeofenceTransitioned]. The Android layer calls it from its proximity alerts.
     */
    fun onRegionEvent(regionId: String) {
        core.onRegionEvent(regionId)
    }

    /**
     * Adds geofences, or replaces those with the same ids (their state starts over). All are
     * checked first: if one is invalid, none is added. Stored with the queue, so they survive
     * restarts. Events come as [TraceletEvent.GeofenceTransitioned], from the fixes recorded
     * while tracking.
     *
     * @throws TraceletException.InvalidGeofence if one is invalid; nothing was added.
     */
    fun addGeofences(geofences: List<Geofence>): Unit =
        translatingErrors { core.addGeofences(geofences.map { it.toFfi() }) }

    /**
     * Removes the geofence [id]; no [GeofenceTransition.EXIT] fires.
     * @return false if there was no geofence with that id.
     */
    fun removeGeofence(id: String): Boolean = translatingErrors { core.removeGeofence(id) }

    /** Adds one geofence, or replaces the one with its id; see [addGeofences]. */
    fun addGeofence(geofence: Geofence): Unit = addGeofences(listOf(geofence))

    /** Removes every geofence; no [GeofenceTransition.EXIT] fires. */
    fun removeAllGeofences(): Unit = translatingErrors { core.removeAllGeofences() }

    /** Every geofence, in the order first added. */
    val geofences: List<Geofence>
        get() = core.geofences().map { it.toPublic() }

    /**
     * The regions the OS should watch now (also announced as [TraceletEvent.RegionsChanged]);
     * empty until a fix has been recorded with geofences defined.
     */
    fun regionRequest(): RegionRequest = core.regionRequest().toPublic()

    /**
     * Starts a trip: every fix recorded until [endTrip] carries [id] to the server, which also
     * gets a `trip_start` event with [metadata]. A running trip is ended first. Kept across
     * restarts.
     *
     * @throws TraceletException.InvalidMetadata if [id] is not 1 to 128 characters or
     *   [metadata] is past its caps (16 entries, 1,024 bytes of keys and values).
     */
    fun startTrip(id: String, metadata: Map<String, String> = emptyMap()): Unit =
        translatingErrors { core.startTrip(id, metadata) }

    /**
     * Ends the running trip (the server gets `trip_end`).
     * @return its id, or `null` if no trip was running.
     */
    fun endTrip(): String? = translatingErrors { core.endTrip() }

    /** The id of the running trip, or `null`. */
    val currentTrip: String?
        get() = core.currentTrip()

    /**
     * Extras stamped on every fix recorded from now on, replacing the previous ones (an empty
     * map clears them); kept across restarts.
     *
     * @throws TraceletException.InvalidMetadata past 16 entries or 1,024 bytes of keys and
     *   values; the extras in force are kept.
     */
    fun setFixExtras(extras: Map<String, String>): Unit = translatingErrors { core.setFixExtras(extras) }

    /**
     * Describes the device to the server (app version, model, driver...): sent as a `device`
     * event now, and again only when it changes, also across restarts.
     *
     * @throws TraceletException.InvalidMetadata past 16 entries or 1,024 bytes of keys and values.
     */
    fun setDeviceMetadata(metadata: Map<String, String>): Unit =
        translatingErrors { core.setDeviceMetadata(metadata) }

    /**
     * Lets time-based decisions happen now (a still device sends no fixes, so a stop is noticed
     * by time). The core's own thread already does this at least every 15 s; replays and tests
     * call it to be exact.
     */
    fun tick() {
        core.tick()
    }

    /**
     * Replaces the bearer token (for example after the user signed in again) and retries
     * pending uploads with it.
     * @throws TraceletException.InvalidConfig if the token is empty or not visible ASCII.
     */
    fun setBearerToken(token: String): Unit = translatingErrors { core.setBearerToken(token) }

    /**
     * Replaces the app's headers from the next request on (empty removes them).
     * @throws TraceletException.InvalidHeader and keeps the headers in force.
     */
    fun setHeaders(headers: Map<String, String>): Unit = translatingErrors { core.setHeaders(headers.toHttpHeaders()) }

    fun headers(): Map<String, String> = core.headers().associate { it.name to it.value }

    /**
     * Replaces the batch `params` from the next request on (empty removes them).
     * @throws TraceletException.InvalidMetadata past the caps, and keeps the params in force.
     */
    fun setParams(params: Map<String, String>): Unit = translatingErrors { core.setParams(params) }

    fun params(): Map<String, String> = core.params()

    /** The newest accepted location, kept across restarts; `null` before the first one. */
    fun lastKnownLocation(): TraceletLocation? = core.lastKnownLocation()?.toPublic()

    /**
     * One position, whether tracking is on or off: the last known location if younger than
     * [maxAgeMillis]; otherwise the first fix that passes the filter with an accuracy of
     * [desiredAccuracyMeters] or better, or at [timeoutMillis] the most accurate one seen. While
     * it waits, [samplingRequest] asks for GNSS once a second. [persist] also queues the fix for
     * upload when tracking is off. Cancelling the coroutine withdraws the request.
     *
     * @throws TraceletException.Timeout if no fix came in time.
     * @throws TraceletException.PermissionDenied without location permission.
     * @throws TraceletException.InvalidArgument for an accuracy <= 0 or a timeout outside 1 ms to 1 day.
     */
    suspend fun currentPosition(
        desiredAccuracyMeters: Double = 20.0,
        timeoutMillis: Long = 30_000,
        maxAgeMillis: Long = 0,
        persist: Boolean = false,
    ): TraceletLocation = translatingErrors {
        if (timeoutMillis < 0 || maxAgeMillis < 0) {
            throw TraceletException.InvalidArgument("timeoutMillis and maxAgeMillis must not be negative")
        }
        core.currentPosition(desiredAccuracyMeters, timeoutMillis.toULong(), maxAgeMillis.toULong(), persist)
            .toPublic()
    }

    /** Whether a [currentPosition] call waits for a fix (the service keeps sampling meanwhile). */
    fun currentPositionPending(): Boolean = core.currentPositionPending()

    /** Distance travelled along accepted fixes, kept across restarts, with its uncertainty. */
    fun odometer(): OdometerReading = core.odometer()

    /**
     * Sets the odometer to [meters] (0 resets it).
     * @throws TraceletException.InvalidArgument for a negative or non-finite value; nothing changes.
     */
    fun resetOdometer(meters: Double = 0.0): Unit = translatingErrors { core.resetOdometer(meters) }

    /**
     * Replaces the privacy zones (empty removes them). Persisted; applied before any fix is stored.
     * @throws TraceletException.InvalidArgument for a bad id, centre or radius; the zones in force are kept.
     */
    fun setPrivacyZones(zones: List<PrivacyZone>): Unit = translatingErrors { core.setPrivacyZones(zones) }

    fun privacyZones(): List<PrivacyZone> = core.privacyZones()

    /**
     * Replaces the tracking schedule and applies it at once: tracking turns to what it says now,
     * then on and off at each window's edges ([TraceletEvent.ScheduleChanged]). [start] and [stop]
     * in between hold until the next edge. Stored with the queue. See `docs/schedules.md`.
     *
     * @return what the schedule says now, with the next transition.
     * @throws ScheduleException when the schedule is refused; the one in force is kept.
     */
    fun setSchedule(schedule: TrackingSchedule): ScheduleState = translatingScheduleErrors { core.setSchedule(schedule) }

    /** Removes the schedule; tracking stays as it is. @throws ScheduleException.Storage */
    fun clearSchedule(): Unit = translatingScheduleErrors { core.clearSchedule() }

    /** The schedule in force, or `null`. */
    val schedule: TrackingSchedule?
        get() = core.schedule()

    /**
     * Applies a schedule transition that has passed (the core's own thread does this while the
     * process runs; the Android layer calls it when its alarm fires). `null` without a schedule.
     * @throws ScheduleException.Storage if what it applied could not be stored.
     */
    fun applySchedule(): ScheduleState? = translatingScheduleErrors { core.applySchedule() }

    /** Asked for a new token when the server answers 401; `null` removes it. See [TokenProvider]. */
    fun setTokenProvider(provider: TokenProvider?) {
        core.setTokenProvider(provider?.toFfi())
    }

    /** What the core asks of the OS location API now; the Android layer applies it. */
    internal fun samplingRequest(): FfiSamplingRequest = core.samplingRequest()

    /**
     * Reports the location permission: approximate only makes the core store coarse fixes
     * instead of refusing every one; a change is told as [TraceletEvent.AccessChanged]. The
     * tracking service reports it when it starts.
     */
    fun setLocationAccess(granted: Boolean, precise: Boolean, background: Boolean) {
        core.setLocationAccess(dev.tracelet.internal.core.LocationAccess(granted, precise, background))
    }

    /** What the SDK records under the permission last reported. */
    val accessReport: AccessReport
        get() = core.accessReport().toPublic()

    /** The significant-motion sensor fired while stationary: sampling resumes at once. */
    fun onSignificantMotion() {
        core.onSignificantMotion()
    }

    /** What to apply to the OS now, given the wake-up sources the Android layer armed. */
    internal fun planUpdates(armed: dev.tracelet.internal.core.WakeSources): dev.tracelet.internal.core.UpdatesPlan =
        core.planUpdates(armed)

    /**
     * Called with every new sampling request, on the thread that caused it (the recording
     * thread, the core's upload thread, or the caller of [start]); must return at once.
     * One listener: the tracking service's location source.
     */
    internal fun setSamplingListener(listener: ((FfiSamplingRequest) -> Unit)?) {
        samplingListener = listener
    }

    /**
     * Removes [listener] if it is still the one set: a location source that stops must not
     * remove the listener of another that started after it (the tracking service's, once a
     * one-shot position request ends).
     */
    @Synchronized
    internal fun clearSamplingListener(listener: (FfiSamplingRequest) -> Unit) {
        if (samplingListener === listener) samplingListener = null
    }

    /**
     * Called with every new region request, like [setSamplingListener]; must return at once.
     * One listener: the tracking service's region alerts.
     */
    internal fun setRegionListener(listener: ((RegionRequest) -> Unit)?) {
        regionListener = listener
    }

    /** Called with every [TraceletEvent.ScheduleChanged], like [setSamplingListener]. */
    internal fun setScheduleListener(listener: ((TraceletEvent.ScheduleChanged) -> Unit)?) {
        scheduleListener = listener
    }

    /** Releases the tracker; later calls throw [TraceletException.ShutDown] or fail. */
    override fun close() {
        samplingListener = null
        regionListener = null
        scheduleListener = null
        core.setListener(null)
        core.setTokenProvider(null)
        core.close()
    }

    private companion object {
        const val EVENT_BUFFER = 256
    }
}
