import Foundation

/// Keeps the queue and its install marker out of iCloud and computer backups. A queue restored
/// onto another phone (or an older copy onto this one) would repeat sequence numbers that the
/// server already has; the core notices a restored queue by its missing marker, but a queue that
/// is never restored needs no rescue.
struct BackupExclusion: Sendable {
    /// Creates the directory if needed and marks it excluded from backup.
    let exclude: @Sendable (URL) throws -> Void

    /// The operating system's flag (`isExcludedFromBackup`). Linux has no backup service: the
    /// directory is only created there.
    static let system = BackupExclusion { directory in
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        #if canImport(Darwin)
        var url = directory
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try url.setResourceValues(values)
        #endif
    }
}
