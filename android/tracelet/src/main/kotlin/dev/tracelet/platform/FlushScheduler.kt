package dev.tracelet.platform

import android.app.job.JobInfo
import android.app.job.JobScheduler
import android.content.ComponentName
import android.content.Context

/**
 * Schedules one flush for when a network is available. The core retries by itself while the
 * process lives; the job covers the case where it does not (tracking stopped, app killed).
 */
internal object FlushScheduler {
    // Fixed id: scheduling again replaces the pending job instead of piling them up.
    internal const val JOB_ID = 0x7ACE_F105

    /** [unmeteredOnly] mirrors `TraceletConfig.uploadOnlyUnmetered`: wait for such a network. */
    fun schedule(context: Context, unmeteredOnly: Boolean) {
        val network = if (unmeteredOnly) JobInfo.NETWORK_TYPE_UNMETERED else JobInfo.NETWORK_TYPE_ANY
        val job = JobInfo.Builder(JOB_ID, ComponentName(context, FlushJobService::class.java))
            .setRequiredNetworkType(network)
            // Survives a reboot (uses RECEIVE_BOOT_COMPLETED).
            .setPersisted(true)
            .setBackoffCriteria(BACKOFF_MILLIS, JobInfo.BACKOFF_POLICY_EXPONENTIAL)
            .build()
        context.requireSystemService<JobScheduler>().schedule(job)
    }

    private const val BACKOFF_MILLIS = 60_000L
}
