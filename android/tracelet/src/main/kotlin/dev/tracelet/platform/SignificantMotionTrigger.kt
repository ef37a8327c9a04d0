package dev.tracelet.platform

import android.hardware.Sensor
import android.hardware.SensorManager
import android.hardware.TriggerEvent
import android.hardware.TriggerEventListener

/**
 * A one-shot wake-up on movement while stationary. An interface so that [LocationSource]'s use
 * of it is tested against a fake.
 */
internal interface MotionTrigger {
    /** Arms the trigger (once; arming again while armed is a no-op). False if it cannot be armed. */
    fun arm(onMotion: () -> Unit): Boolean

    fun disarm()
}

/**
 * Android's `TYPE_SIGNIFICANT_MOTION` sensor: a low-power trigger that fires when the user starts
 * walking, cycling or riding. `addProximityAlert` is evaluated only every 30 minutes or so while
 * the phone is still, so without this a trip start was noticed late. Devices without the sensor
 * fall back to the proximity alert and the heartbeat.
 */
internal class SignificantMotionTrigger(private val sensors: SensorManager?) : MotionTrigger {
    private val sensor: Sensor? = sensors?.getDefaultSensor(Sensor.TYPE_SIGNIFICANT_MOTION)
    private var listener: TriggerEventListener? = null

    @Synchronized
    override fun arm(onMotion: () -> Unit): Boolean {
        if (listener != null) return true
        val manager = sensors ?: return false
        val motion = sensor ?: return false
        val armed = object : TriggerEventListener() {
            override fun onTrigger(event: TriggerEvent?) {
                // The sensor disarms itself when it fires.
                synchronized(this@SignificantMotionTrigger) { listener = null }
                onMotion()
            }
        }
        if (!manager.requestTriggerSensor(armed, motion)) return false
        listener = armed
        return true
    }

    @Synchronized
    override fun disarm() {
        val armed = listener ?: return
        listener = null
        sensors?.cancelTriggerSensor(armed, sensor)
    }
}
