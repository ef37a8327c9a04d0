package dev.tracelet

/**
 * The notification Android requires while the location foreground service runs.
 *
 * @property channelId notification channel the SDK creates (or reuses if the app created it).
 * @property channelName user-visible channel name in the system settings.
 * @property title first line of the notification.
 * @property text second line of the notification.
 * @property smallIconRes drawable resource id of a monochrome (white on transparent) icon; 0 uses
 *   the SDK's own location dot. Never pass the launcher icon: adaptive icons crash SystemUI on 8.0.
 * @property notificationId id of the ongoing notification; change it if it collides with the app's.
 */
data class NotificationSettings(
    val channelId: String = "tracelet.tracking",
    val channelName: String = "Location tracking",
    val title: String = "Location tracking is on",
    val text: String = "",
    val smallIconRes: Int = 0,
    val notificationId: Int = 0x7ACE,
)
