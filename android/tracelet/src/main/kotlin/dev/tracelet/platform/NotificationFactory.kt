package dev.tracelet.platform

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import dev.tracelet.NotificationSettings

/** Builds the ongoing notification of the location service from [NotificationSettings]. */
internal object NotificationFactory {

    fun build(context: Context, settings: NotificationSettings): Notification {
        val manager = context.requireSystemService<NotificationManager>()
        // Creating an existing channel is a no-op, so the app may pre-create it with its own
        // wording; LOW importance keeps a permanent notification silent.
        manager.createNotificationChannel(
            NotificationChannel(settings.channelId, settings.channelName, NotificationManager.IMPORTANCE_LOW),
        )
        val icon = settings.smallIconRes.takeIf { it != 0 } ?: context.applicationInfo.icon
        val builder = Notification.Builder(context, settings.channelId)
            .setSmallIcon(icon)
            .setContentTitle(settings.title)
            .setOngoing(true)
            .setCategory(Notification.CATEGORY_SERVICE)
        if (settings.text.isNotEmpty()) builder.setContentText(settings.text)
        launchIntent(context)?.let { builder.setContentIntent(it) }
        return builder.build()
    }

    // Tapping the notification opens the app, which is what users expect of it.
    private fun launchIntent(context: Context): PendingIntent? {
        val intent = context.packageManager.getLaunchIntentForPackage(context.packageName) ?: return null
        return PendingIntent.getActivity(context, 0, intent, PendingIntent.FLAG_IMMUTABLE)
    }
}
