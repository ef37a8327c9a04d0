package dev.tracelet

import java.util.UUID
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

/** The stream behind `Tracelet.events`: subscribable before configure, follows reconfiguration. */
class EventHubTest {

    @Test
    fun `a collector subscribed before configure gets the core's and the platform's events`() = runBlocking {
        val hub = EventHub()
        val storage = tempStorageDir("tracelet-hub")
        try {
            CollectorProcess.start().use { collector ->
                val received = async(start = CoroutineStart.UNDISPATCHED) {
                    // start() also reports the sampling it asks for; this test is about delivery.
                    withTimeout(10_000) { hub.events.filter { it !is TraceletEvent.SamplingChanged }.take(3).toList() }
                }
                TraceletClient(config(collector, "hub-" + UUID.randomUUID().toString().take(8)), storage).use { client ->
                    hub.attach(client)
                    // flatMapLatest subscribes to the client on the collector's coroutine.
                    withTimeout(5_000) { while (client.subscriberCount == 0 || hub.platformSubscribers == 0) yield() }
                    client.start()
                    val seq = client.record(walk(1).single()).seq()
                    hub.emit(TraceletEvent.TrackingInterrupted("test"))
                    assertEquals(
                        setOf(
                            TraceletEvent.TrackingChanged(true),
                            TraceletEvent.FixAccepted(seq),
                            TraceletEvent.TrackingInterrupted("test"),
                        ),
                        received.await().toSet(),
                    )
                }
            }
        } finally {
            storage.deleteTree()
        }
    }

    @Test
    fun `platform events arrive without a client`() = runBlocking {
        val hub = EventHub()
        val first = async(start = CoroutineStart.UNDISPATCHED) { withTimeout(5_000) { hub.events.first() } }
        withTimeout(5_000) { while (hub.platformSubscribers == 0) yield() }
        hub.emit(TraceletEvent.TrackingInterrupted("no provider"))
        assertEquals(TraceletEvent.TrackingInterrupted("no provider"), first.await())
    }
}
