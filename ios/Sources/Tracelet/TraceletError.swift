import Foundation
import TraceletBindings

/// Every failure the SDK reports. Reasons never contain coordinates, so they are safe to log.
public enum TraceletError: Error, Equatable, Hashable, Sendable {
    /// The fix was refused (NaN or out-of-range value, bad accuracy, implausible time).
    case invalidFix(reason: String)
    /// The configuration cannot work (endpoint, device id, token, storage, upload limits).
    case invalidConfiguration(reason: String)
    /// The on-device queue could not be read or written.
    case storage(reason: String)
    /// The device has no room left to store the fix (disk full): it was not stored. Fixes
    /// already stored are kept and still upload.
    case storageFull
    /// `start()` has not been called, or `stop()` was; the fix was not stored.
    case notTracking
    /// An upload failed; the fixes stay queued and are retried with backoff.
    case upload(reason: String)
    /// The SDK has shut down.
    case shutDown
    /// A geofence was refused (bad id, coordinates out of range, radius outside 1 m...100 km,
    /// a polygon with too few or too many vertices); none of the geofences passed was added.
    case invalidGeofence(reason: String)
    /// A trip id, fix extras or device metadata past their limits (more than 16 entries, more
    /// than 1,024 bytes of keys and values, a bad key, a trip id not of 1-128 characters);
    /// what was in force is kept.
    case invalidMetadata(reason: String)
    /// An app header the SDK cannot send: a name it sets itself (`Authorization`,
    /// `Content-Type`, `Idempotency-Key`...), a name that is not an HTTP token, a control
    /// character in a value, or more than 32 headers or 8 KiB. Never contains the value.
    case invalidHeader(reason: String)
    /// A value out of its range: a negative odometer, a privacy zone without a valid centre or
    /// radius, a position request without a timeout. Nothing changed.
    case invalidArgument(reason: String)
    /// ``Tracelet/currentPosition(desiredAccuracy:timeout:maxAge:persist:)`` got no fix in time.
    case timeout
    /// No position can come: the app has no location permission.
    case permissionDenied
    /// The Swift/Rust boundary failed in a way the core does not describe. This is a bug in
    /// Tracelet; please report it.
    case internalFailure(description: String)
}

extension TraceletError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case .invalidFix(let reason): return "invalid fix: \(reason)"
        case .invalidConfiguration(let reason): return "invalid configuration: \(reason)"
        case .storage(let reason): return "storage failure: \(reason)"
        case .storageFull:
            return "storage is full: the fix was not stored; fixes already stored are kept"
        case .notTracking: return "tracking is stopped: call start() before recording fixes"
        case .upload(let reason): return "upload failed: \(reason)"
        case .shutDown: return "the tracker has shut down"
        case .invalidGeofence(let reason): return "invalid geofence: \(reason)"
        case .invalidMetadata(let reason): return "invalid metadata: \(reason)"
        case .invalidHeader(let reason): return "invalid header: \(reason)"
        case .invalidArgument(let reason): return "invalid argument: \(reason)"
        case .timeout: return "no position before the timeout"
        case .permissionDenied: return "the app has no location permission"
        case .internalFailure(let description): return "internal failure: \(description)"
        }
    }
}

// The one place where errors of the generated bindings become the public error.
extension TraceletError {
    init(_ error: TraceletBindings.TraceletError) {
        switch error {
        case .InvalidFix(let reason): self = .invalidFix(reason: reason)
        case .InvalidConfig(let reason): self = .invalidConfiguration(reason: reason)
        case .Storage(let reason): self = .storage(reason: reason)
        case .StorageFull: self = .storageFull
        case .NotTracking: self = .notTracking
        case .Upload(let reason): self = .upload(reason: reason)
        case .ShutDown: self = .shutDown
        case .InvalidGeofence(let reason): self = .invalidGeofence(reason: reason)
        case .InvalidMetadata(let reason): self = .invalidMetadata(reason: reason)
        case .InvalidHeader(let reason): self = .invalidHeader(reason: reason)
        case .InvalidArgument(let reason): self = .invalidArgument(reason: reason)
        case .Timeout: self = .timeout
        case .PermissionDenied: self = .permissionDenied
        }
    }

    init(bridging error: Error) {
        switch error {
        case let error as TraceletError: self = error
        case let error as TraceletBindings.TraceletError: self.init(error)
        default: self = .internalFailure(description: String(describing: error))
        }
    }
}

/// Runs a call into the bindings and rethrows whatever it throws as a ``TraceletError``.
func bridged<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch {
        throw TraceletError(bridging: error)
    }
}

/// The `async` twin of ``bridged(_:)``.
func bridged<T>(_ call: () async throws -> T) async throws -> T {
    do {
        return try await call()
    } catch {
        throw TraceletError(bridging: error)
    }
}
