import TraceletBindings

/// Hands the SDK a new bearer token when the server answers 401 (the token expired or was
/// revoked). Set it with ``Tracelet/setTokenProvider(_:)-(TokenProvider?)``, or pass a closure.
///
/// ``freshToken()`` runs on the SDK's own upload thread, not on the main thread or a Swift
/// concurrency executor, so it may block briefly, for example while a refresh request to your
/// backend completes. It is called at most once per upload round: if the new token is refused
/// too, the upload fails and is retried later with backoff. Return `nil` when there is no token
/// to offer; a thrown error counts as `nil`.
public protocol TokenProvider: Sendable {
    func freshToken() throws -> String?
}

struct ClosureTokenProvider: TokenProvider {
    let body: @Sendable () throws -> String?

    func freshToken() throws -> String? {
        try body()
    }
}

/// The app's provider as the core sees it. An app error must not reach Rust as a callback
/// failure it cannot describe, so it becomes "no token" here, as the core would treat it.
final class TokenProviderBridge: TraceletBindings.TokenProvider {
    private let provider: any TokenProvider

    init(_ provider: any TokenProvider) {
        self.provider = provider
    }

    func freshToken() -> String? {
        try? provider.freshToken()
    }
}
