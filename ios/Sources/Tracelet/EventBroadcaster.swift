import TraceletBindings

/// Receives the core's events (on whichever thread caused them) and fans them out to every
/// `AsyncStream` handed out by ``Tracelet/events(bufferingPolicy:)``.
///
/// The core holds the only lasting reference, so the streams finish exactly when the core has
/// shut down and can send nothing more.
final class EventBroadcaster: TraceletListener, Sendable {
    private struct Subscribers {
        var byId: [UInt64: AsyncStream<TraceletEvent>.Continuation] = [:]
        var nextId: UInt64 = 0
    }

    private let subscribers = Locked(Subscribers())

    deinit {
        for continuation in subscribers.withLock({ $0.byId.values }) {
            continuation.finish()
        }
    }

    func subscribe(
        bufferingPolicy: AsyncStream<TraceletEvent>.Continuation.BufferingPolicy
    ) -> AsyncStream<TraceletEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: TraceletEvent.self, bufferingPolicy: bufferingPolicy)
        let id = subscribers.withLock { state in
            defer { state.nextId += 1 }
            state.byId[state.nextId] = continuation
            return state.nextId
        }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.byId.removeValue(forKey: id) }
        }
        return stream
    }

    func onEvent(event: TraceletEvent) throws {
        // Yield outside the lock: a consumer that ends its stream re-enters it via onTermination.
        for continuation in subscribers.withLock({ Array($0.byId.values) }) {
            continuation.yield(event)
        }
    }
}
