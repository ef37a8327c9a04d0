/// What ``Tracelet/record(_:)-(Array)`` stored and refused.
public struct RecordBatchResult: Equatable, Hashable, Sendable {
    /// Sequence numbers of the stored fixes, in the order they were passed.
    public var acceptedSequenceNumbers: [UInt64]
    /// The refused fixes: their position in the list passed, and why.
    public var rejected: [Rejection]

    public struct Rejection: Equatable, Hashable, Sendable {
        public var index: Int
        public var error: TraceletError
    }
}
