package dev.tracelet.platform

import android.app.job.JobParameters
import android.app.job.JobService
import android.net.ConnectivityManager
import dev.tracelet.Tracelet
import dev.tracelet.TraceletException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/** Runs [FlushScheduler]'s job: one flush once the network is there, rescheduled if it fails. */
internal class FlushJobService : JobService() {

    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private var running: Job? = null

    override fun onStartJob(params: JobParameters): Boolean {
        val runtime = Tracelet.runtimeOrNull() ?: return false
        // The tracking service may have stopped while offline, leaving the core believing it
        // still is; the job runs because a network is there, so tell the core which.
        runtime.client.setNetwork(requireSystemService<ConnectivityManager>().currentNetworkCapabilities())
        running = scope.launch {
            val retry = try {
                runtime.client.flush().pending > 0
            } catch (e: TraceletException.Upload) {
                true
            } catch (e: TraceletException) {
                false
            }
            jobFinished(params, retry)
        }
        return true
    }

    // The system withdrew the network or our time: the fixes stay queued, try again later.
    override fun onStopJob(params: JobParameters): Boolean {
        running?.cancel()
        return true
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
