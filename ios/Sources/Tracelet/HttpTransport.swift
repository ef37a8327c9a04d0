import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TraceletBindings

/// One upload request as the SDK wants it sent: POST `body` (already gzip) to `url` with
/// `headers`, giving up after `timeoutMs`.
public typealias HttpRequest = TraceletBindings.HttpRequest
/// The answer: status, `Retry-After` in seconds when present, and the start of the body.
public typealias HttpResponse = TraceletBindings.HttpResponse
/// One header name and value.
public typealias HttpHeader = TraceletBindings.HttpHeader

/// The app's own HTTP stack, for proxies, custom CAs and certificate pinning: pass one to
/// ``Tracelet/init(configuration:transport:)`` and every upload request goes through it instead
/// of the SDK's built-in HTTPS client. ``URLSessionTransport`` is the ready-made one.
///
/// `send` runs on the SDK's own upload thread, one request at a time, so blocking until the
/// answer is right. It must not follow redirects (a redirected POST loses its body while the
/// SDK deletes the batch). Throw when no answer came: `URLError(.timedOut)` counts as a
/// timeout, anything else as a network failure; any HTTP status is an answer.
public protocol HttpTransport: Sendable {
    func send(_ request: HttpRequest) throws -> HttpResponse
}

/// An ``HttpTransport`` over `URLSession`. Give it a session whose configuration carries your
/// proxy settings, and a delegate for pinning or a custom CA
/// (`urlSession(_:didReceive:completionHandler:)`); the default is an ephemeral session.
/// Redirects are never followed, whatever the session's delegate says.
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    // @unchecked: `session` is immutable after init and URLSession is thread-safe.
    private let session: URLSession
    private let redirects = RefuseRedirects()

    public init(configuration: URLSessionConfiguration = .ephemeral, delegate: URLSessionDelegate? = nil) {
        session = URLSession(configuration: configuration, delegate: delegate ?? redirects, delegateQueue: nil)
    }

    public func send(_ request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url) else { throw URLError(.badURL) }
        var urlRequest = URLRequest(
            url: url, cachePolicy: .reloadIgnoringLocalCacheData,
            timeoutInterval: Double(request.timeoutMs) / 1000)
        urlRequest.httpMethod = "POST"
        urlRequest.httpBody = request.body
        for header in request.headers {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        let answer = Answer()
        let task = session.dataTask(with: urlRequest) { data, response, error in
            answer.set(data: data, response: response, error: error)
        }
        task.resume()
        let (data, response, error) = answer.wait()
        if let error { throw error }
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        let retryAfter = (http.value(forHTTPHeaderField: "Retry-After"))
            .flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        return HttpResponse(
            status: UInt16(clamping: http.statusCode), retryAfterS: retryAfter,
            body: (data ?? Data()).prefix(4096))
    }
}

/// Answers every redirect with "do not follow": the 3xx itself reaches the SDK.
private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}

/// The completion handler's result, handed to the blocked caller.
private final class Answer: @unchecked Sendable {
    // @unchecked: every field is written once, before the semaphore is signalled.
    private let done = DispatchSemaphore(value: 0)
    private var result: (Data?, URLResponse?, Error?) = (nil, nil, nil)

    func set(data: Data?, response: URLResponse?, error: Error?) {
        result = (data, response, error)
        done.signal()
    }

    func wait() -> (Data?, URLResponse?, Error?) {
        done.wait()
        return result
    }
}

/// The app's transport as the core sees it: any error becomes the core's timeout or network
/// failure, named by its type only (a message could carry a URL with personal data).
final class HttpTransportBridge: TraceletBindings.HttpTransport {
    private let transport: any HttpTransport

    init(_ transport: any HttpTransport) {
        self.transport = transport
    }

    func send(request: HttpRequest) throws -> HttpResponse {
        do {
            return try transport.send(request)
        } catch let error as URLError where error.code == .timedOut {
            throw TransportFailure.Timeout
        } catch {
            throw TransportFailure.Network(reason: "\(type(of: error))")
        }
    }
}
