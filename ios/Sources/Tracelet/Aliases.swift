import TraceletBindings

// The generated records are already plain, `Sendable` value types, so the public API reuses them
// under their own names instead of copying them field by field. `TraceletBindings` itself stays
// an implementation detail: apps write `import Tracelet` only.

/// One position from the OS, as the core validates and stores it.
public typealias Fix = TraceletBindings.Fix
/// Which OS source produced a fix.
public typealias Provider = TraceletBindings.Provider
/// Something that happened inside the SDK; see ``Tracelet/events(bufferingPolicy:)``.
public typealias TraceletEvent = TraceletBindings.TraceletEvent
/// Counters and queue state; see ``Tracelet/status``.
public typealias TraceletStatus = TraceletBindings.TraceletStatus
/// How the last upload attempt ended.
public typealias UploadOutcome = TraceletBindings.UploadOutcome
/// What one ``Tracelet/flush()`` achieved.
public typealias FlushResult = TraceletBindings.FlushResult
/// What the core asks of the OS location API; see ``LocationSettings``.
public typealias SamplingRequest = TraceletBindings.SamplingRequest
/// How hard the OS should try for a fix.
public typealias Priority = TraceletBindings.Priority
/// A circle the core wants monitored while the device is still.
public typealias StationaryGeofence = TraceletBindings.StationaryGeofence
/// What happened to one valid fix: `.stored(seq:)`, or `.filtered(reason:)` when the on-device
/// filter dropped it (`implied_speed`, `duplicate`, `out_of_order`, `accuracy_too_low`,
/// `superseded`, `mock`). See ``Tracelet/record(_:)-(Fix)``.
public typealias RecordOutcome = TraceletBindings.RecordOutcome
/// What the core's motion policy believes the device is doing: `.moving`, `.stopping`
/// (about to be stationary) or `.stationary` (GNSS off, a geofence watches for movement).
public typealias MotionState = TraceletBindings.MotionState
/// Refused fixes under one reason name; see ``TraceletStatus`` `rejectedByReason`.
public typealias ReasonCount = TraceletBindings.ReasonCount

/// What the OS activity recognition (Core Motion) reports; a change between still and moving
/// uploads what is queued at once.
public typealias UserActivity = TraceletBindings.Activity
