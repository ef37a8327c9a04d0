package dev.tracelet

import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.emptyFlow
import kotlinx.coroutines.flow.flatMapLatest
import kotlinx.coroutines.flow.merge

/**
 * One event stream that exists before `configure` and outlives a reconfiguration: the core's
 * events of whichever client is current, merged with the Android layer's own.
 */
internal class EventHub {
    private val current = MutableStateFlow<TraceletClient?>(null)
    private val platform = MutableSharedFlow<TraceletEvent>(
        extraBufferCapacity = 16,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    @OptIn(ExperimentalCoroutinesApi::class)
    val events: Flow<TraceletEvent> = merge(
        current.flatMapLatest { it?.events ?: emptyFlow() },
        platform,
    )

    /** Every accepted fix of whichever client is current. */
    @OptIn(ExperimentalCoroutinesApi::class)
    val locations: Flow<TraceletLocation> = current.flatMapLatest { it?.locations ?: emptyFlow() }

    /** How many collectors listen to the platform events; for tests, see [TraceletClient.subscriberCount]. */
    internal val platformSubscribers: Int get() = platform.subscriptionCount.value

    fun attach(client: TraceletClient?) {
        current.value = client
    }

    fun emit(event: TraceletEvent) {
        platform.tryEmit(event)
    }
}
