/// Choices the app makes about how CoreLocation runs; the core decides the rest.
public struct LocationOptions: Equatable, Hashable, Sendable {
    /// Keep receiving updates in the background. Takes effect only if the app declares the
    /// `location` background mode: setting it without that would make CoreLocation throw.
    public var allowsBackgroundUpdates: Bool
    /// Show the blue status-bar pill while tracking in the background (also lets a
    /// when-in-use app keep tracking in the background without surprises to the user).
    public var showsBackgroundIndicator: Bool

    public init(allowsBackgroundUpdates: Bool = true, showsBackgroundIndicator: Bool = false) {
        self.allowsBackgroundUpdates = allowsBackgroundUpdates
        self.showsBackgroundIndicator = showsBackgroundIndicator
    }

    /// Whether an Info.plist declares the `location` background mode.
    public static func declaresBackgroundLocation(_ infoDictionary: [String: Any]?) -> Bool {
        let modes = infoDictionary?["UIBackgroundModes"] as? [String] ?? []
        return modes.contains("location")
    }
}
