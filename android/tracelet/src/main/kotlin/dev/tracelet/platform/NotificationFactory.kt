package dev.tracelet.platform

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.drawable.Icon
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
        val builder = Notification.Builder(context, settings.channelId)
        if (settings.smallIconRes != 0) builder.setSmallIcon(settings.smallIconRes) else builder.setSmallIcon(defaultSmallIcon())
        builder
            .setContentTitle(settings.title)
            .setOngoing(true)
            .setCategory(Notification.CATEGORY_SERVICE)
        if (settings.text.isNotEmpty()) builder.setContentText(settings.text)
        launchIntent(context)?.let { builder.setContentIntent(it) }
        return builder.build()
    }

    /**
     * A white location dot on transparency. Not the launcher icon: that is usually an adaptive
     * icon, which as a small icon crash-loops SystemUI on Android 8.0 and shows as a white blob
     * elsewhere; status-bar icons must be monochrome. Drawn, because the library ships no
     * compiled resources to the JVM build.
     */
    internal fun defaultSmallIcon(): Icon {
        val size = 48
        val bitmap = Bitmap.createBitmap(size, size, Bitmap.Config.ARGB_8888)
        val paint = Paint(Paint.ANTI_ALIAS_FLAG).apply { color = Color.WHITE }
        val canvas = Canvas(bitmap)
        canvas.drawCircle(size / 2f, size / 2f, size * 0.42f, paint.apply { style = Paint.Style.STROKE; strokeWidth = size * 0.1f })
        canvas.drawCircle(size / 2f, size / 2f, size * 0.18f, paint.apply { style = Paint.Style.FILL })
        return Icon.createWithBitmap(bitmap)
    }

    // Tapping the notification opens the app, which is what users expect of it.
    private fun launchIntent(context: Context): PendingIntent? {
        val intent = context.packageManager.getLaunchIntentForPackage(context.packageName) ?: return null
        return PendingIntent.getActivity(context, 0, intent, PendingIntent.FLAG_IMMUTABLE)
    }
}
