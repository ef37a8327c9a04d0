import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A fix as the collector's read API returns it (rounded: lat/lon to 1e-7, accuracy to 0.1).
struct StoredFix: Decodable, Equatable {
    /// The collector's storage-order position: the read API's paging cursor.
    let cursor: UInt64
    /// The SDK queue's stream the sequence number belongs to.
    let stream: String
    let seq: UInt64
    let t: Int64
    let la: Double
    let lo: Double
    let ac: Double
    let al: Double?
    let va: Double?
    let sp: Double?
    let sa: Double?
    let be: Double?
    let ba: Double?
    let pr: String?
    let mk: Bool?
    /// The trip the fix belongs to (`startTrip`), absent outside a trip.
    let tr: String?
    /// The fix extras in force when it was recorded (`setFixExtras`), absent when none.
    let x: [String: String]?
}

/// A geofence, trip or device event as the collector's read API returns it.
struct StoredEvent: Decodable, Equatable {
    let stream: String
    /// Event sequence number within the stream.
    let s: UInt64
    let t: Int64
    /// enter, exit, dwell, trip_start, trip_end or device.
    let k: String
    let id: String?
    let la: Double?
    let lo: Double?
    let m: [String: String]?
}

struct CollectorStats: Decodable {
    let batches: UInt64
    let fixes_accepted: UInt64
    let duplicates: UInt64
    let rejected_requests: UInt64
}

/// Reads what the collector stored, through its read API.
struct CollectorClient {
    let baseURL: URL

    func fixes(device: String) async throws -> [StoredFix] {
        struct Page: Decodable {
            let device: String
            let fixes: [StoredFix]
            let next: UInt64?
        }
        var all: [StoredFix] = []
        var after: UInt64 = 0
        while true {
            let page: Page = try await get(
                "v1/devices/\(device)/fixes", query: "after=\(after)&limit=1000")
            all += page.fixes
            guard let next = page.next else { return all }
            after = next
        }
    }

    /// Every event of `device`, in sequence order within each stream
    /// (`GET /v1/devices/{device}/events`).
    func events(device: String) async throws -> [StoredEvent] {
        struct Page: Decodable {
            let device: String
            let events: [StoredEvent]
        }
        let page: Page = try await get("v1/devices/\(device)/events", query: "limit=10000")
        return page.events.sorted { ($0.stream, $0.s) < ($1.stream, $1.s) }
    }

    func stats() async throws -> CollectorStats {
        try await get("v1/stats", query: nil)
    }

    private func get<T: Decodable>(_ path: String, query: String?) async throws -> T {
        var components = URLComponents(
            url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        components.query = query
        var request = URLRequest(url: components.url!)
        request.setValue("Bearer \(CollectorProcess.readToken)", forHTTPHeaderField: "Authorization")
        // The completion-handler API: async URLSession methods are missing on older
        // swift-corelibs-foundation releases.
        let (data, response): (Data, URLResponse) = try await withCheckedThrowingContinuation {
            continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else {
                    continuation.resume(returning: (data ?? Data(), response!))
                }
            }.resume()
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else { throw CollectorError.http(status: status, path: path) }
        return try JSONDecoder().decode(T.self, from: data)
    }
}
