/// What ``Tracelet/record(_:)-(Array)`` stored and refused.
public struct RecordBatchResult: Equatable, Hashable, Sendable {
    /// Sequence numbers of the stored fixes, in the order they were passed.
    public var acceptedSequenceNumbers: [UInt64]
    /// The invalid fixes: their position in the list passed, and the error.
    public var rejected: [Rejection]
    /// The valid fixes the on-device filter dropped: their position and the reason name
    /// (see ``RecordOutcome``).
    public var filtered: [Filtering]

    public struct Rejection: Equatable, Hashable, Sendable {
        public var index: Int
        public var error: TraceletError
    }

    public struct Filtering: Equatable, Hashable, Sendable {
        public var index: Int
        /// A stable short name such as `implied_speed`.
        public var reason: String
    }
}
