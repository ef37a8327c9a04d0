package dev.tracelet

import android.app.Application
import android.content.Context
import dev.tracelet.platform.ActivityVisibleCallback
import dev.tracelet.platform.FlushScheduler
import dev.tracelet.platform.PermissionProbe
import dev.tracelet.platform.ScheduleWakeupsSetup
import dev.tracelet.platform.readBackgroundHealth
import dev.tracelet.platform.TrackingService
import dev.tracelet.platform.UiHiddenCallback
import dev.tracelet.platform.backgroundPermissionToRequest
import dev.tracelet.platform.oneShotLocationSource
import dev.tracelet.platform.permissionState
import dev.tracelet.platform.permissionsToRequest
import dev.tracelet.platform.removeLeftoverAlerts
import dev.tracelet.platform.reportAccess
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
 * Everything else is the one [TraceletClient] API, reached as [client]:
 * `Tracelet.client.addGeofences(...)`, `Tracelet.client.odometer()`...
 *
 * Call [configure] in `Application.onCreate`: Android creates the application before it restarts
 * tracking after a reboot, so the SDK is ready when the system needs it.
 *
 * Connectivity and the app going to the background reach the core by themselves: the tracking
 * service follows `ConnectivityManager`, and [configure] registers for the framework's
 * "UI hidden" callback, which uploads what is pending.
 */
object Tracelet {

    /** What [configure] set up; one per process. */
    internal class Runtime(val context: Context, val config: TraceletConfig, val client: TraceletClient)

    @Volatile private var runtime: Runtime? = null
    @Volatile private var tokenProvider: TokenProvider? = null
    private var uiHiddenCallback: UiHiddenCallback? = null
    private var visibleCallback: ActivityVisibleCallback? = null
    private val hub = EventHub()

    /** Whether the tracking service runs and receives positions in this process. */
    @Volatile private var serviceRunning = false

    /** Why tracking is on but no positions flow, until the service runs again. */
    @Volatile private var interruptionReason: String? = null

    /** How the foreground service is started; tests replace it to make Android refuse. */
    @Volatile internal var serviceStarter: (Context) -> Unit = TrackingService::start

    /**
     * Opens the queue in the app's no-backup directory (fixes must not be restored to another
     * device). Calling it again with the same config is a no-op; another config closes the
     * previous tracker before the new one opens the queue. To change the config while tracking,
     * call [stop] first, since the running service holds the previous tracker.
     *
     * [transport] sends every upload through the app's own HTTP stack (proxies, custom CAs,
     * pinning); `null` keeps the built-in HTTPS client. See [HttpUrlConnectionTransport].
     *
     * @throws TraceletException.InvalidConfig if the config is refused.
     */
    @Synchronized
    fun configure(context: Context, config: TraceletConfig, transport: HttpTransport? = null) {
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
            transport = transport,
        )
        client.setTokenProvider(tokenProvider)
        runtime = Runtime(appContext, config, client)
        hub.attach(client)
        ScheduleWakeupsSetup.attach(appContext, client, config.uploadOnlyUnmetered)
        if (uiHiddenCallback == null) {
            uiHiddenCallback = UiHiddenCallback(::onAppBackground).also { appContext.registerComponentCallbacks(it) }
        }
        if (visibleCallback == null && appContext is Application) {
            visibleCallback = ActivityVisibleCallback { resumeServiceIfInterrupted() }
                .also { appContext.registerActivityLifecycleCallbacks(it) }
        }
        // Queued fixes of an earlier run go out once there is a network, even if the app is
        // never opened again.
        if (client.status.pendingCount > 0) FlushScheduler.schedule(appContext, config.uploadOnlyUnmetered)
        // Tracking was on when the process died: the sticky restart's startForeground() is
        // refused from the background on Android 12+, so resume from here when allowed.
        resumeServiceIfInterrupted()
    }

    /**
     * Tracking is on but its service is not running (a refused sticky restart, a process kill):
     * start it again if the permission allows. Called by [configure] and whenever an activity of
     * the app becomes visible, the moments Android lets an app start a location service.
     */
    internal fun resumeServiceIfInterrupted() {
        val rt = runtime ?: return
        if (serviceRunning || !rt.client.status.isTracking) return
        if (!permissionState(rt.context).canTrack) return
        try {
            serviceStarter(rt.context)
        } catch (e: RuntimeException) {
            serviceRefused("foreground service refused: ${e.javaClass.simpleName}")
        }
    }

    /** Whether [configure] has run in this process. */
    val isConfigured: Boolean get() = runtime != null

    /**
     * Why tracking is on (`status.isTracking`) but no positions flow, or `null`: Android refused
     * to restart the location service from the background (Android 12+ after a process kill),
     * or the permission was revoked. The SDK restarts the service when an activity of the app
     * becomes visible; the same reason also came as [TraceletEvent.TrackingInterrupted].
     */
    val interruption: String? get() = interruptionReason

    /**
     * Starts tracking: the core accepts fixes and a foreground service of type `location` runs.
     * Call it from a visible activity: Android 12+ forbids starting the service from the background.
     *
     * The service is started first and the tracking flag saved only once Android accepted it,
     * so a refused start leaves tracking off instead of on with nothing flowing.
     *
     * @throws TraceletException.NotConfigured before [configure].
     * @throws TraceletException.PermissionMissing without a location permission or with location off.
     * @throws TraceletException.ForegroundServiceRefused when Android refuses the service
     *   (called from the background on Android 12+); tracking stays off.
     */
    fun start() {
        val rt = requireRuntime()
        val state = permissionState(rt.context)
        if (!state.canTrack) throw TraceletException.PermissionMissing(state)
        try {
            serviceStarter(rt.context)
        } catch (e: RuntimeException) {
            throw TraceletException.ForegroundServiceRefused(e.javaClass.simpleName, e)
        }
        try {
            rt.client.reportAccess(state)
            rt.client.start()
        } catch (e: TraceletException) {
            TrackingService.stop(rt.context)
            throw e
        }
        interruptionReason = null
        // Fixes queued while tracking go out even if the process dies before an upload.
        FlushScheduler.schedule(rt.context, unmeteredOnly = rt.config.uploadOnlyUnmetered)
    }

    /** Stops tracking; fixes already queued are still uploaded, by a job when the network allows. */
    fun stop() {
        val rt = requireRuntime()
        rt.client.stop()
        TrackingService.stop(rt.context)
        // The service may be long dead (process killed) with its proximity alerts still in the
        // OS: remove them whether or not this process registered them.
        removeLeftoverAlerts(rt.context)
        interruptionReason = null
        FlushScheduler.schedule(rt.context, unmeteredOnly = rt.config.uploadOnlyUnmetered)
    }

    /**
     * [TraceletClient.status] with what only Android can tell: whether the OS may stop the app
     * in the background ([BackgroundHealth]: battery optimisation, exact alarms, the maker's
     * own settings).
     *
     * @throws TraceletException.NotConfigured before [configure].
     */
    val status: TraceletStatus
        get() = requireRuntime().let { it.client.status.copy(backgroundHealth = readBackgroundHealth(it.context)) }

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
     * The SDK's API, the same on the JVM and on Android: record, flush, status, geofences,
     * trips, positions, odometer, privacy zones, headers... (see [TraceletClient]). Android
     * adds only what needs a `Context` around it: [configure], [start], [stop], the permission
     * helpers and [events]/[locations], which outlive a reconfiguration.
     *
     * @throws TraceletException.NotConfigured before [configure].
     */
    val client: TraceletClient get() = requireRuntime().client

    /** The UI was hidden: upload what is pending while the OS still lets the process run. */
    private fun onAppBackground() {
        runtime?.client?.onAppBackground()
    }

    /**
     * One position, tracking on or off ([TraceletClient.currentPosition], same arguments and
     * errors). While the tracking service runs, it samples as the request asks. Otherwise the
     * OS's location updates run for this request only, through the same sampling path, and
     * stop once it is answered, fails or is cancelled: call it while the app is in the
     * foreground, when Android allows location updates without a service.
     *
     * @throws TraceletException.NotConfigured before [configure].
     */
    suspend fun currentPosition(
        desiredAccuracyMeters: Double = 20.0,
        timeoutMillis: Long = 30_000,
        maxAgeMillis: Long = 0,
        persist: Boolean = false,
    ): TraceletLocation {
        val rt = requireRuntime()
        val answer = suspend {
            rt.client.currentPosition(desiredAccuracyMeters, timeoutMillis, maxAgeMillis, persist)
        }
        if (serviceRunning) return answer()
        val source = oneShotLocationSource(rt.context, rt.client)
        source.start()
        try {
            return answer()
        } finally {
            source.stop()
        }
    }

    /** Everything the SDK reports, from any thread; valid across [configure] calls. */
    val events: Flow<TraceletEvent> get() = hub.events

    /** Every accepted fix as a [TraceletLocation]; like [events], it outlives [configure]. */
    val locations: Flow<TraceletLocation> get() = hub.locations

    /** Where the app stands with the location permission right now. */
    fun permissionState(context: Context): PermissionState = permissionState(PermissionProbe.read(context))

    /**
     * The permissions to pass to `Activity.requestPermissions` before [start], empty once
     * tracking can start: any location permission ("while using the app" included). Background
     * location is not among them: it is the optional upgrade of [backgroundPermissionToRequest].
     */
    fun permissionsToRequest(context: Context): Array<String> {
        val wanted = permissionsToRequest(PermissionProbe.read(context))
        // Remember the request: it is how "not asked yet" differs from "denied".
        if (wanted.isNotEmpty()) PermissionProbe.markRequested(context)
        return wanted
    }

    /**
     * `ACCESS_BACKGROUND_LOCATION` when asking for it makes sense now (Android 10+, foreground
     * granted, background not, and declared in the app's manifest), else `null`. Ask for it as
     * its own step, after tracking started, with your own explanation: it lets tracking resume
     * after a reboot or a process kill without the user opening the app. Declining it is fine.
     */
    fun backgroundPermissionToRequest(context: Context): String? =
        backgroundPermissionToRequest(PermissionProbe.read(context), PermissionProbe.backgroundDeclared(context))

    internal fun runtimeOrNull(): Runtime? = runtime

    internal fun reportInterruption(reason: String) {
        hub.emit(TraceletEvent.TrackingInterrupted(reason))
    }

    /** The service could not enter the foreground: tracking is on, nothing flows. */
    internal fun serviceRefused(reason: String) {
        serviceRunning = false
        interruptionReason = reason
        reportInterruption(reason)
    }

    internal fun serviceRunning(running: Boolean) {
        serviceRunning = running
        if (running) interruptionReason = null
    }

    private fun requireRuntime(): Runtime = runtime ?: throw TraceletException.NotConfigured()
}
