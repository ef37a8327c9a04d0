package dev.tracelet

import android.content.Context
import dev.tracelet.platform.FlushScheduler
import dev.tracelet.platform.PermissionProbe
import dev.tracelet.platform.TrackingService
import dev.tracelet.platform.UiHiddenCallback
import dev.tracelet.platform.permissionState
import dev.tracelet.platform.permissionsToRequest
import java.io.File
import kotlinx.coroutines.flow.Flow

/**
 * The Android entry point.
 *
 * ```
 * Tracelet.configure(applicationContext, TraceletConfig(endpoint, deviceId, token))  // Application.onCreate
 * Tracelet.start()                                                                   // after the permission
 * ```
 *
 * Call [configure] in `Application.onCreate`: Android creates the application before it restarts
 * tracking after a reboot, so the SDK is ready when the system needs it.
 *
 * Connectivity and the app going to the background reach the core by themselves: the tracking
 * service follows `ConnectivityManager`, and [configure] registers for the framework's
 * "UI hidden" callback, which calls [onAppBackground].
 */
object Tracelet {

    /** What [configure] set up; one per process. */
    internal class Runtime(val context: Context, val config: TraceletConfig, val client: TraceletClient)

    @Volatile private var runtime: Runtime? = null
    @Volatile private var tokenProvider: TokenProvider? = null
    private var uiHiddenCallback: UiHiddenCallback? = null
    private val hub = EventHub()

    /**
     * Opens the queue in the app's no-backup directory (fixes must not be restored to another
     * device). Calling it again with the same config is a no-op; another config closes the
     * previous tracker before the new one opens the queue. To change the config while tracking,
     * call [stop] first, since the running service holds the previous tracker.
     *
     * @throws TraceletException.InvalidConfig if the config is refused.
     */
    @Synchronized
    fun configure(context: Context, config: TraceletConfig) {
        val appContext = context.applicationContext ?: context
        if (runtime?.config == config) return
        // The previous tracker goes first: two uploaders must never share one queue database.
        // If the new config is refused, the SDK is left unconfigured and says so.
        runtime?.client?.close()
        runtime = null
        hub.attach(null)
        // Both in the no-backup directory, which neither Auto Backup nor device-to-device
        // transfer copies; the marker sits outside the queue's directory so that an app that
        // moves or deletes the queue still leaves the marker to compare against.
        val client = TraceletClient(
            config,
            storageDir = File(appContext.noBackupFilesDir, "tracelet"),
            markerDir = appContext.noBackupFilesDir,
        )
        client.setTokenProvider(tokenProvider)
        runtime = Runtime(appContext, config, client)
        hub.attach(client)
        if (uiHiddenCallback == null) {
            uiHiddenCallback = UiHiddenCallback(::onAppBackground).also { appContext.registerComponentCallbacks(it) }
        }
    }

    /** Whether [configure] has run in this process. */
    val isConfigured: Boolean get() = runtime != null

    /**
     * Starts tracking: the core accepts fixes and a foreground service of type `location` runs.
     * Call it from a visible activity: Android 12+ forbids starting the service from the background.
     *
     * @throws TraceletException.NotConfigured before [configure].
     * @throws TraceletException.PermissionMissing without a location permission or with location off.
     */
    fun start() {
        val rt = requireRuntime()
        val state = permissionState(rt.context)
        if (!state.canTrack) throw TraceletException.PermissionMissing(state)
        rt.client.start()
        TrackingService.start(rt.context)
    }

    /** Stops tracking; fixes already queued are still uploaded, by a job when the network allows. */
    fun stop() {
        val rt = requireRuntime()
        rt.client.stop()
        TrackingService.stop(rt.context)
        FlushScheduler.schedule(rt.context, unmeteredOnly = rt.config.uploadOnlyUnmetered)
    }

    /** Uploads everything pending and returns once the server answered. */
    suspend fun flush(): FlushResult = requireRuntime().client.flush()

    /** A fresh snapshot of the tracker. */
    val status: TraceletStatus get() = requireRuntime().client.status

    /**
     * Replaces the bearer token of the current configuration (for example after the user signed
     * in again); a later [configure] uses the token of its own config.
     *
     * @throws TraceletException.InvalidConfig if the token is empty or not visible ASCII.
     * @throws TraceletException.NotConfigured before [configure].
     */
    fun setBearerToken(token: String) {
        requireRuntime().client.setBearerToken(token)
    }

    /**
     * Asked for a new token when the server answers 401, on the SDK's upload thread; `null`
     * removes it. Kept across [configure] calls, so it may be set before the first one.
     */
    @Synchronized
    fun setTokenProvider(provider: TokenProvider?) {
        tokenProvider = provider
        runtime?.client?.setTokenProvider(provider)
    }

    /**
     * Overrides what the SDK knows about the network until the next connectivity change; the
     * tracking service reports those itself. Regaining a usable network uploads at once.
     */
    fun setNetwork(connected: Boolean, unmetered: Boolean) {
        requireRuntime().client.setNetwork(connected, unmetered)
    }

    /**
     * Uploads what is pending now, while the OS still lets the process run. Called by the SDK
     * when the app's UI is hidden; call it yourself for other moments (say, a finished trip).
     * Does nothing before [configure].
     */
    fun onAppBackground() {
        runtime?.client?.onAppBackground()
    }

    /** An activity transition from the OS; see [TraceletClient.onActivity]. Does nothing before [configure]. */
    fun onActivity(activity: UserActivity) {
        runtime?.client?.onActivity(activity)
    }

    /**
     * The device left the stationary geofence: sampling resumes at once. The SDK's proximity
     * alert calls it; call it yourself if your app monitors the geofence
     * ([SamplingRequest.stationaryGeofence]) another way. Does nothing before [configure].
     */
    fun onGeofenceExit() {
        runtime?.client?.onGeofenceExit()
    }

    /**
     * The OS reports that the device entered or left the app region [regionId]: sampling
     * resumes and the next fixes decide the transition. The SDK's proximity alerts call it; call
     * it yourself if your app watches [TraceletEvent.RegionsChanged] regions another way. Does
     * nothing before [configure].
     */
    fun onRegionEvent(regionId: String) {
        runtime?.client?.onRegionEvent(regionId)
    }

    /**
     * Adds geofences, or replaces those with the same ids; stored, so they survive restarts.
     * While tracking, the SDK registers the nearest ones with the OS (up to 99) and reports
     * [TraceletEvent.GeofenceTransitioned]. See [TraceletClient.addGeofences].
     *
     * @throws TraceletException.InvalidGeofence if one is invalid; none was added.
     * @throws TraceletException.NotConfigured before [configure].
     */
    fun addGeofences(geofences: List<Geofence>) {
        requireRuntime().client.addGeofences(geofences)
    }

    /**
     * Removes the geofence [id]; false if there was none.
     * @throws TraceletException.NotConfigured before [configure].
     */
    fun removeGeofence(id: String): Boolean = requireRuntime().client.removeGeofence(id)

    /** @throws TraceletException.NotConfigured before [configure]. */
    fun removeAllGeofences() {
        requireRuntime().client.removeAllGeofences()
    }

    /**
     * Every geofence, in the order first added.
     * @throws TraceletException.NotConfigured before [configure].
     */
    val geofences: List<Geofence> get() = requireRuntime().client.geofences

    /**
     * Starts a trip: fixes carry [id] until [endTrip]; see [TraceletClient.startTrip].
     *
     * @throws TraceletException.InvalidMetadata for an id or metadata past the caps.
     * @throws TraceletException.NotConfigured before [configure].
     */
    fun startTrip(id: String, metadata: Map<String, String> = emptyMap()) {
        requireRuntime().client.startTrip(id, metadata)
    }

    /**
     * Ends the running trip and returns its id, `null` if none was running.
     * @throws TraceletException.NotConfigured before [configure].
     */
    fun endTrip(): String? = requireRuntime().client.endTrip()

    /**
     * The id of the running trip, or `null`.
     * @throws TraceletException.NotConfigured before [configure].
     */
    val currentTrip: String? get() = requireRuntime().client.currentTrip

    /**
     * Extras stamped on every fix recorded from now on (empty clears them).
     *
     * @throws TraceletException.InvalidMetadata past 16 entries or 1,024 bytes of keys and values.
     * @throws TraceletException.NotConfigured before [configure].
     */
    fun setFixExtras(extras: Map<String, String>) {
        requireRuntime().client.setFixExtras(extras)
    }

    /**
     * Describes the device to the server; sent when it changes, also across restarts.
     *
     * @throws TraceletException.InvalidMetadata past 16 entries or 1,024 bytes of keys and values.
     * @throws TraceletException.NotConfigured before [configure].
     */
    fun setDeviceMetadata(metadata: Map<String, String>) {
        requireRuntime().client.setDeviceMetadata(metadata)
    }

    /** Everything the SDK reports, from any thread; valid across [configure] calls. */
    val events: Flow<TraceletEvent> get() = hub.events

    /** Where the app stands with the location permission right now. */
    fun permissionState(context: Context): PermissionState = permissionState(PermissionProbe.read(context))

    /**
     * The permissions to pass to `Activity.requestPermissions` next, empty when nothing is
     * missing. The background permission is asked as a second step (Android 11+ requires that)
     * and only if the app declares it in its manifest.
     */
    fun permissionsToRequest(context: Context): Array<String> {
        val wanted = permissionsToRequest(PermissionProbe.read(context), PermissionProbe.backgroundDeclared(context))
        // Remember the request: it is how "not asked yet" differs from "denied".
        if (wanted.isNotEmpty()) PermissionProbe.markRequested(context)
        return wanted
    }

    internal fun runtimeOrNull(): Runtime? = runtime

    internal fun reportInterruption(reason: String) {
        hub.emit(TraceletEvent.TrackingInterrupted(reason))
    }

    private fun requireRuntime(): Runtime = runtime ?: throw TraceletException.NotConfigured()
}
