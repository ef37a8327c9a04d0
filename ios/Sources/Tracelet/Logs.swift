import Foundation
import TraceletBindings
#if canImport(os)
import os
#endif

// The SDK's own log: what support asks a user for when "it stopped tracking". The core keeps a
// bounded log beside its queue (no coordinates in it, ever) and hands records to a sink as they
// happen: `os.Logger` by default on Apple platforms; on Linux, where there is no system log,
// no sink is attached unless the app sets one.

/// How important a record is: `.error`, `.warn`, `.info`, `.debug`, `.trace`.
public typealias LogLevel = TraceletBindings.LogLevel
/// One line of the SDK's log (`timeMs`, `level`, `target`, `message`); never holds a coordinate.
public typealias LogRecord = TraceletBindings.LogRecord
/// The on-device log's level (`minLevel`) and bounds (`maxBytes`, at least 16 KiB, and
/// `maxAgeMs`); past a bound the oldest records go first.
public typealias LogSettings = TraceletBindings.LogSettings

/// Receives the SDK's log records on the SDK's log thread (never a tracking thread).
public protocol LogSink: Sendable {
    func onLog(_ record: LogRecord)
}

/// Why a log call did nothing; an export wrote no file and the log is unchanged.
public enum LogError: Error, Equatable {
    /// The directory of the export destination does not exist.
    case destinationMissing(path: String)
    case destinationIsDirectory(path: String)
    /// Bounds under 16 KiB or an age that is not positive.
    case invalidSettings(reason: String)
    /// Writing failed (a full disk), or the tracker was released.
    case failed(reason: String)

    init(_ error: TraceletBindings.LogError) {
        switch error {
        case .DestinationMissing(let path): self = .destinationMissing(path: path)
        case .DestinationIsDirectory(let path): self = .destinationIsDirectory(path: path)
        case .InvalidSettings(let reason): self = .invalidSettings(reason: reason)
        case .Failed(let reason): self = .failed(reason: reason)
        }
    }
}

#if canImport(os)
/// Sends each record to the unified log (subsystem "dev.tracelet", category "sdk").
public struct OSLogSink: LogSink {
    private let logger = Logger(subsystem: "dev.tracelet", category: "sdk")

    public init() {}

    public func onLog(_ record: LogRecord) {
        let text = "\(record.target): \(record.message)"
        switch record.level {
        case .error: logger.error("\(text, privacy: .public)")
        case .warn: logger.warning("\(text, privacy: .public)")
        case .info: logger.info("\(text, privacy: .public)")
        case .debug, .trace: logger.debug("\(text, privacy: .public)")
        }
    }
}
#endif

/// The sink attached when a tracker opens: ``OSLogSink`` on Apple platforms, none on Linux.
/// Pass it to ``Tracelet/setLogSink(_:minLevel:)`` to restore it after attaching another.
public func defaultLogSink() -> (any LogSink)? {
    #if canImport(os)
    return OSLogSink()
    #else
    return nil
    #endif
}

extension Tracelet {
    /// Hands every SDK log record at `minLevel` or above to `sink`; `nil` detaches it.
    public func setLogSink(_ sink: (any LogSink)?, minLevel: LogLevel = .info) {
        core.setLogSink(sink: sink.map(LogSinkBridge.init), minLevel: minLevel)
    }

    /// Changes the on-device log's level and bounds; a tighter bound evicts at once.
    ///
    /// - Throws: ``LogError/invalidSettings(reason:)``; the settings in force are kept.
    public func setLogSettings(_ settings: LogSettings) throws {
        try bridgedLog { try core.setLogSettings(settings: settings) }
    }

    /// The on-device log, oldest first.
    public func logRecords() throws -> [LogRecord] {
        try bridgedLog { try core.logRecords() }
    }

    /// Writes the on-device log to `destination` (a file URL whose directory exists) as gzip
    /// text, one record a line, ready to attach to a support email.
    ///
    /// - Returns: the number of records written.
    /// - Throws: ``LogError/destinationMissing(path:)`` when the directory does not exist;
    ///   nothing is written and the log is unchanged.
    @discardableResult
    public func exportLogs(to destination: URL) throws -> UInt64 {
        try bridgedLog { try core.exportLogs(destination: destination.path) }
    }
}

/// The app's sink as the core's callback interface.
final class LogSinkBridge: TraceletBindings.LogSink, Sendable {
    let sink: any LogSink

    init(_ sink: any LogSink) {
        self.sink = sink
    }

    func onLog(record: LogRecord) throws {
        sink.onLog(record)
    }
}

private func bridgedLog<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch let error as TraceletBindings.LogError {
        throw LogError(error)
    }
}
