import TraceletBindings

/// Fans values out to every `AsyncStream` handed out by ``subscribe(bufferingPolicy:)``, from
/// whichever thread sends them. When the broadcaster goes (the core dropped its listener at
/// shutdown), every stream finishes: nothing more can come.
final class Broadcaster<Element: Sendable>: Sendable {
    private struct Subscribers {
        var byId: [UInt64: AsyncStream<Element>.Continuation] = [:]
        var nextId: UInt64 = 0
    }

    private let subscribers = Locked(Subscribers())

    deinit {
        for continuation in subscribers.withLock({ $0.byId.values }) {
            continuation.finish()
        }
    }

    func subscribe(
        bufferingPolicy: AsyncStream<Element>.Continuation.BufferingPolicy
    ) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Element.self, bufferingPolicy: bufferingPolicy)
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

    func send(_ value: Element) {
        // Yield outside the lock: a consumer that ends its stream re-enters it via onTermination.
        for continuation in subscribers.withLock({ Array($0.byId.values) }) {
            continuation.yield(value)
        }
    }
}

/// The core's events, for ``Tracelet/events(bufferingPolicy:)``.
final class EventBroadcaster: TraceletListener, Sendable {
    let fanOut = Broadcaster<TraceletEvent>()

    func onEvent(event: TraceletEvent) throws {
        fanOut.send(event)
    }
}

/// Every accepted fix, for ``Tracelet/locations(bufferingPolicy:)``.
final class LocationBroadcaster: TraceletBindings.LocationListener, Sendable {
    let fanOut = Broadcaster<TraceletLocation>()

    func onLocation(location: TraceletLocation) throws {
        fanOut.send(location)
    }
}
