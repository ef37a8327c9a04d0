import TraceletBindings

// The generated records are already plain, `Sendable` value types, so the public API reuses them
// under their own names instead of copying them field by field. `TraceletBindings` itself stays
// an implementation detail: apps write `import Tracelet` only.

/// One position from the OS, as the core validates and stores it.
public typealias Fix = TraceletBindings.Fix
/// Which OS source produced a fix.
public typealias Provider = TraceletBindings.Provider
/// Something that happened inside the SDK; see ``Tracelet/events(bufferingPolicy:)``. Among
/// them `.geofence(transition:id:timeMs:)` (an app geofence was entered, left or dwelt in,
/// decided on the fix at `timeMs`) and `.regionsChanged(request:)` (the OS should watch exactly
/// these regions now).
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
/// What happened to one valid fix: `.stored(seq:)`, or `.filtered(reason:)` with a
/// ``RejectReason`` when the on-device filter dropped it (`.impliedSpeed`, `.duplicate`,
/// `.outOfOrder`, `.accuracyTooLow`, `.superseded`, `.mock`). See ``Tracelet/record(_:)-(Fix)``.
public typealias RecordOutcome = TraceletBindings.RecordOutcome
/// What the core's motion policy believes the device is doing: `.moving`, `.stopping`
/// (about to be stationary) or `.stationary` (GNSS off, a geofence watches for movement).
public typealias MotionState = TraceletBindings.MotionState
/// Refused fixes under one reason name; see ``TraceletStatus`` `rejectedByReason`.
public typealias ReasonCount = TraceletBindings.ReasonCount
/// Why the on-device filter dropped a valid fix (`.filtered(reason:)`): `.impliedSpeed`,
/// `.duplicate`, `.outOfOrder`, `.accuracyTooLow`, `.superseded`, `.mock`...
public typealias RejectReason = TraceletBindings.RejectReason
/// Why the motion state changed (`.motionChanged(state:reason:)`): `.stopTimeout`, `.started`...
public typealias MotionReason = TraceletBindings.MotionReason
/// The filter's smoothed position and its 68 % accuracy (`.fixSmoothed(seq:smoothed:)`).
public typealias Smoothed = TraceletBindings.Smoothed

/// What the OS activity recognition (Core Motion) reports; a change between still and moving
/// uploads what is queued at once.
public typealias UserActivity = TraceletBindings.UserActivity

// Geofences, as the app defines them and as the OS is asked to watch them.

/// An app-defined geofence: an id (1-128 characters; adding an existing id replaces it), a
/// ``GeofenceShape``, string metadata sent to the server with each of its events, and an
/// optional dwell time in milliseconds (`dwellMs`, up to 30 days). See
/// ``Tracelet/addGeofences(_:)``.
///
/// ```swift
/// let home = Geofence(id: "home", shape: .circle(latitude: 48.8566, longitude: 2.3522, radiusM: 100),
///                     metadata: ["kind": "home"], dwellMs: 5 * 60_000)
/// ```
public typealias Geofence = TraceletBindings.Geofence
/// `.circle(latitude:longitude:radiusM:)`, radius 1 m to 100 km, or `.polygon(vertices:)`, 3 to
/// 1,000 ``LatLon`` vertices in order (either winding, concave allowed) fitting in 100 km.
public typealias GeofenceShape = TraceletBindings.GeofenceShape
/// A polygon vertex, WGS84 degrees.
public typealias LatLon = TraceletBindings.LatLon
/// What a `.geofence(transition:id:timeMs:)` event reports: `.enter`, `.exit` or `.dwell`.
public typealias GeofenceTransition = TraceletBindings.GeofenceTransition
/// The app geofences the OS should watch now, nearest first, within
/// ``TraceletConfiguration/maxMonitoredRegions`` less the slot kept for the stationary geofence.
/// Arrives as `.regionsChanged(request:)`; ``LocationTracker`` applies it.
public typealias RegionRequest = TraceletBindings.RegionRequest
/// One circle of a ``RegionRequest`` (a polygon is sent as its bounding circle); `id` is the
/// geofence's id.
public typealias OsRegion = TraceletBindings.OsRegion

// What the core decides from the permission and the wake-up sources the platform armed.

/// What the SDK records under the current permission: `.precise`, `.approximate` (coarse fixes
/// at most every 10 minutes, no stop detection, never GNSS) or `.blocked`.
public typealias RecordingMode = TraceletBindings.RecordingMode
/// What the app is told about its permission (`.accessChanged(report:)`): the recording mode,
/// and whether anything can wake the app in the background.
public typealias AccessReport = TraceletBindings.AccessReport
/// The permission as the platform reads it; see ``Tracelet/setLocationAccess(_:)``.
public typealias LocationAccess = TraceletBindings.LocationAccess
/// The wake-up sources the platform actually armed.
public typealias WakeSources = TraceletBindings.WakeSources
/// What the platform applies now: the request, and whether standard updates keep running.
public typealias UpdatesPlan = TraceletBindings.UpdatesPlan

// What apps receive about positions.

/// One accepted fix as the app sees it, once stored: the position as stored (a privacy zone's
/// centre when it coarsened the fix), the filter's smoothed position when it has one, speed,
/// bearing, altitude, provider, mock flag, motion state, trip, the odometer after this fix and
/// its uncertainty, and the sequence number the server stores it under.
public typealias TraceletLocation = TraceletBindings.TraceletLocation
/// Distance travelled along accepted fixes (`meters`) and how far off it may be
/// (`uncertaintyM`).
public typealias OdometerReading = TraceletBindings.OdometerReading
/// A circle the app keeps private (a user's home): fixes inside are dropped (`.drop`) or stored
/// at its centre with the radius as accuracy (`.coarsen`). See ``Tracelet/setPrivacyZones(_:)``.
public typealias PrivacyZone = TraceletBindings.PrivacyZone
public typealias PrivacyAction = TraceletBindings.PrivacyAction
